import { afterEach, describe, expect, it } from 'vitest';
import { StatsStore } from '../../../proxy/observability/stats.js';
import type { ClusterManager } from '../../../proxy/upstream/cluster-manager.js';
import { waitFor } from '../../helpers/http.js';
import { realClusters } from '../../helpers/real-clusters.js';
import { type Backend, startBackends } from './backends.js';

function check(reuse: boolean | undefined) {
  return {
    timeout: 500,
    interval: 30,
    no_traffic_interval: 30,
    unhealthy_threshold: 2,
    healthy_threshold: 1,
    ...(reuse === undefined ? {} : { reuse_connection: reuse }),
    http_health_check: { path: '/healthz' },
  };
}

describe('health check reuse_connection (HTTP/1)', () => {
  let backends: Backend[] = [];
  let manager: ClusterManager | null = null;

  afterEach(async () => {
    manager?.shutdown();
    manager = null;
    for (const b of backends) await b.close();
    backends = [];
  });

  async function probe(reuse: boolean | undefined): Promise<Backend> {
    backends = await startBackends(1);
    backends[0].pathStatus.set('/healthz', 200);
    manager = realClusters(new StatsStore(), [
      { name: 'svc', ports: [backends[0].port], extra: { health_checks: [check(reuse)] } },
    ]);
    await waitFor(() => backends[0].hcHits >= 5, 3000, 'five probes');
    return backends[0];
  }

  it('by default (Envoy: true) consecutive probes share one keep-alive connection', async () => {
    const b = await probe(undefined);
    expect(b.connectionsAccepted).toBe(1);
    expect(manager!.get('svc')!.allHosts()[0].healthy).toBe(true);
  });

  it('a failing status keeps the connection too; the host goes unhealthy', async () => {
    const b = await probe(true);
    b.pathStatus.set('/healthz', 503);
    const h = manager!.get('svc')!.allHosts()[0];
    await waitFor(() => !h.healthy, 3000, 'host unhealthy');
    expect(b.connectionsAccepted).toBe(1);
  });

  it('reuse_connection: false opens a connection per probe', async () => {
    const b = await probe(false);
    expect(b.connectionsAccepted).toBeGreaterThanOrEqual(5);
  });
});
