import { afterEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../../proxy/network/listener.js';
import { StatsStore } from '../../../proxy/observability/stats.js';
import type { ClusterManager } from '../../../proxy/upstream/cluster-manager.js';
import { HealthFlag } from '../../../proxy/upstream/host.js';
import { request, waitFor } from '../../helpers/http.js';
import { hcmConfig, startHttpListener } from '../../helpers/proxy.js';
import { type ClusterSpec, clusterModel, realClusters } from '../../helpers/real-clusters.js';
import { testRouteTable } from '../../helpers/test-upstream.js';
import { type Backend, startBackends } from './backends.js';

/** A CDS update: the same cluster with another connect_timeout (so addOrUpdate builds a new one). */
function updated(spec: ClusterSpec): ClusterSpec {
  return { ...spec, extra: { ...spec.extra, connect_timeout: 2000 } };
}

describe('health across cluster updates (hosts that persist keep their health)', () => {
  let backends: Backend[] = [];
  let manager: ClusterManager | null = null;
  let listener: Listener | null = null;

  afterEach(async () => {
    listener?.forceClose();
    listener = null;
    manager?.shutdown();
    manager = null;
    for (const b of backends) await b.close();
    backends = [];
  });

  it('active health check: a failed host stays failed and a healthy one serves at once after the update', async () => {
    backends = await startBackends(2);
    const spec: ClusterSpec = {
      name: 'svc',
      ports: backends.map((b) => b.port),
      extra: {
        health_checks: [
          {
            timeout: 500,
            interval: 40,
            no_traffic_interval: 40,
            unhealthy_threshold: 1,
            healthy_threshold: 2,
            http_health_check: { path: '/healthz' },
          },
        ],
      },
    };
    backends[0].pathStatus.set('/healthz', 200);
    backends[1].pathStatus.set('/healthz', 503);
    const stats = new StatsStore();
    manager = realClusters(stats, [spec]);
    const before = manager.get('svc')!;
    const [h0, h1] = before.allHosts();
    await waitFor(
      () => h0.healthy && !h1.healthy && (h1.healthFlags & HealthFlag.PendingActiveHc) === 0,
      3000,
      'b1 failed',
    );

    expect(manager.addOrUpdate(clusterModel(updated(spec)))).toBe('updated');
    const after = manager.get('svc')!;
    expect(after).not.toBe(before);
    // Same Host objects, flags kept: no pending state, so no window where both hosts are out.
    expect(after.allHosts()).toEqual([h0, h1]);
    expect(h0.healthFlags & (HealthFlag.FailedActiveHc | HealthFlag.PendingActiveHc)).toBe(0);
    expect(h1.healthFlags & HealthFlag.FailedActiveHc).not.toBe(0);
    expect(h1.healthFlags & HealthFlag.PendingActiveHc).toBe(0);

    const started = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'svc' }])),
      manager,
      stats,
    );
    listener = started.listener;
    for (let i = 0; i < 6; i++) expect((await request(started.port, { path: '/' })).status).toBe(200);
    expect(backends[0].hits).toBe(6);
    expect(backends[1].hits).toBe(0);

    // The new cluster's checker drives the carried host: back after healthy_threshold passes.
    backends[1].pathStatus.set('/healthz', 200);
    await waitFor(() => h1.healthy, 3000, 'b1 back under the new checker');
  });

  it('outlier detection: an ejected host stays ejected across the update and the new detector returns it', async () => {
    backends = await startBackends(2);
    const spec: ClusterSpec = {
      name: 'svc',
      ports: backends.map((b) => b.port),
      extra: {
        outlier_detection: {
          consecutive_5xx: 2,
          interval: 50,
          base_ejection_time: 400,
          max_ejection_percent: 50,
        },
      },
    };
    const stats = new StatsStore();
    manager = realClusters(stats, [spec]);
    const started = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'svc' }])),
      manager,
      stats,
    );
    listener = started.listener;
    const [h0, h1] = manager.get('svc')!.allHosts();
    backends[1].mode = '503';
    for (let i = 0; i < 10 && h1.healthy; i++) await request(started.port, { path: '/' });
    expect(h1.healthFlags & HealthFlag.FailedOutlierCheck).not.toBe(0);
    const active = stats.gauge('cluster.svc.outlier_detection.ejections_active');
    expect(active.value).toBe(1);
    backends[1].mode = 'ok';

    manager.addOrUpdate(clusterModel(updated(spec)));
    expect(manager.get('svc')!.allHosts()).toEqual([h0, h1]);
    expect(h1.healthFlags & HealthFlag.FailedOutlierCheck).not.toBe(0);
    expect(h1.outlier).not.toBeNull();
    expect(active.value).toBe(1);
    const hitsBefore = backends[1].hits;
    for (let i = 0; i < 4; i++) expect((await request(started.port, { path: '/' })).status).toBe(200);
    expect(backends[1].hits).toBe(hitsBefore);
    // Un-ejected by the new cluster's sweeps after base_ejection_time.
    await waitFor(() => h1.healthy, 3000, 'b1 returned');
    expect(active.value).toBe(0);
  });
});
