/**
 * The whole proxy (startProxy, the composition root) started with only a dynamic bootstrap: the
 * ADS cluster is its one static cluster, everything else comes over xDS. /ready reports
 * INITIALIZING until the first full config is applied; /config_dump and /stats show the dynamic
 * state under Envoy's names. Bad dynamic_resources are refused with field paths.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseArgs } from '../../proxy/cli-options.js';
import { ConfigError } from '../../proxy/config/issues.js';
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

function bootstrap(xdsPort: number, apiType: string, extra = ''): string {
  return adsBootstrap({
    xdsPort,
    apiType,
    adminPort: 0,
    setNodeOnFirstMessageOnly: true,
    ldsInitialFetchTimeout: '5s',
    extra,
  });
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(yaml: string, snapshotPath?: string): Promise<RunningProxy> {
  const parsed = parseArgs(['--config-yaml', yaml, '--drain-time-s', '1', '--log-level', 'error']);
  if (parsed.kind !== 'run') throw new Error(`bad args: ${parsed.kind}`);
  // --xds-snapshot-path is read from the options as `xdsSnapshotPath` (see proxy/xds/dynamic/wiring.ts).
  const opts =
    snapshotPath === undefined ? parsed.options : { ...parsed.options, xdsSnapshotPath: snapshotPath };
  const running = await startProxy(opts);
  cleanups.push(() => running.shutdown('test'));
  return running;
}

async function waitReady(r: RunningProxy): Promise<{ status: number; body: string }> {
  let ready = { status: 0, body: '' };
  for (let i = 0; i < 300 && ready.status !== 200; i++) {
    ready = await admin(r, '/ready');
    if (ready.status !== 200) await new Promise((res) => setTimeout(res, 10));
  }
  return ready;
}

async function admin(r: RunningProxy, path: string): Promise<{ status: number; body: string }> {
  const port = r.adminAddress?.port ?? 0;
  const res = await request(port, { path });
  return { status: res.status, body: res.body.toString() };
}

describe.each(['GRPC', 'DELTA_GRPC'])('a sidecar with only a dynamic bootstrap (%s)', (apiType) => {
  it('gets listeners, routes, clusters and endpoints over ADS; /ready waits for them', async () => {
    const up = new RecordingServer((_req, res) => res.end('hello'));
    await up.listen();
    cleanups.push(() => up.close());
    const cp = new TestControlPlane();
    await cp.start();
    cleanups.push(() => cp.kill());
    const port = await freePort();
    cp.set(CDS, 'svc', edsCluster('svc'));
    cp.set(EDS, 'svc', assignment('svc', [up.port]));
    cp.set(LDS, 'web', ldsListener('web', port, 'routes'));

    const proxy = await start(bootstrap(cp.port, apiType));
    // The listener warms until its RouteConfiguration arrives: not ready yet.
    await until(() => cp.acks.some((a) => a.typeUrl === LDS), 5000, 'LDS ACK');
    const early = await admin(proxy, '/ready');
    expect(early).toEqual({ status: 503, body: 'INITIALIZING\n' });

    cp.set(RDS, 'routes', routeConfig('routes', 'svc'));
    cp.push();
    let ready = { status: 0, body: '' };
    for (let i = 0; i < 200 && ready.status !== 200; i++) {
      ready = await admin(proxy, '/ready');
      if (ready.status !== 200) await new Promise((r) => setTimeout(r, 10));
    }
    expect(ready).toEqual({ status: 200, body: 'LIVE\n' });
    const r = await request(port, {});
    expect(r.body.toString()).toBe('hello');

    const dump = JSON.parse((await admin(proxy, '/config_dump')).body) as {
      configs: Array<Record<string, unknown>>;
    };
    const clusters = dump.configs.find((c) => String(c['@type']).endsWith('ClustersConfigDump')) as {
      version_info: string;
      static_clusters: unknown[];
      dynamic_active_clusters: Array<{
        version_info: string;
        cluster: { name: string };
        last_updated: string;
      }>;
    };
    expect(clusters.static_clusters).toHaveLength(1);
    expect(clusters.dynamic_active_clusters.map((c) => c.cluster.name)).toEqual(['svc']);
    expect(clusters.dynamic_active_clusters[0].last_updated).toMatch(/^\d{4}-/);
    const routes = dump.configs.find((c) => String(c['@type']).endsWith('RoutesConfigDump')) as {
      dynamic_route_configs: Array<{ route_config: { name: string } }>;
    };
    expect(routes.dynamic_route_configs[0].route_config.name).toBe('routes');
    const listeners = dump.configs.find((c) => String(c['@type']).endsWith('ListenersConfigDump')) as {
      dynamic_listeners: Array<{ name: string }>;
    };
    expect(listeners.dynamic_listeners.map((l) => l.name)).toEqual(['web']);

    const stats = (await admin(proxy, '/stats')).body;
    expect(stats).toMatch(/^control_plane\.connected_state: 1$/m);
    expect(stats).toMatch(/^cluster_manager\.cds\.update_success: [1-9]/m);
    expect(stats).toMatch(/^listener_manager\.lds\.update_success: [1-9]/m);
    expect(stats).toMatch(/^http\.web\.rds\.routes\.update_success: 1$/m);
  });

  it('opens static listeners only once the first dynamic config is applied', async () => {
    const up = new RecordingServer((_req, res) => res.end('from svc'));
    await up.listen();
    cleanups.push(() => up.close());
    const cp = new TestControlPlane();
    await cp.start();
    cleanups.push(() => cp.kill());
    const staticPort = await freePort();
    const dynPort = await freePort();
    cp.set(CDS, 'svc', edsCluster('svc'));
    cp.set(EDS, 'svc', assignment('svc', [up.port]));
    cp.set(LDS, 'web', ldsListener('web', dynPort, 'routes'));
    // A static listener whose inline route names the dynamic cluster 'svc'.
    const staticListener = `
  listeners:
    - name: static_in
      address: { socket_address: { address: 127.0.0.1, port_value: ${staticPort} } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: static_in
                route_config:
                  validate_clusters: false
                  virtual_hosts: [{ name: all, domains: ["*"], routes: [{ match: { prefix: / }, route: { cluster: svc } }] }]
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }`;
    const yaml = bootstrap(cp.port, apiType).replace(
      'static_resources:\n',
      `static_resources:\n${staticListener}\n`,
    );
    const proxy = await start(yaml);
    await until(() => cp.acks.some((a) => a.typeUrl === LDS), 5000, 'LDS ACK');
    // Still warming (no routes yet): the static listener is not accepting.
    await expect(request(staticPort, {})).rejects.toThrow(/ECONNREFUSED/);
    cp.set(RDS, 'routes', routeConfig('routes', 'svc'));
    cp.push();
    expect(await waitReady(proxy)).toEqual({ status: 200, body: 'LIVE\n' });
    let body = '';
    for (let i = 0; i < 200 && body === ''; i++) {
      body = await request(staticPort, {}).then(
        (r) => r.body.toString(),
        () => new Promise<string>((r) => setTimeout(() => r(''), 10)),
      );
    }
    expect(body).toBe('from svc');
  });
});

describe('the persisted snapshot (--xds-snapshot-path)', () => {
  it('a proxy restarted while the control plane is down serves its last config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'remora-xds-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'snapshot.json');
    const up = new RecordingServer((_req, res) => res.end('remembered'));
    await up.listen();
    cleanups.push(() => up.close());
    const cp = new TestControlPlane();
    await cp.start();
    const port = await freePort();
    cp.set(CDS, 'svc', edsCluster('svc'));
    cp.set(EDS, 'svc', assignment('svc', [up.port]));
    cp.set(LDS, 'web', ldsListener('web', port, 'routes'));
    cp.set(RDS, 'routes', routeConfig('routes', 'svc'));
    const yaml = bootstrap(cp.port, 'GRPC');
    const first = await start(yaml, file);
    expect(await waitReady(first)).toEqual({ status: 200, body: 'LIVE\n' });
    // A graceful shutdown persists the snapshot (it is also written after each accepted update).
    await first.shutdown('restart');
    cp.kill();
    expect(existsSync(file)).toBe(true);

    const second = await start(yaml, file);
    expect(await waitReady(second)).toEqual({ status: 200, body: 'LIVE\n' });
    expect((await request(port, {})).body.toString()).toBe('remembered');
    const stats = (await admin(second, '/stats')).body;
    expect(stats).toMatch(/^control_plane\.connected_state: 0$/m);
  });
});

describe('bad dynamic_resources', () => {
  async function problems(yaml: string): Promise<string> {
    try {
      await start(yaml);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('startProxy accepted a bad bootstrap');
  }

  it('REST is refused with the field path', async () => {
    expect(await problems(bootstrap(1, 'REST'))).toMatch(
      /dynamic_resources\.ads_config\.api_type: must be GRPC or DELTA_GRPC/,
    );
  });

  it('an ADS cluster that is not a static cluster is refused', async () => {
    const yaml = bootstrap(1, 'GRPC').replace('cluster_name: xds } }]', 'cluster_name: nowhere } }]');
    expect(await problems(yaml)).toMatch(
      /grpc_services\[0\]\.envoy_grpc\.cluster_name: unknown cluster 'nowhere'/,
    );
  });

  it('an ADS cluster without HTTP/2 is refused', async () => {
    const yaml = bootstrap(1, 'GRPC').replace(/ {6}typed_extension_protocol_options:\n(.*\n){3}/, '');
    expect(await problems(yaml)).toMatch(/must speak HTTP\/2/);
  });

  it('a non-ADS lds_config is refused', async () => {
    const yaml = bootstrap(1, 'GRPC').replace(
      'lds_config: { ads: {}, resource_api_version: V3, initial_fetch_timeout: 5s }',
      'lds_config: { api_config_source: { api_type: GRPC } }',
    );
    expect(await problems(yaml)).toMatch(
      /dynamic_resources\.lds_config\.api_config_source: remora follows config over the ADS stream only/,
    );
  });
});
