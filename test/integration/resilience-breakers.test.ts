import http from 'node:http';
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
});
