/**
 * /config_dump shows dynamic resources that are not serving yet, as Envoy does: an EDS cluster
 * waiting for its endpoints under dynamic_warming_clusters, a listener waiting for its routes as
 * a dynamic_listeners entry with warming_state. The whole proxy (startProxy) over a real ADS
 * stream, state of the world.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseArgs } from '../../proxy/cli-options.js';
import { startProxy } from '../../proxy/main.js';
import type { RunningProxy } from '../../proxy/main-contract.js';
import { RecordingServer, request } from '../helpers/http.js';
import { adsBootstrap } from '../xds/ads-bootstrap.js';
import {
  assignment,
  CDS,
  EDS,
  edsCluster,
  LDS,
  ldsListener,
  RDS,
  routeConfig,
  TestControlPlane,
  until,
} from '../xds/dynamic-harness.js';
import { freePort } from '../xds/dynamic-proxy.js';

function bootstrap(xdsPort: number): string {
  return adsBootstrap({
    xdsPort,
    adminPort: 0,
    ldsInitialFetchTimeout: '30s',
    cdsInitialFetchTimeout: '30s',
  });
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Dump {
  configs: Array<Record<string, unknown>>;
}

interface ClustersDump {
  dynamic_active_clusters?: Array<{ cluster: { name: string } }>;
  dynamic_warming_clusters?: Array<{ version_info: string; cluster: { name: string }; last_updated: string }>;
}

interface ListenerState {
  version_info: string;
  listener: { name: string };
  last_updated: string;
}

interface ListenersDump {
  dynamic_listeners?: Array<{ name: string; active_state?: ListenerState; warming_state?: ListenerState }>;
}

async function dump(proxy: RunningProxy): Promise<{ clusters: ClustersDump; listeners: ListenersDump }> {
  const res = await request(proxy.adminAddress?.port ?? 0, { path: '/config_dump' });
  expect(res.status).toBe(200);
  const d = JSON.parse(res.body.toString()) as Dump;
  const find = (suffix: string) => d.configs.find((c) => String(c['@type']).endsWith(suffix));
  return {
    clusters: find('ClustersConfigDump') as ClustersDump,
    listeners: find('ListenersConfigDump') as ListenersDump,
  };
}

describe('/config_dump warming entries', () => {
  it('lists a cluster waiting for endpoints and a listener waiting for routes until they arrive', async () => {
    const up = new RecordingServer((_req, res) => res.end('hello'));
    await up.listen();
    cleanups.push(() => up.close());
    const cp = new TestControlPlane();
    await cp.start();
    cleanups.push(() => cp.kill());
    const port = await freePort();
    cp.set(CDS, 'svc', edsCluster('svc'));
    cp.set(LDS, 'web', ldsListener('web', port, 'routes'));

    const parsed = parseArgs([
      '--config-yaml',
      bootstrap(cp.port),
      '--drain-time-s',
      '1',
      '--log-level',
      'error',
    ]);
    if (parsed.kind !== 'run') throw new Error(`bad args: ${parsed.kind}`);
    const proxy = await startProxy(parsed.options);
    cleanups.push(() => proxy.shutdown('test'));

    // CDS accepted; svc has no endpoints yet, so it warms.
    await until(() => cp.acks.some((a) => a.typeUrl === CDS), 5000, 'CDS ACK');
    let d = await dump(proxy);
    expect(d.clusters.dynamic_active_clusters).toBeUndefined();
    expect(d.clusters.dynamic_warming_clusters?.map((c) => c.cluster.name)).toEqual(['svc']);
    expect(d.clusters.dynamic_warming_clusters?.[0].version_info).toBe('v1');
    expect(d.clusters.dynamic_warming_clusters?.[0].last_updated).toMatch(/^\d{4}-\d\d-\d\dT/);

    // Endpoints arrive: svc is active; LDS follows (Envoy's order) and web waits for its routes.
    cp.set(EDS, 'svc', assignment('svc', [up.port]));
    cp.push(EDS);
    await until(() => cp.acks.some((a) => a.typeUrl === LDS), 5000, 'LDS ACK');
    d = await dump(proxy);
    expect(d.clusters.dynamic_warming_clusters).toBeUndefined();
    expect(d.clusters.dynamic_active_clusters?.map((c) => c.cluster.name)).toEqual(['svc']);
    expect(d.listeners.dynamic_listeners).toHaveLength(1);
    const warmingEntry = d.listeners.dynamic_listeners?.[0];
    expect(warmingEntry?.name).toBe('web');
    expect(warmingEntry?.active_state).toBeUndefined();
    expect(warmingEntry?.warming_state?.listener.name).toBe('web');
    expect(warmingEntry?.warming_state?.version_info).toBe('v1');

    // Routes arrive: the listener serves and is only active.
    cp.set(RDS, 'routes', routeConfig('routes', 'svc'));
    cp.push(RDS);
    let served = '';
    for (let i = 0; i < 200 && served !== 'hello'; i++) {
      served = await request(port, {}).then(
        (r) => r.body.toString(),
        () => '',
      );
      if (served !== 'hello') await new Promise((r) => setTimeout(r, 10));
    }
    expect(served).toBe('hello');
    d = await dump(proxy);
    const activeEntry = d.listeners.dynamic_listeners?.[0];
    expect(activeEntry?.warming_state).toBeUndefined();
    expect(activeEntry?.active_state?.listener.name).toBe('web');
  });
});
