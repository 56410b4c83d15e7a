import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import type { ClusterLookup } from '../../proxy/upstream/cluster.js';
import { request } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { realClusters } from '../helpers/real-clusters.js';
import { TestCluster, TestClusters, testRouteTable } from '../helpers/test-upstream.js';

const TOTAL = 50 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
/**
 * Bytes between the sender and the reader may sit in kernel socket buffers on two loopback hops
 * (several MB each with autotuning) plus Node's stream buffers, measured at ~12 MB here. A proxy
 * that buffered the body would let the sender run ahead by nearly all of TOTAL.
 */
const BOUND = 28 * 1024 * 1024;

// The production pool is the one that matters; the test pool (test/helpers) stays available for
// narrowing a failure down to the connection manager: add ['test pool'] here.
describe.each([['production pool']])('bodies stream with backpressure (%s)', (which) => {
  let upstream: http.Server;
  let clusters: ClusterLookup & { destroy?(): void; shutdown?(): void };
  let listener: Listener;
  let port: number;
  let stats: StatsStore;
  let upWritten = 0;
  let upReceived = 0;
  let upBlocked = 0;
  let upReads = 0;

  beforeEach(async () => {
    upWritten = 0;
    upReceived = 0;
    upBlocked = 0;
    upstream = http.createServer((req, res) => {
      if (req.url === '/download') {
        res.writeHead(200, { 'content-length': TOTAL });
        const pump = () => {
          while (upWritten < TOTAL) {
            upWritten += CHUNK.length;
            if (!res.write(CHUNK)) {
              upBlocked++;
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
        return;
      }
      // /upload: read slowly, a chunk per tick, and report the size.
      req.on('data', (c: Buffer) => {
        upReceived += c.length;
        if (++upReads % 4 === 0) {
          req.pause();
          setTimeout(() => req.resume(), 1);
        }
      });
      req.on('end', () => res.end(String(upReceived)));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    stats = new StatsStore();
    const upPort = (upstream.address() as AddressInfo).port;
    clusters =
      which === 'test pool'
        ? new TestClusters().add(new TestCluster(stats, 'b', [{ address: '127.0.0.1', port: upPort }]))
        : realClusters(stats, [{ name: 'b', ports: [upPort] }]);
    ({ listener, port } = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'b', timeoutMs: 0 }])),
      clusters,
      stats,
    ));
  });

  afterEach(async () => {
    listener.forceClose();
    clusters.destroy?.();
    clusters.shutdown?.();
    upstream.closeAllConnections();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  it('50 MB download to a slow reader: the proxy never holds more than socket buffers', async () => {
    let received = 0;
    let maxInFlight = 0;
    let reads = 0;
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/download', agent: false }, (res) => {
        res.on('data', (c: Buffer) => {
          received += c.length;
          maxInFlight = Math.max(maxInFlight, upWritten - received);
          // A slow reader: a pause of one timer tick every few chunks.
          if (++reads % 4 === 0) {
            res.pause();
            setTimeout(() => res.resume(), 1);
          }
        });
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    expect(received).toBe(TOTAL);
    expect(upBlocked).toBeGreaterThan(0);
    expect(maxInFlight).toBeLessThan(BOUND);
  });

  it('50 MB download over HTTP/2 to a slow reader: flow control holds the upstream back', async () => {
    let received = 0;
    let maxInFlight = 0;
    let reads = 0;
    const client = http2.connect(`http://127.0.0.1:${port}`);
    try {
      await new Promise<void>((resolve, reject) => {
        const req = client.request({ ':path': '/download' });
        req.on('data', (c: Buffer) => {
          received += c.length;
          maxInFlight = Math.max(maxInFlight, upWritten - received);
          if (++reads % 4 === 0) {
            req.pause();
            setTimeout(() => req.resume(), 1);
          }
        });
        req.on('end', resolve);
        req.on('error', reject);
      });
    } finally {
      client.close();
    }
    expect(received).toBe(TOTAL);
    expect(upBlocked).toBeGreaterThan(0);
    expect(maxInFlight).toBeLessThan(BOUND);
  });

  it('50 MB upload to a slow upstream: the client is held back', async () => {
    let sent = 0;
    let maxInFlight = 0;
    let clientBlocked = 0;
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/upload', method: 'POST', agent: false },
        (res) => {
          let b = '';
          res.on('data', (c: Buffer) => {
            b += c.toString();
          });
          res.on('end', () => resolve(b));
        },
      );
      req.on('error', reject);
      const pump = () => {
        while (sent < TOTAL) {
          sent += CHUNK.length;
          maxInFlight = Math.max(maxInFlight, sent - upReceived);
          if (!req.write(CHUNK)) {
            clientBlocked++;
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    expect(Number(body)).toBe(TOTAL);
    expect(clientBlocked).toBeGreaterThan(0);
    expect(maxInFlight).toBeLessThan(BOUND);
  });

  it('route timeout gives 504 UT and resets the upstream request', async () => {
    const hang = http.createServer(() => {});
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const c2 = new TestClusters().add(
      new TestCluster(stats, 'hang', [{ address: '127.0.0.1', port: (hang.address() as AddressInfo).port }]),
    );
    const { listener: l2, port: p2 } = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'hang', timeoutMs: 100 }]), { statPrefix: 't' }),
      c2,
      stats,
    );
    try {
      const res = await request(p2, { path: '/slow' });
      expect(res.status).toBe(504);
      expect(res.body.toString()).toBe('upstream request timeout');
      expect(stats.counter('cluster.hang.upstream_rq_timeout').value).toBe(1);
      expect(stats.counter('http.t.downstream_rq_5xx').value).toBe(1);
    } finally {
      l2.forceClose();
      c2.destroy();
      hang.closeAllConnections();
      hang.close();
    }
  });

  it('x-envoy-upstream-rq-timeout-ms from an internal client overrides the route timeout', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const hang = http.createServer((req) => seen.push(req.headers));
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const c2 = new TestClusters().add(
      new TestCluster(stats, 'hang3', [{ address: '127.0.0.1', port: (hang.address() as AddressInfo).port }]),
    );
    const { listener: l2, port: p2 } = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'hang3', timeoutMs: 0 }]), { statPrefix: 'ov' }),
      c2,
      stats,
    );
    try {
      const res = await request(p2, { path: '/slow', headers: { 'x-envoy-upstream-rq-timeout-ms': '300' } });
      expect(res.status).toBe(504);
      expect(seen[0]['x-envoy-upstream-rq-timeout-ms']).toBeUndefined();
      expect(seen[0]['x-envoy-expected-rq-timeout-ms']).toBe('300');
    } finally {
      l2.forceClose();
      c2.destroy();
      hang.closeAllConnections();
      hang.close();
    }
  });

  it('stream idle timeout gives 504 once the request is complete', async () => {
    const hang = http.createServer(() => {});
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const c2 = new TestClusters().add(
      new TestCluster(stats, 'hang2', [{ address: '127.0.0.1', port: (hang.address() as AddressInfo).port }]),
    );
    const { listener: l2, port: p2 } = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'hang2', timeoutMs: 0 }]), {
        statPrefix: 'si',
        streamIdleTimeoutMs: 100,
      }),
      c2,
      stats,
    );
    try {
      const res = await request(p2, { path: '/slow' });
      expect(res.status).toBe(504);
      expect(res.body.toString()).toBe('stream timeout');
      expect(stats.counter('http.si.downstream_rq_idle_timeout').value).toBe(1);
    } finally {
      l2.forceClose();
      c2.destroy();
      hang.closeAllConnections();
      hang.close();
    }
  });
});
