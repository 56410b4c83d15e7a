/**
 * Envoy's warming rules: a changed cluster that needs new endpoints does not replace the serving
 * one until they arrive; an unchanged cluster keeps its running instance (pools, hosts) across
 * CDS responses; endpoints or routes that never come end the wait at initial_fetch_timeout (the
 * cluster serves with no hosts, the listener answers 404 NR) so startup never hangs.
 */
import { describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import {
  assignment,
  CDS,
  EDS,
  edsCluster,
  LDS,
  ldsListener,
  RDS,
  routeConfig,
  until,
} from './dynamic-harness.js';
import { freePort, useDynamicScope } from './dynamic-proxy.js';

const { upstream, controlPlane, proxy } = useDynamicScope();

describe('warming', () => {
  it('a changed cluster keeps the old one serving until its new endpoints arrive; unchanged clusters are kept', async () => {
    const a = await upstream('a');
    const b = await upstream('b');
    const cp = await controlPlane();
    const port = await freePort();
    cp.set(CDS, 'svc', edsCluster('svc'));
    cp.set(CDS, 'steady', edsCluster('steady'));
    cp.set(EDS, 'svc', assignment('svc', [a.port]));
    cp.set(EDS, 'steady', assignment('steady', [a.port]));
    cp.set(LDS, 'web', ldsListener('web', port, 'routes'));
    cp.set(RDS, 'routes', routeConfig('routes', 'svc'));
    const p = proxy({ port: cp.port });
    await p.dynamic.whenInitialized();
    const steady = p.clusters.get('steady');
    const oldSvc = p.clusters.get('svc');

    // svc now reads its endpoints from another service name that the server has not sent yet.
    cp.set(
      CDS,
      'svc',
      edsCluster('svc', { eds_cluster_config: { eds_config: { ads: {} }, service_name: 'svc-v2' } }),
    );
    cp.push();
    await until(() => p.dynamic.subscriptions().eds.includes('svc-v2'), 5000, 'svc-v2 subscribed');
    expect(p.clusters.get('svc')).toBe(oldSvc);
    expect((await request(port, {})).body.toString()).toBe('a');

    cp.set(EDS, 'svc-v2', assignment('svc-v2', [b.port]));
    cp.push();
    await until(() => p.clusters.get('svc') !== oldSvc, 5000, 'svc replaced');
    expect((await request(port, {})).body.toString()).toBe('b');
    // The old service name is no longer needed; the untouched cluster is the same instance.
    await until(() => !p.dynamic.subscriptions().eds.includes('svc'), 5000, 'svc EDS released');
    expect(p.clusters.get('steady')).toBe(steady);
  });

  it('endpoints and routes that never arrive end the wait at initial_fetch_timeout', async () => {
    const cp = await controlPlane();
    const port = await freePort();
    cp.set(CDS, 'svc', edsCluster('svc'));
    cp.set(LDS, 'web', ldsListener('web', port, 'routes'));
    const started = Date.now();
    const p = proxy({ port: cp.port, initialFetchTimeoutMs: 300 });
    await p.dynamic.whenInitialized();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(p.clusters.get('svc')?.allHosts()).toEqual([]);
    const r = await request(port, {});
    expect(r.status).toBe(404);
    expect(r.headers['x-envoy-response-flags'] ?? 'NR').toBe('NR');
  });
});
