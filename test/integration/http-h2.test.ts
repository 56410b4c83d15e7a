import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { h2request, RecordingServer, request } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { TestCluster, TestClusters, testRouteTable } from '../helpers/test-upstream.js';

describe('HTTP/2 downstream and upstream', () => {
  let h1up: RecordingServer;
  let h2up: http2.Http2Server;
  let clusters: TestClusters;
  let listener: Listener;
  let port: number;
  let stats: StatsStore;
  const h2seen: http2.IncomingHttpHeaders[] = [];

  beforeEach(async () => {
    h1up = new RecordingServer();
    const p1 = await h1up.listen();
    h2seen.length = 0;
    h2up = http2.createServer();
    h2up.on('stream', (stream, headers) => {
      h2seen.push(headers);
      const parts: Buffer[] = [];
      stream.on('data', (c: Buffer) => parts.push(c));
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
        stream.on('wantTrailers', () =>
          stream.sendTrailers({ 'x-checksum': String(Buffer.concat(parts).length) }),
        );
        stream.end(`h2 saw ${headers[':method']} ${headers[':path']}`);
      });
    });
    await new Promise<void>((r) => h2up.listen(0, '127.0.0.1', r));
    const p2 = (h2up.address() as AddressInfo).port;
    stats = new StatsStore();
    clusters = new TestClusters()
      .add(new TestCluster(stats, 'h1', [{ address: '127.0.0.1', port: p1 }]))
      .add(new TestCluster(stats, 'h2', [{ address: '127.0.0.1', port: p2 }], 'http2'));
    const routes = testRouteTable([
      { prefix: '/h2', cluster: 'h2' },
      { prefix: '/', cluster: 'h1' },
    ]);
    ({ listener, port } = await startHttpListener(hcmConfig(routes), clusters, stats));
  });

  afterEach(async () => {
    listener.forceClose();
    clusters.destroy();
    await h1up.close();
    await new Promise<void>((r) => h2up.close(() => r()));
  });

  it('h2 prior knowledge client to an HTTP/1.1 upstream', async () => {
    const res = await h2request(
      port,
      { ':path': '/x', ':method': 'POST', 'content-type': 'text/plain' },
      'hello',
    );
    expect(res.status).toBe(200);
    const seen = h1up.seen[0];
    expect(seen.body.toString()).toBe('hello');
    expect(seen.headers.host).toBe(`127.0.0.1:${port}`);
    expect(stats.counter('http.ingress.downstream_cx_http2_total').value).toBe(1);
    expect(stats.counter('http.ingress.downstream_rq_http2_total').value).toBe(1);
  });

  it('HTTP/1.1 client to an h2 upstream, response trailers dropped for h1 with content-length absent', async () => {
    const res = await request(port, { path: '/h2/a', method: 'POST', body: 'abc' });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('h2 saw POST /h2/a');
    expect(h2seen[0][':authority']).toBe(`127.0.0.1:${port}`);
  });

  it('h2 to h2 passes request and response trailers', async () => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const req = client.request(
        { ':path': '/h2/t', ':method': 'POST', te: 'trailers' },
        { waitForTrailers: true },
      );
      req.on('wantTrailers', () => req.sendTrailers({ 'x-req-trailer': 'yes' }));
      req.end('12345');
      const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        req.on('trailers', resolve);
        req.on('error', reject);
        req.resume();
      });
      expect(trailers['x-checksum']).toBe('5');
      expect(h2seen[0].te).toBe('trailers');
    } finally {
      client.close();
    }
  });

  it('many concurrent streams on one h2 connection', async () => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => {
          return new Promise<number>((resolve, reject) => {
            const r = client.request({ ':path': `/c${i}` });
            r.on('response', (h) => resolve(Number(h[':status'])));
            r.on('error', reject);
            r.resume();
          });
        }),
      );
      expect(results.every((s) => s === 200)).toBe(true);
      expect(h1up.seen.length).toBe(20);
    } finally {
      client.close();
    }
  });
});
