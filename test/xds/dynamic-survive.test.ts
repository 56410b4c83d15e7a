/**
 * Surviving the control plane: the last accepted config keeps serving while the management server
 * is gone and the client reconnects when it returns; and (beyond Envoy) a proxy started while the
 * server is down serves from its persisted snapshot, then reconciles when the server comes back.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  staticCluster,
  type TestControlPlane,
  until,
} from './dynamic-harness.js';
import { freePort, startDynamicProxy, useDynamicScope } from './dynamic-proxy.js';

const { upstream, controlPlane, proxy, defer } = useDynamicScope();

async function body(port: number, path = '/'): Promise<string> {
  const r = await request(port, { path });
  return `${r.status} ${r.body.toString()}`;
}

function fill(cp: TestControlPlane, listenerPort: number, upPort: number, route = 'svc'): void {
  cp.set(CDS, 'svc', edsCluster('svc'));
  cp.set(EDS, 'svc', assignment('svc', [upPort]));
  cp.set(LDS, 'web', ldsListener('web', listenerPort, 'routes'));
  cp.set(RDS, 'routes', routeConfig('routes', route));
}

describe.each(['GRPC', 'DELTA_GRPC'] as const)('surviving the control plane over %s', (apiType) => {
  it('keeps serving while the server is gone, reconnects and follows it when it returns', async () => {
    const a = await upstream('a');
    const b = await upstream('b');
    const cp = await controlPlane();
    const port = await freePort();
    fill(cp, port, a.port);
    const p = proxy({ port: cp.port, apiType });
    await p.dynamic.whenInitialized();
    expect(await body(port)).toBe('200 a');

    cp.kill();
    await until(() => p.stats.gauge('control_plane.connected_state').value === 0, 5000, 'disconnected');
    for (let i = 0; i < 20; i++) expect(await body(port)).toBe('200 a');

    const back = await controlPlane(cp.port);
    fill(back, port, a.port);
    back.set(CDS, 'other', edsCluster('other'));
    back.set(EDS, 'other', assignment('other', [b.port]));
    back.set(RDS, 'routes', routeConfig('routes', 'other'));
    await until(() => p.stats.gauge('control_plane.connected_state').value === 1, 5000, 'reconnected');
    await until(() => p.clusters.get('other') !== undefined, 5000, 'new cluster after reconnect');
    await until(() => p.stats.counter('http.web.rds.routes.update_success').value >= 2, 5000, 'routes');
    expect(await body(port)).toBe('200 b');
    expect(p.stats.counter('cluster_manager.cds.update_failure').value).toBeGreaterThanOrEqual(1);
  });

  it('starts from its persisted snapshot while the server is down, then reconciles', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'remora-xds-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'xds.json');
    const a = await upstream('a');
    const b = await upstream('b');
    const cp = await controlPlane();
    const cpPort = cp.port;
    const port = await freePort();
    fill(cp, port, a.port);
    cp.set(CDS, 'legacy', edsCluster('legacy'));
    cp.set(EDS, 'legacy', assignment('legacy', [a.port]));
    const first = startDynamicProxy({ port: cpPort, apiType, snapshotPath: file });
    await first.dynamic.whenInitialized();
    await first.dynamic.flushSnapshot();
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { snapshots: Array<{ type_url: string }> };
    expect(saved.snapshots.map((s) => s.type_url).sort()).toEqual([CDS, EDS, LDS, RDS].sort());
    await first.close();
    cp.kill();

    // The management server is down: the new proxy serves what the snapshot holds.
    const p = proxy({ port: cpPort, apiType, snapshotPath: file, restoreAfterMs: 5000 });
    await p.dynamic.whenInitialized();
    expect(p.dynamic.initState()).toBe('initialized');
    expect(await body(port)).toBe('200 a');
    expect(p.clusters.get('legacy')).toBeDefined();
    expect(p.warnings.some((w) => w.includes('serving the persisted xDS snapshot'))).toBe(true);

    // It comes back with a different config: the proxy follows it (legacy removed, new route).
    const back = await controlPlane(cpPort);
    fill(back, port, b.port);
    await until(() => p.clusters.get('legacy') === undefined, 8000, 'legacy cluster removed');
    await until(() => p.clusters.get('svc')?.allHosts()[0]?.port === b.port, 5000, 'new endpoints');
    expect(await body(port)).toBe('200 b');
  });

  it('restores a big snapshot (1,500 STATIC clusters beside the EDS one) with its endpoints: CDS applied at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'remora-xds-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'xds.json');
    const a = await upstream('a');
    const cp = await controlPlane();
    const cpPort = cp.port;
    const port = await freePort();
    fill(cp, port, a.port);
    const n = 1500;
    for (let i = 0; i < n; i++) cp.set(CDS, `many-${i}`, staticCluster(`many-${i}`, a.port));
    const first = startDynamicProxy({ port: cpPort, apiType, snapshotPath: file });
    await first.dynamic.whenInitialized();
    expect(await body(port)).toBe('200 a');
    await first.dynamic.flushSnapshot();
    await first.close();
    cp.kill();

    // A short fetch timeout: had the EDS restore missed the subscription that the CDS restore
    // makes (a CDS applied in slices commits later), svc would serve with no endpoints: 503.
    const p = proxy({
      port: cpPort,
      apiType,
      snapshotPath: file,
      restoreAfterMs: 100,
      initialFetchTimeoutMs: 500,
    });
    await p.dynamic.whenInitialized();
    expect(await body(port)).toBe('200 a');
    expect(p.clusters.get('svc')?.allHosts().length).toBe(1);
    expect(p.clusters.get(`many-${n - 1}`)?.allHosts().length).toBe(1);
  });

  it('ignores an unreadable snapshot file and waits for the server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'remora-xds-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'xds.json');
    writeFileSync(file, '{"snapshots": 7}');
    const a = await upstream('a');
    const cp = await controlPlane();
    const port = await freePort();
    fill(cp, port, a.port);
    const p = proxy({ port: cp.port, apiType, snapshotPath: file });
    await p.dynamic.whenInitialized();
    expect(await body(port)).toBe('200 a');
    expect(p.warnings.some((w) => w.includes('unreadable xDS snapshot'))).toBe(true);
  });
});
