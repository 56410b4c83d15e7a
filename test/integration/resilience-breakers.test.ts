import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import type { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { request, waitFor } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { realClusters } from '../helpers/real-clusters.js';
import { testRouteTable } from '../helpers/test-upstream.js';
import { type Backend, startBackends } from '../upstream/health/backends.js';

describe('circuit breakers', () => {
  let backends: Backend[] = [];
  let manager: ClusterManager | null = null;
  let listener: Listener | null = null;

  afterEach(async () => {
    listener?.forceClose();
    manager?.shutdown();
    for (const b of backends) await b.close();
    backends = [];
  });

  it('max_requests overflows with 503 UO and x-envoy-overloaded; the gauge shows the breaker open', async () => {
    backends = await startBackends(1);
    const stats = new StatsStore();
    manager = realClusters(stats, [
      {
        name: 'svc',
        ports: [backends[0].port],
        extra: { circuit_breakers: { thresholds: [{ max_requests: 2 }] } },
      },
    ]);
    const started = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'svc' }])),
      manager,
      stats,
    );
    listener = started.listener;
    backends[0].mode = 'hang';
    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
    const held = [request(started.port, { path: '/a', agent }), request(started.port, { path: '/b', agent })];
    await waitFor(() => backends[0].hits === 2, 3000, 'two requests in flight');
    const r = await request(started.port, { path: '/c', agent });
    expect(r.status).toBe(503);
    expect(r.headers['x-envoy-overloaded']).toBe('true');
    expect(stats.counter('cluster.svc.upstream_rq_pending_overflow').value).toBe(1);
    expect(stats.gauge('cluster.svc.circuit_breakers.default.rq_open').value).toBe(1);
    backends[0].release();
    const done = await Promise.all(held);
    expect(done.map((d) => d.status)).toEqual([200, 200]);
    backends[0].mode = 'ok';
    expect((await request(started.port, { path: '/d', agent })).status).toBe(200);
    agent.destroy();
  });

  async function startWith(thresholds: Record<string, number | boolean>) {
    backends = await startBackends(1);
    const stats = new StatsStore();
    manager = realClusters(stats, [
      { name: 'svc', ports: [backends[0].port], extra: { circuit_breakers: { thresholds: [thresholds] } } },
    ]);
    const started = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'svc' }])),
      manager,
      stats,
    );
    listener = started.listener;
    return { stats, port: started.port };
  }

  it('max_connections 1: three concurrent slow requests share one upstream connection, two wait as pending', async () => {
    const { stats, port } = await startWith({ max_connections: 1 });
    backends[0].mode = 'hang';
    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
    const all = [1, 2, 3].map((i) => request(port, { path: `/${i}`, agent }));
    const pending = stats.gauge('cluster.svc.upstream_rq_pending_active');
    await waitFor(() => backends[0].hits === 1 && pending.value === 2, 3000, 'one in flight, two pending');
    expect(stats.gauge('cluster.svc.circuit_breakers.default.cx_open').value).toBe(1);
    expect(stats.counter('cluster.svc.upstream_cx_overflow').value).toBeGreaterThan(0);
    for (let n = 1; n <= 3; n++) {
      await waitFor(() => backends[0].hits === n, 3000, `request ${n} at the upstream`);
      backends[0].release();
    }
    const done = await Promise.all(all);
    expect(done.map((d) => d.status)).toEqual([200, 200, 200]);
    expect(backends[0].connectionsAccepted).toBe(1);
    expect(stats.gauge('cluster.svc.upstream_cx_active').value).toBe(1);
    expect(stats.counter('cluster.svc.upstream_rq_pending_total').value).toBe(3);
    expect(pending.value).toBe(0);
    expect(stats.counter('cluster.svc.upstream_rq_pending_overflow').value).toBe(0);
    agent.destroy();
  });

  it('max_pending_requests 1: a second waiting request overflows with 503 UO and x-envoy-overloaded', async () => {
    const { stats, port } = await startWith({
      max_connections: 1,
      max_pending_requests: 1,
      track_remaining: true,
    });
    const remainingPending = stats.gauge('cluster.svc.circuit_breakers.default.remaining_pending');
    const remainingCx = stats.gauge('cluster.svc.circuit_breakers.default.remaining_cx');
    backends[0].mode = 'hang';
    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
    const first = request(port, { path: '/a', agent });
    const pending = stats.gauge('cluster.svc.upstream_rq_pending_active');
    // Connected and at the upstream: no longer pending.
    await waitFor(() => backends[0].hits === 1 && pending.value === 0, 3000, 'first request in flight');
    const second = request(port, { path: '/b', agent });
    await waitFor(() => pending.value === 1, 3000, 'second request pending');
    expect(stats.gauge('cluster.svc.circuit_breakers.default.rq_pending_open').value).toBe(1);
    expect(remainingPending.value).toBe(0);
    expect(remainingCx.value).toBe(0);
    const third = await request(port, { path: '/c', agent });
    expect(third.status).toBe(503);
    expect(third.headers['x-envoy-overloaded']).toBe('true');
    expect(stats.counter('cluster.svc.upstream_rq_pending_overflow').value).toBe(1);
    backends[0].release();
    await waitFor(() => backends[0].hits === 2, 3000, 'second request at the upstream');
    backends[0].release();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect(pending.value).toBe(0);
    expect(stats.gauge('cluster.svc.circuit_breakers.default.rq_pending_open').value).toBe(0);
    expect(remainingPending.value).toBe(1);
    expect(backends[0].hits).toBe(2);
    agent.destroy();
  });

  it('HTTP/2 max_connections 1: streams beyond the peer limit wait on the one session instead of opening more', async () => {
    let sessions = 0;
    const h2 = http2.createServer({ settings: { maxConcurrentStreams: 1 } });
    h2.on('session', () => {
      sessions++;
    });
    h2.on('stream', (stream) => {
      stream.on('error', () => {});
      // Each stream holds its slot a little, so the next ones must queue behind it.
      setTimeout(() => {
        if (!stream.destroyed) {
          stream.respond({ ':status': 200 });
          stream.end('ok');
        }
      }, 50);
    });
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
    try {
      const stats = new StatsStore();
      manager = realClusters(stats, [
        {
          name: 'svc',
          ports: [(h2.address() as AddressInfo).port],
          http2: true,
          extra: { circuit_breakers: { thresholds: [{ max_connections: 1 }] } },
        },
      ]);
      const started = await startHttpListener(
        hcmConfig(testRouteTable([{ prefix: '/', cluster: 'svc' }])),
        manager,
        stats,
      );
      listener = started.listener;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
      // Warm-up: the session is up and has the server's SETTINGS (one stream at a time).
      expect((await request(started.port, { path: '/warm', agent })).status).toBe(200);
      const done = await Promise.all([1, 2, 3].map((i) => request(started.port, { path: `/${i}`, agent })));
      agent.destroy();
      expect(done.map((d) => d.status)).toEqual([200, 200, 200]);
      expect(sessions).toBe(1);
      expect(stats.counter('cluster.svc.upstream_cx_total').value).toBe(1);
      expect(stats.counter('cluster.svc.upstream_cx_overflow').value).toBeGreaterThan(0);
    } finally {
      listener?.forceClose();
      listener = null;
      manager?.shutdown();
      manager = null;
      await new Promise<void>((r) => h2.close(() => r()));
    }
  });

  it('HTTP/2 max_pending_requests 1: a stream queued behind the peer limit is pending, the next overflows', async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const h2 = http2.createServer({ settings: { maxConcurrentStreams: 1 } });
    h2.on('stream', (stream, headers) => {
      stream.on('error', () => {});
      if (headers[':path'] === '/warm') {
        stream.respond({ ':status': 200 });
        stream.end('warm');
      } else held.push(stream);
    });
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
    const release = () => {
      const s = held.shift();
      s?.respond({ ':status': 200 });
      s?.end('ok');
    };
    try {
      const stats = new StatsStore();
      manager = realClusters(stats, [
        {
          name: 'svc',
          ports: [(h2.address() as AddressInfo).port],
          http2: true,
          extra: { circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1 }] } },
        },
      ]);
      const started = await startHttpListener(
        hcmConfig(testRouteTable([{ prefix: '/', cluster: 'svc' }])),
        manager,
        stats,
      );
      listener = started.listener;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
      const pending = stats.gauge('cluster.svc.upstream_rq_pending_active');
      // The session is up and knows the server allows one stream at a time.
      expect((await request(started.port, { path: '/warm', agent })).status).toBe(200);
      expect(pending.value).toBe(0);
      const a = request(started.port, { path: '/a', agent });
      await waitFor(() => held.length === 1, 3000, 'a at the upstream');
      expect(pending.value).toBe(0);
      const b = request(started.port, { path: '/b', agent });
      await waitFor(() => pending.value === 1, 3000, 'b pending behind the stream limit');
      expect(stats.gauge('cluster.svc.circuit_breakers.default.rq_pending_open').value).toBe(1);
      const c = await request(started.port, { path: '/c', agent });
      expect(c.status).toBe(503);
      expect(c.headers['x-envoy-overloaded']).toBe('true');
      expect(stats.counter('cluster.svc.upstream_rq_pending_overflow').value).toBe(1);
      release();
      await waitFor(() => held.length === 1, 3000, 'b at the upstream');
      release();
      expect((await a).status).toBe(200);
      expect((await b).status).toBe(200);
      agent.destroy();
      expect(pending.value).toBe(0);
      expect(stats.gauge('cluster.svc.circuit_breakers.default.rq_pending_open').value).toBe(0);
      expect(stats.counter('cluster.svc.upstream_cx_total').value).toBe(1);
    } finally {
      listener?.forceClose();
      listener = null;
      manager?.shutdown();
      manager = null;
      for (const s of held) s.close();
      await new Promise<void>((r) => h2.close(() => r()));
    }
  });
});
