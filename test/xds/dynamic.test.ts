/**
 * Dynamic config end to end over loopback: a real ADS server (state of the world and delta), the
 * proxy's cluster and listener managers driven by DynamicConfig, and real HTTP through the LDS
 * listener to upstreams found over CDS/EDS.
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
import { type DynamicProxy, freePort, useDynamicScope } from './dynamic-proxy.js';

const { upstream, controlPlane, proxy } = useDynamicScope();

async function get(port: number, path = '/'): Promise<{ status: number; body: string }> {
  const r = await request(port, { path });
  return { status: r.status, body: r.body.toString() };
}

function counter(p: DynamicProxy, name: string): number {
  return p.stats.counter(name).value;
}

describe.each(['GRPC', 'DELTA_GRPC'] as const)('dynamic config over %s', (apiType) => {
  it('starts from nothing: CDS, EDS, LDS and RDS arrive, warm, and traffic flows', async () => {
    const a = await upstream('a');
    const cp = await controlPlane();
    const port = await freePort();
    cp.set(CDS, 'svc', edsCluster('svc'));
    cp.set(LDS, 'web', ldsListener('web', port, 'routes'));
    // Endpoints and routes come later: the cluster and the listener must warm until they do.
    const p = proxy({ port: cp.port, apiType });
    await until(() => p.dynamic.subscriptions().eds.includes('svc'), 5000, 'EDS subscription');
    expect(p.clusters.get('svc')).toBeUndefined(); // warming: not in the cluster manager yet
    expect(p.stats.gauge('cluster_manager.warming_clusters').value).toBe(1);
    expect(p.dynamic.initState()).toBe('initializing');
    cp.set(EDS, 'svc', assignment('svc', [a.port]));
    cp.push();
    await until(() => p.dynamic.subscriptions().rds.includes('routes'), 5000, 'RDS subscription');
    expect(p.listeners.get('web')).toBeUndefined(); // warming: routes not here yet
    expect(p.stats.gauge('listener_manager.total_listeners_warming').value).toBe(1);
    expect(p.stats.gauge('cluster_manager.warming_clusters').value).toBe(0);
    expect(p.dynamic.initState()).toBe('initializing');
    cp.set(RDS, 'routes', routeConfig('routes', 'svc'));
    cp.push();
    await p.dynamic.whenInitialized();
    expect(p.dynamic.initState()).toBe('initialized');
    expect(await get(port)).toEqual({ status: 200, body: 'a' });
    expect(p.stats.gauge('control_plane.connected_state').value).toBe(1);
    expect(counter(p, 'cluster_manager.cds.update_success')).toBeGreaterThanOrEqual(1);
    expect(counter(p, 'listener_manager.lds.update_success')).toBeGreaterThanOrEqual(1);
    expect(counter(p, 'http.web.rds.routes.update_success')).toBe(1);
    expect(counter(p, 'cluster.svc.update_success')).toBe(1);
    expect(p.stats.gauge('cluster_manager.cds.version').value).not.toBe(0);
    const dump = p.dynamic.dumpClusters();
    expect(dump.map((d) => d.name)).toEqual(['svc']);
    expect(dump[0].version).not.toBe('');
  });

  it('follows route, endpoint, cluster and listener changes and removals', async () => {
    const a = await upstream('a');
    const b = await upstream('b');
    const cp = await controlPlane();
    const port = await freePort();
    const port2 = await freePort();
    cp.set(CDS, 'svc', edsCluster('svc'));
    cp.set(EDS, 'svc', assignment('svc', [a.port]));
    cp.set(LDS, 'web', ldsListener('web', port, 'routes'));
    cp.set(RDS, 'routes', routeConfig('routes', 'svc'));
    const p = proxy({ port: cp.port, apiType });
    await p.dynamic.whenInitialized();
    expect((await get(port)).body).toBe('a');

    // EDS: the same cluster object, new endpoints.
    const before = p.clusters.get('svc');
    cp.set(EDS, 'svc', assignment('svc', [b.port]));
    cp.push();
    await until(() => p.clusters.get('svc')?.allHosts()[0]?.port === b.port, 5000, 'EDS update');
    expect(p.clusters.get('svc')).toBe(before);
    expect((await get(port)).body).toBe('b');

    // CDS + RDS: a second cluster, routed by path.
    cp.set(CDS, 'other', edsCluster('other'));
    cp.set(EDS, 'other', assignment('other', [a.port]));
    cp.set(
      RDS,
      'routes',
      routeConfig('routes', 'svc', [{ match: { prefix: '/o' }, route: { cluster: 'other' } }]),
    );
    cp.push();
    await until(() => p.clusters.get('other') !== undefined, 5000, 'new cluster');
    await until(
      () =>
        p.dynamic.dumpRoutes()[0]?.proto.virtual_hosts !== undefined &&
        counter(p, 'http.web.rds.routes.update_success') >= 2,
      5000,
      'route update',
    );
    expect((await get(port, '/o')).body).toBe('a');
    expect((await get(port, '/x')).body).toBe('b');

    // LDS: the listener moves to another port; the old port stops accepting.
    cp.set(LDS, 'web', ldsListener('web', port2, 'routes'));
    cp.push();
    await until(() => p.listeners.get('web')?.port === port2, 5000, 'listener moved');
    expect((await get(port2)).body).toBe('b');
    await expect(get(port)).rejects.toThrow(/ECONNREFUSED/);

    // Removals: CDS drops 'other' (drained), LDS drops the listener.
    cp.remove(CDS, 'other');
    cp.push();
    await until(() => p.clusters.get('other') === undefined, 5000, 'cluster removed');
    expect(p.dynamic.subscriptions().eds).toEqual(['svc']);
    cp.remove(LDS, 'web');
    cp.push();
    await until(() => p.listeners.get('web') === undefined, 5000, 'listener removed');
    await until(() => p.dynamic.subscriptions().rds.length === 0, 5000, 'RDS unsubscribed');
    await expect(get(port2)).rejects.toThrow(/ECONNREFUSED/);
  });
});
