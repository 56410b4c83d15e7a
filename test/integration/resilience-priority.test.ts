import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { compileRouteConfig } from '../../proxy/router/compile.js';
import type { RouteTable } from '../../proxy/router/types.js';
import type { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { translateRouteConfiguration } from '../../proxy/xds/route-configuration.js';
import { request, waitFor } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { realClusters } from '../helpers/real-clusters.js';
import { type Backend, startBackends } from '../upstream/health/backends.js';

/** /high on a priority HIGH route, everything else on a DEFAULT route, through the real translator. */
function routes(
  issues = new Issues(),
  priority: unknown = 'HIGH',
  extra: ProtoObject = {},
): RouteTable | null {
  const m = translateRouteConfiguration(
    {
      name: 'r',
      virtual_hosts: [
        {
          name: 'v',
          domains: ['*'],
          routes: [
            { match: { prefix: '/high' }, route: { cluster: 'svc', priority, ...extra } },
            { match: { prefix: '/' }, route: { cluster: 'svc', ...extra } },
          ],
        },
      ],
    },
    'route_config',
    issues,
  );
  return m === null || !issues.ok ? null : compileRouteConfig(m);
}

describe('route priority selects the circuit-breaker thresholds', () => {
  let backends: Backend[] = [];
  let manager: ClusterManager | null = null;
  let listener: Listener | null = null;
  let agent: http.Agent | null = null;

  afterEach(async () => {
    agent?.destroy();
    agent = null;
    listener?.forceClose();
    listener = null;
    manager?.shutdown();
    manager = null;
    for (const b of backends) await b.close();
    backends = [];
  });

  async function setup(thresholds: ProtoObject[], route: ProtoObject = {}) {
    backends = await startBackends(1);
    const stats = new StatsStore();
    manager = realClusters(stats, [
      { name: 'svc', ports: [backends[0].port], extra: { circuit_breakers: { thresholds } } },
    ]);
    const table = routes(new Issues(), 'HIGH', route);
    if (table === null) throw new Error('routes did not translate');
    const started = await startHttpListener(hcmConfig(table), manager, stats);
    listener = started.listener;
    agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    return { stats, port: started.port };
  }

  it('DEFAULT max_requests 1, HIGH 10: a HIGH route admits concurrent requests a DEFAULT route overflows with 503 UO', async () => {
    const { stats, port } = await setup([
      { priority: 'DEFAULT', max_requests: 1 },
      { priority: 'HIGH', max_requests: 10 },
    ]);
    backends[0].mode = 'hang';
    const high = [1, 2, 3, 4].map((i) => request(port, { path: `/high/${i}`, agent: agent! }));
    await waitFor(() => backends[0].hits === 4, 3000, 'four HIGH requests in flight');
    expect(stats.gauge('cluster.svc.circuit_breakers.high.rq_open').value).toBe(0);
    // DEFAULT counts only its own requests: the first is admitted, the second overflows.
    const first = request(port, { path: '/d1', agent: agent! });
    await waitFor(() => backends[0].hits === 5, 3000, 'one DEFAULT request in flight');
    expect(stats.gauge('cluster.svc.circuit_breakers.default.rq_open').value).toBe(1);
    const over = await request(port, { path: '/d2', agent: agent! });
    expect(over.status).toBe(503);
    expect(over.headers['x-envoy-overloaded']).toBe('true');
    expect(stats.counter('cluster.svc.upstream_rq_pending_overflow').value).toBe(1);
    // HIGH still has room while DEFAULT is full.
    const fifth = request(port, { path: '/high/5', agent: agent! });
    await waitFor(() => backends[0].hits === 6, 3000, 'a fifth HIGH request in flight');
    expect(backends[0].hits).toBe(6);
    backends[0].mode = 'ok';
    backends[0].release();
    const done = await Promise.all([...high, first, fifth]);
    expect(done.map((d) => d.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(stats.gauge('cluster.svc.circuit_breakers.default.rq_open').value).toBe(0);
    // The DEFAULT slot is free again.
    expect((await request(port, { path: '/d3', agent: agent! })).status).toBe(200);
  });

  it('HIGH max_requests 1: a second HIGH request overflows (high.rq_open) while DEFAULT still admits', async () => {
    const { stats, port } = await setup([{ priority: 'HIGH', max_requests: 1 }]);
    backends[0].mode = 'hang';
    const held = request(port, { path: '/high/a', agent: agent! });
    await waitFor(() => backends[0].hits === 1, 3000, 'one HIGH request in flight');
    expect(stats.gauge('cluster.svc.circuit_breakers.high.rq_open').value).toBe(1);
    const over = await request(port, { path: '/high/b', agent: agent! });
    expect(over.status).toBe(503);
    expect(over.headers['x-envoy-overloaded']).toBe('true');
    // DEFAULT has no thresholds entry: Envoy's defaults (1024) apply to it.
    const dflt = request(port, { path: '/d', agent: agent! });
    await waitFor(() => backends[0].hits === 2, 3000, 'the DEFAULT request in flight');
    expect(stats.gauge('cluster.svc.circuit_breakers.default.rq_open').value).toBe(0);
    backends[0].mode = 'ok';
    backends[0].release();
    expect((await held).status).toBe(200);
    expect((await dflt).status).toBe(200);
    expect(stats.gauge('cluster.svc.circuit_breakers.high.rq_open').value).toBe(0);
    expect((await request(port, { path: '/high/c', agent: agent! })).status).toBe(200);
  });

  it('HIGH max_retries 0 refuses retries on a HIGH route (upstream_rq_retry_overflow) while DEFAULT retries', async () => {
    const { stats, port } = await setup([{ priority: 'HIGH', max_retries: 0 }], {
      retry_policy: { retry_on: '5xx', num_retries: 1 },
    });
    backends[0].mode = '503';
    const overflow = stats.counter('cluster.svc.upstream_rq_retry_overflow');
    const high = await request(port, { path: '/high', agent: agent! });
    expect(high.status).toBe(503);
    expect(backends[0].hits).toBe(1);
    expect(overflow.value).toBe(1);
    expect(stats.gauge('cluster.svc.circuit_breakers.high.rq_retry_open').value).toBe(1);
    const dflt = await request(port, { path: '/d', agent: agent! });
    expect(dflt.status).toBe(503);
    // DEFAULT's max_retries is Envoy's default 3: the one retry is made.
    expect(backends[0].hits).toBe(3);
    expect(overflow.value).toBe(1);
    expect(stats.counter('cluster.svc.upstream_rq_retry').value).toBe(1);
  });

  it('HIGH routes get their own pools: DEFAULT max_connections 1 + max_pending_requests 1 full, HIGH still connects', async () => {
    const { stats, port } = await setup([
      { priority: 'DEFAULT', max_connections: 1, max_pending_requests: 1 },
      { priority: 'HIGH', max_connections: 1, max_pending_requests: 1 },
    ]);
    backends[0].mode = 'hang';
    // DEFAULT: one request holds the only connection, one waits as pending, the third overflows.
    const d1 = request(port, { path: '/d1', agent: agent! });
    await waitFor(() => backends[0].hits === 1, 3000, 'd1 at the upstream');
    const d2 = request(port, { path: '/d2', agent: agent! });
    await waitFor(
      () => stats.gauge('cluster.svc.upstream_rq_pending_active').value === 1,
      3000,
      'd2 pending',
    );
    expect(stats.gauge('cluster.svc.circuit_breakers.default.cx_open').value).toBe(1);
    expect(stats.gauge('cluster.svc.circuit_breakers.default.rq_pending_open').value).toBe(1);
    const d3 = await request(port, { path: '/d3', agent: agent! });
    expect(d3.status).toBe(503);
    expect(d3.headers['x-envoy-overloaded']).toBe('true');
    // HIGH: its own pool opens its own connection at once, and has its own pending slot.
    const h1 = request(port, { path: '/high/1', agent: agent! });
    await waitFor(() => backends[0].hits === 2, 3000, 'the HIGH request at the upstream');
    expect(backends[0].connectionsAccepted).toBe(2);
    expect(stats.gauge('cluster.svc.circuit_breakers.high.cx_open').value).toBe(1);
    const h2 = request(port, { path: '/high/2', agent: agent! });
    await waitFor(
      () => stats.gauge('cluster.svc.upstream_rq_pending_active').value === 2,
      3000,
      'h2 pending',
    );
    expect(stats.gauge('cluster.svc.circuit_breakers.high.rq_pending_open').value).toBe(1);
    const h3 = await request(port, { path: '/high/3', agent: agent! });
    expect(h3.status).toBe(503);
    expect(stats.counter('cluster.svc.upstream_rq_pending_overflow').value).toBe(2);
    backends[0].mode = 'ok';
    backends[0].release();
    const done = await Promise.all([d1, d2, h1, h2]);
    expect(done.map((d) => d.status)).toEqual([200, 200, 200, 200]);
    // Two connections in all, one per priority: the pending requests waited for them.
    expect(backends[0].connectionsAccepted).toBe(2);
    expect(stats.gauge('cluster.svc.upstream_rq_pending_active').value).toBe(0);
    expect(stats.gauge('cluster.svc.circuit_breakers.high.rq_pending_open').value).toBe(0);
  });

  it('an unknown priority is reported at its field path', () => {
    const issues = new Issues();
    expect(routes(issues, 'LOW')).toBeNull();
    expect(issues.format()).toContain('virtual_hosts[0].routes[0].route.priority');
    expect(routes(new Issues(), 'DEFAULT')).not.toBeNull();
  });
});
