import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { RecordingServer, request, waitFor } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { TestCluster, TestClusters, testRouteTable } from '../helpers/test-upstream.js';

describe('listener drain', () => {
  let upstream: RecordingServer;
  let clusters: TestClusters;
  let listener: Listener;
  let port: number;
  /** Responses held by the upstream until the test releases them. */
  const held: Array<() => void> = [];

  beforeEach(async () => {
    held.length = 0;
    upstream = new RecordingServer((req, res) => {
      if (req.url === '/hold') held.push(() => res.end('late'));
      else res.end('ok');
    });
    await upstream.listen();
    const stats = new StatsStore();
    clusters = new TestClusters().add(
      new TestCluster(stats, 'b', [{ address: '127.0.0.1', port: upstream.port }]),
    );
    ({ listener, port } = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'b', timeoutMs: 0 }])),
      clusters,
      stats,
    ));
  });

  afterEach(async () => {
    listener.forceClose();
    clusters.destroy();
    await upstream.close();
  });

  it('HTTP/1: in-flight request finishes with Connection: close, idle keep-alive closes, new connections refused', async () => {
    const idleAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await request(port, { path: '/warm', agent: idleAgent });
    const idleSocketClosed = new Promise<void>((resolve) => {
      const free = Object.values(idleAgent.freeSockets)[0]?.[0];
      if (free === undefined) throw new Error('no idle keep-alive socket');
      free.once('close', () => resolve());
    });
    const inflight = request(port, { path: '/hold', agent: new http.Agent({ keepAlive: true }) });
    await waitFor(() => held.length === 1, 3000, 'held request');
    const drained = listener.drain();
    await idleSocketClosed;
    // New connections are refused once the listener stopped accepting.
    await expect(
      new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
        s.on('error', reject);
      }),
    ).rejects.toThrow(/ECONNREFUSED/);
    held[0]();
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('late');
    expect(res.headers.connection).toBe('close');
    await drained;
    expect(listener.connectionCount).toBe(0);
    idleAgent.destroy();
  });

  it('HTTP/2: session gets GOAWAY and the in-flight stream completes', async () => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => {});
    const goaway = new Promise<void>((r) => client.once('goaway', () => r()));
    const req = client.request({ ':path': '/hold' });
    const body = new Promise<string>((resolve, reject) => {
      let b = '';
      req.on('data', (c: Buffer) => {
        b += c.toString();
      });
      req.on('end', () => resolve(b));
      req.on('error', reject);
    });
    await waitFor(() => held.length === 1, 3000, 'held request');
    const drained = listener.drain();
    await goaway;
    held[0]();
    expect(await body).toBe('late');
    client.close();
    await drained;
    expect(listener.connectionCount).toBe(0);
  });

  it('forceClose cuts connections at once', async () => {
    const inflight = request(port, { path: '/hold' }).catch((e: Error) => e);
    await waitFor(() => held.length === 1, 3000, 'held request');
    listener.forceClose();
    const r = await inflight;
    expect(r).toBeInstanceOf(Error);
    await waitFor(() => listener.connectionCount === 0);
  });
});

describe('request_headers_timeout', () => {
  it('closes a connection that never finishes its request head', async () => {
    const stats = new StatsStore();
    const clusters = new TestClusters();
    const { listener, port } = await startHttpListener(
      hcmConfig(testRouteTable([]), { requestHeadersTimeoutMs: 100 }),
      clusters,
      stats,
    );
    try {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.write('GET / HTTP/1.1\r\nHost: a\r\n');
      s.resume();
      await new Promise<void>((r) => s.on('close', () => r()));
      expect(stats.counter('http.ingress.downstream_rq_header_timeout').value).toBe(1);
    } finally {
      listener.forceClose();
    }
  });
});

describe('connection idle_timeout', () => {
  it('closes an HTTP/1 connection that stays idle, before and between requests', async () => {
    const stats = new StatsStore();
    const upstream = new RecordingServer();
    await upstream.listen();
    const clusters = new TestClusters().add(
      new TestCluster(stats, 'b', [{ address: '127.0.0.1', port: upstream.port }]),
    );
    const { listener, port } = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'b' }]), { idleTimeoutMs: 100 }),
      clusters,
      stats,
    );
    try {
      // Never sends a request.
      const silent = net.connect(port, '127.0.0.1');
      silent.on('error', () => {});
      silent.resume();
      await new Promise<void>((r) => silent.on('close', () => r()));
      // One request, then idle: the proxy closes the kept-alive connection.
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      let got = '';
      s.on('data', (c: Buffer) => {
        got += c.toString('latin1');
      });
      const closed = new Promise<void>((r) => s.on('close', () => r()));
      s.write('GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
      await closed;
      expect(got).toMatch(/^HTTP\/1.1 200/);
      expect(upstream.seen.length).toBe(1);
    } finally {
      listener.forceClose();
      clusters.destroy();
      await upstream.close();
    }
  });
});

describe('request timeouts while the request is still arriving', () => {
  for (const [name, over, details] of [
    ['request_timeout', { requestTimeoutMs: 100 }, 'request timeout'],
    ['stream_idle_timeout', { streamIdleTimeoutMs: 100 }, 'stream timeout'],
  ] as const) {
    it(`${name}: 408 when the body stalls`, async () => {
      const stats = new StatsStore();
      const upstream = new RecordingServer();
      await upstream.listen();
      const clusters = new TestClusters().add(
        new TestCluster(stats, 'b', [{ address: '127.0.0.1', port: upstream.port }]),
      );
      const { listener, port } = await startHttpListener(
        hcmConfig(testRouteTable([{ prefix: '/', cluster: 'b', timeoutMs: 0 }]), over),
        clusters,
        stats,
      );
      try {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        let got = '';
        s.on('data', (c: Buffer) => {
          got += c.toString('latin1');
        });
        s.write('POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly-part');
        await waitFor(() => got.includes('\r\n\r\n'), 3000, 'response');
        expect(got).toMatch(/^HTTP\/1.1 408/);
        await waitFor(() => got.endsWith(details), 3000, 'body');
        s.destroy();
      } finally {
        listener.forceClose();
        clusters.destroy();
        await upstream.close();
      }
    });
  }
});
