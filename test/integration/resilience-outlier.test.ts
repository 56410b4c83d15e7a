import { afterEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import type { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { logHealthEvents } from '../../proxy/upstream/health/cluster-health.js';
import { HealthFlag } from '../../proxy/upstream/host.js';
import type { OutlierEvent } from '../../proxy/upstream/outlier/detector.js';
import { request, waitFor } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { realClusters } from '../helpers/real-clusters.js';
import { testRouteTable } from '../helpers/test-upstream.js';
import { type Backend, startBackends } from '../upstream/health/backends.js';

describe('outlier detection through the proxy', () => {
  let backends: Backend[] = [];
  let manager: ClusterManager | null = null;
  let listener: Listener | null = null;

  afterEach(async () => {
    listener?.forceClose();
    manager?.shutdown();
    for (const b of backends) await b.close();
    backends = [];
    listener = null;
    manager = null;
  });

  async function setup(outlier: Record<string, unknown>, n = 3) {
    backends = await startBackends(n);
    const stats = new StatsStore();
    manager = realClusters(stats, [
      { name: 'svc', ports: backends.map((b) => b.port), extra: { outlier_detection: outlier } },
    ]);
    const routes = testRouteTable([{ prefix: '/', cluster: 'svc' }]);
    const started = await startHttpListener(hcmConfig(routes), manager, stats);
    listener = started.listener;
    const cluster = manager.get('svc')!;
    const events: OutlierEvent[] = [];
    cluster.health!.outlier!.onEvent((e) => events.push(e));
    const logged: string[] = [];
    logHealthEvents(cluster.health, { info: (_o, msg) => logged.push(msg) });
    return { port: started.port, stats, cluster, events, logged };
  }

  it('a backend that starts answering 503 is ejected after consecutive_5xx: 3 and traffic flows to the others', async () => {
    const { port, stats, cluster, events, logged } = await setup({
      consecutive_5xx: 3,
      interval: 60_000,
      base_ejection_time: 60_000,
      max_ejection_percent: 50,
    });
    backends[1].mode = '503';
    let fails = 0;
    // Round robin sends every third request to b1: three 503s from it within nine requests.
    for (let i = 0; i < 9; i++) if ((await request(port, { path: '/' })).status === 503) fails++;
    expect(fails).toBe(3);
    expect(stats.gauge('cluster.svc.outlier_detection.ejections_active').value).toBe(1);
    expect(stats.counter('cluster.svc.outlier_detection.ejections_enforced_consecutive_5xx').value).toBe(1);
    expect(stats.counter('cluster.svc.outlier_detection.ejections_enforced_total').value).toBe(1);
    const b1 = cluster.allHosts().find((h) => h.port === backends[1].port)!;
    expect(b1.healthFlags & HealthFlag.FailedOutlierCheck).not.toBe(0);
    expect(events.map((e) => [e.action, e.type, e.host])).toEqual([['eject', 'consecutive_5xx', b1.key]]);
    expect(logged).toEqual(['outlier: host ejected']);
    const before = backends[1].hits;
    for (let i = 0; i < 20; i++) expect((await request(port, { path: '/' })).status).toBe(200);
    expect(backends[1].hits).toBe(before);
  });

  it('a backend refusing connections is ejected after three connect errors (split local origin)', async () => {
    const { port, stats, cluster } = await setup({
      split_external_local_origin_errors: true,
      consecutive_local_origin_failure: 3,
      interval: 60_000,
      base_ejection_time: 60_000,
    });
    await backends[2].kill();
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await request(port, { path: '/' })).status);
    // Only the first three requests routed to the dead host fail; then it is out.
    expect(statuses.filter((s) => s === 503).length).toBe(3);
    expect(statuses.slice(9).every((s) => s === 200)).toBe(true);
    expect(
      stats.counter('cluster.svc.outlier_detection.ejections_enforced_consecutive_local_origin_failure')
        .value,
    ).toBe(1);
    const dead = cluster.allHosts().find((h) => h.port === backends[2].port)!;
    expect(dead.healthy).toBe(false);
  });

  it('without split, connect failures count as 5xx (Envoy maps them to 503)', async () => {
    const { port, stats } = await setup({
      consecutive_5xx: 3,
      consecutive_gateway_failure: 3,
      interval: 60_000,
    });
    await backends[0].kill();
    for (let i = 0; i < 9; i++) await request(port, { path: '/' });
    expect(stats.counter('cluster.svc.outlier_detection.ejections_enforced_consecutive_5xx').value).toBe(1);
    expect(
      stats.counter('cluster.svc.outlier_detection.ejections_detected_consecutive_gateway_failure').value,
    ).toBe(1);
    // enforcing_consecutive_gateway_failure defaults to 0: detected, never enforced.
    expect(
      stats.counter('cluster.svc.outlier_detection.ejections_enforced_consecutive_gateway_failure').value,
    ).toBe(0);
  });

  it('an ejected host returns after the ejection time, and the next ejection lasts longer', async () => {
    const { port, cluster, events } = await setup({
      consecutive_5xx: 2,
      interval: 50,
      base_ejection_time: 200,
    });
    backends[0].mode = '500';
    const host = cluster.allHosts().find((h) => h.port === backends[0].port)!;
    for (let i = 0; i < 6 && host.healthy; i++) await request(port, { path: '/' });
    expect(host.healthy).toBe(false);
    const ejectedAt = performance.now();
    backends[0].mode = 'ok';
    await waitFor(() => host.healthy, 3000, 'un-ejection');
    const out = performance.now() - ejectedAt;
    expect(out).toBeGreaterThanOrEqual(190);
    expect(out).toBeLessThan(1500);
    expect(events.map((e) => e.action)).toEqual(['eject', 'uneject']);
    // Traffic reaches it again.
    const before = backends[0].hits;
    for (let i = 0; i < 6; i++) await request(port, { path: '/' });
    expect(backends[0].hits).toBeGreaterThan(before);
    // A second ejection right away lasts base × 2.
    backends[0].mode = '500';
    for (let i = 0; i < 9 && host.healthy; i++) await request(port, { path: '/' });
    expect(host.healthy).toBe(false);
    expect(events.at(-1)?.numEjections).toBe(2);
    const second = performance.now();
    backends[0].mode = 'ok';
    await waitFor(() => host.healthy, 3000, 'second un-ejection');
    expect(performance.now() - second).toBeGreaterThanOrEqual(390);
  });

  it('max_ejection_percent caps ejections; the overflow is counted', async () => {
    const { port, stats } = await setup({ consecutive_5xx: 1, interval: 60_000, max_ejection_percent: 34 });
    for (const b of backends) b.mode = '503';
    for (let i = 0; i < 9; i++) await request(port, { path: '/' });
    // 34% of 3 hosts: the first ejection (0% < 34%) and the second (33% < 34%), not a third.
    expect(stats.gauge('cluster.svc.outlier_detection.ejections_active').value).toBe(2);
    expect(stats.counter('cluster.svc.outlier_detection.ejections_overflow').value).toBeGreaterThan(0);
  });
});
