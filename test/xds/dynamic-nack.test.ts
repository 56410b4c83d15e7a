/**
 * Bad resources over xDS: each is NACKed with a message naming the resource and field, the
 * previous config keeps serving unchanged, and the rejection is counted under Envoy's stat names.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { RecordingServer, request } from '../helpers/http.js';
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
} from './dynamic-harness.js';
import { type DynamicProxy, freePort, startDynamicProxy } from './dynamic-proxy.js';

let up: RecordingServer;
let cp: TestControlPlane;
let p: DynamicProxy;
let port: number;

beforeEach(async () => {
  up = new RecordingServer((_req, res) => res.end('ok'));
  await up.listen();
  cp = new TestControlPlane();
  await cp.start();
  port = await freePort();
  cp.set(CDS, 'svc', edsCluster('svc'));
  cp.set(EDS, 'svc', assignment('svc', [up.port]));
  cp.set(LDS, 'web', ldsListener('web', port, 'routes'));
  cp.set(RDS, 'routes', routeConfig('routes', 'svc'));
  p = startDynamicProxy({ port: cp.port });
  await p.dynamic.whenInitialized();
});

afterEach(async () => {
  await p.close();
  cp.kill();
  await up.close();
});

async function status(path = '/'): Promise<number> {
  return (await request(port, { path })).status;
}

async function expectNack(typeUrl: string, pattern: RegExp): Promise<string> {
  await until(() => cp.nacks.some((n) => n.typeUrl === typeUrl), 5000, `NACK for ${typeUrl}`);
  const nack = cp.nacks.find((n) => n.typeUrl === typeUrl);
  expect(nack?.message).toMatch(pattern);
  return nack?.message ?? '';
}

describe('NACK of bad resources', () => {
  it('an invalid regex in a route: NACKed, the old routes keep serving', async () => {
    const bad = routeConfig('routes', 'svc', [
      { match: { safe_regex: { regex: 'a(' } }, route: { cluster: 'svc' } },
    ]);
    cp.set(RDS, 'routes', bad);
    cp.push();
    await expectNack(RDS, /^routes: virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: /);
    expect(await status()).toBe(200);
    expect(p.stats.counter('http.web.rds.routes.update_rejected').value).toBe(1);
    expect(p.dynamic.dumpRoutes()[0].proto).not.toHaveProperty('virtual_hosts.0.routes.1');
  });

  it('CR/LF in a header value to add: NACKed with the field path', async () => {
    const bad = routeConfig('routes', 'svc');
    (bad.virtual_hosts as ProtoObject[])[0].request_headers_to_add = [
      { header: { key: 'x-evil', value: 'a\r\nInjected: yes' } },
    ];
    cp.set(RDS, 'routes', bad);
    cp.push();
    const msg = await expectNack(RDS, /request_headers_to_add\[0\]/);
    expect(msg.startsWith('routes: ')).toBe(true);
    const r = await request(port, {});
    expect(r.status).toBe(200);
    expect(up.seen.at(-1)?.headers['x-evil']).toBeUndefined();
  });

  it('an HTTP filter with a typed_config remora has no filter for: the listener update is NACKed', async () => {
    const bad = ldsListener('web', port, 'routes', {
      http_filters: [
        // A message type remora knows, but no HTTP filter is registered for it.
        {
          name: 'mystery',
          typed_config: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: 'x' },
        },
        {
          name: 'envoy.filters.http.router',
          typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
        },
      ],
    });
    cp.set(LDS, 'web', bad);
    cp.push();
    await expectNack(LDS, /^web: filter_chains\[0\]\.filters\[0\]\.typed_config\.http_filters\[0\]/);
    expect(p.stats.counter('listener_manager.lds.update_rejected').value).toBe(1);
    expect(p.stats.counter('listener_manager.listener_modified').value).toBe(0);
    expect(await status()).toBe(200);
  });

  it('a route naming a cluster CDS has not sent is accepted (Envoy does not validate RDS clusters) and answers 503', async () => {
    cp.set(
      RDS,
      'routes',
      routeConfig('routes', 'svc', [{ match: { prefix: '/later' }, route: { cluster: 'later' } }]),
    );
    cp.push();
    await until(
      () => p.stats.counter('http.web.rds.routes.update_success').value === 2,
      5000,
      'route accepted',
    );
    expect(cp.nacks).toEqual([]);
    expect(await status('/later')).toBe(503);
    expect(await status('/')).toBe(200);
  });

  it('a cluster of an unsupported form and a bad endpoint address are NACKed; the cluster keeps its hosts', async () => {
    cp.set(CDS, 'svc', edsCluster('svc', { eds_cluster_config: { service_name: 'svc' } }));
    cp.push();
    await expectNack(CDS, /^svc: eds_cluster_config\.eds_config: is required/);
    expect(p.stats.counter('cluster_manager.cds.update_rejected').value).toBe(1);
    cp.set(EDS, 'svc', assignment('svc', [up.port]));
    const badEndpoints = assignment('svc', [up.port]);
    (
      ((badEndpoints.endpoints as ProtoObject[])[0].lb_endpoints as ProtoObject[])[0].endpoint as ProtoObject
    ).address = { socket_address: { address: 'not-an-ip', port_value: 1 } };
    cp.set(EDS, 'svc', badEndpoints);
    cp.push();
    await expectNack(EDS, /^svc: endpoints\[0\]\.lb_endpoints\[0\]/);
    expect(p.stats.counter('cluster.svc.update_rejected').value).toBe(1);
    expect(
      p.clusters
        .get('svc')
        ?.allHosts()
        .map((h) => h.port),
    ).toEqual([up.port]);
    expect(await status()).toBe(200);
  });
});
