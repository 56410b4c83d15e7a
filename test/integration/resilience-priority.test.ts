import { afterEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import type { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { request, waitFor } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { realClusters } from '../helpers/real-clusters.js';
import { testRouteTable } from '../helpers/test-upstream.js';
import { type Backend, startBackends } from '../upstream/health/backends.js';

function lbEndpoints(ports: readonly number[]) {
  return ports.map((port) => ({
    endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
  }));
}

describe('priority failover', () => {
  let backends: Backend[] = [];
  let manager: ClusterManager | null = null;
  let listener: Listener | null = null;

  afterEach(async () => {
    listener?.forceClose();
    manager?.shutdown();
    for (const b of backends) await b.close();
    backends = [];
  });

  it('traffic moves from P0 to P1 as P0 hosts fail active checks, and back as they recover', async () => {
    // P0: b0, b1, b2, b3; P1: b4.
    backends = await startBackends(5);
    const stats = new StatsStore();
    const ports = backends.map((b) => b.port);
    manager = realClusters(stats, [
      {
        name: 'svc',
        ports: [],
        extra: {
          load_assignment: {
            cluster_name: 'svc',
            endpoints: [
              { priority: 0, lb_endpoints: lbEndpoints(ports.slice(0, 4)) },
              { priority: 1, lb_endpoints: lbEndpoints(ports.slice(4)) },
            ],
          },
          health_checks: [
            {
              timeout: 500,
              interval: 30,
              no_traffic_interval: 30,
              unhealthy_threshold: 1,
              healthy_threshold: 1,
              http_health_check: { path: '/hc' },
            },
          ],
        },
      },
    ]);
    for (const b of backends) b.pathStatus.set('/hc', 200);
    const hosts = manager.get('svc')!.allHosts();
    await waitFor(() => hosts.every((h) => h.healthy), 3000, 'all healthy');
    const started = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'svc' }])),
      manager,
      stats,
    );
    listener = started.listener;
    const p1Share = async (n: number) => {
      const before = backends[4].hits;
      for (let i = 0; i < n; i++) expect((await request(started.port, { path: '/' })).status).toBe(200);
      return (backends[4].hits - before) / n;
    };
    expect(await p1Share(40)).toBe(0);
    // Half of P0 fails: P0 health 2/4 × 1.4 = 70% → 30% spills to P1 (±5σ over 400 requests).
    backends[0].pathStatus.set('/hc', 503);
    backends[1].pathStatus.set('/hc', 503);
    await waitFor(() => hosts.filter((h) => h.healthy).length === 3, 3000, 'two P0 hosts out');
    const spill = await p1Share(400);
    expect(spill).toBeGreaterThan(0.3 - 0.12);
    expect(spill).toBeLessThan(0.3 + 0.12);
    // All of P0 down: everything to P1.
    backends[2].pathStatus.set('/hc', 503);
    backends[3].pathStatus.set('/hc', 503);
    await waitFor(() => hosts.filter((h) => h.healthy).length === 1, 3000, 'P0 out');
    expect(await p1Share(20)).toBe(1);
    // Recovery: back to P0.
    for (const b of backends) b.pathStatus.set('/hc', 200);
    await waitFor(() => hosts.every((h) => h.healthy), 3000, 'recovered');
    expect(await p1Share(40)).toBe(0);
  });
});
