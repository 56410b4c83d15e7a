/**
 * Global load balancing end to end: the reference control plane (--lrs) and a whole remora proxy
 * (startProxy, with only a dynamic bootstrap whose cluster_manager.load_stats_config names the
 * ADS cluster), a service with one upstream in zone A and one in zone B, and B answering 503.
 * The proxy reports the 503s as errors of zone B; the control plane's balancer moves B's locality
 * weight down in the EDS resource it pushes; the proxy follows it (locality-weighted balancing), so
 * the traffic split through the proxy moves away from the failing zone.
 */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningControlPlane } from '../../control-plane/control-plane.js';
import { startControlPlane } from '../../control-plane/control-plane.js';
import { CLUSTER_TYPE, ENDPOINT_TYPE } from '../../control-plane/type-urls.js';
import { parseArgs } from '../../proxy/cli-options.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { startProxy } from '../../proxy/main.js';
import { RecordingServer, request } from '../helpers/http.js';
import { adsBootstrap } from '../xds/ads-bootstrap.js';
import { freePort } from '../xds/dynamic-proxy.js';
import { getJson, MeshDir, waitFor } from './helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function upstream(status: () => number, body: string): Promise<number> {
  const s = new RecordingServer((_req, res) => {
    res.statusCode = status();
    res.end(body);
  });
  await s.listen();
  cleanups.push(() => s.close());
  return s.port;
}

function meshText(listenerPort: number, okPort: number, badPort: number): string {
  return `services:
  - name: backend
    endpoints:
      - {address: 127.0.0.1, port: ${okPort}, locality: {region: r1, zone: A}}
      - {address: 127.0.0.1, port: ${badPort}, locality: {region: r1, zone: B}}
routes:
  - name: main
    rules: [{prefix: /, to: backend, timeout: 2s}]
listeners:
  - {name: web, address: 127.0.0.1, port: ${listenerPort}, routes: main}
`;
}

function bootstrap(xdsPort: number): string {
  return adsBootstrap({
    xdsPort,
    node: '{ id: sidecar-gb, cluster: web, locality: { region: r1, zone: A } }',
    extra: `cluster_manager:
  load_stats_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services: [{ envoy_grpc: { cluster_name: xds } }]
`,
  });
}

/** load_balancing_weight per zone in the EDS resource the control plane serves for `cluster`. */
function servedWeights(cp: RunningControlPlane, cluster: string): Map<string, number> {
  const eds = cp.ads.snapshot.resources(ENDPOINT_TYPE).get(cluster);
  const out = new Map<string, number>();
  for (const e of (eds?.proto.endpoints ?? []) as ProtoObject[]) {
    const zone = String((e.locality as ProtoObject).zone);
    out.set(zone, Number(e.load_balancing_weight));
  }
  return out;
}

function shareOfB(w: ReadonlyMap<string, number>): number {
  return (w.get('B') ?? 0) / ((w.get('A') ?? 0) + (w.get('B') ?? 0));
}

/** `n` requests over `concurrency` keep-alive connections; status → count. */
async function send(port: number, n: number, concurrency: number): Promise<Map<number, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const counts = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const r = await request(port, { path: '/', agent });
      counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return counts;
}

describe('global load balancing from reported load (LRS)', () => {
  it('moves the locality weights, and the traffic, away from a zone answering 503', async () => {
    let zoneBStatus = 503;
    const okPort = await upstream(() => 200, 'a');
    const badPort = await upstream(() => zoneBStatus, 'b');
    const listenerPort = await freePort();
    const mesh = new MeshDir();
    cleanups.push(() => mesh.remove());
    mesh.write(meshText(listenerPort, okPort, badPort));
    const cp = await startControlPlane({
      meshPath: mesh.path,
      address: '127.0.0.1',
      xdsPort: 0,
      statusPort: 0,
      debounceMs: 20,
      lrs: { intervalMs: 100, windowMs: 1500 },
    });
    cleanups.push(() => cp.close());

    // Served before any load: LRS on this server, locality weighting on, the configured split.
    const cds = cp.ads.snapshot.resources(CLUSTER_TYPE).get('backend')?.proto;
    expect(cds?.lrs_server).toEqual({ self: {} });
    expect(cds?.common_lb_config).toEqual({ locality_weighted_lb_config: {} });
    const before = servedWeights(cp, 'backend');
    expect(before.get('A')).toBe(before.get('B'));

    const parsed = parseArgs([
      '--config-yaml',
      bootstrap(cp.xdsPort),
      '--drain-time-s',
      '0',
      '--log-level',
      'error',
    ]);
    if (parsed.kind !== 'run') throw new Error(parsed.kind);
    const proxy = await startProxy(parsed.options);
    cleanups.push(() => proxy.shutdown('test'));
    let lastProbe = '';
    await waitFor(
      'the proxy serving the mesh listener',
      async () => {
        const r = await request(listenerPort, { path: '/' }).catch(() => null);
        lastProbe = r === null ? 'refused' : `${r.status} ${r.body.toString().slice(0, 100)}`;
        return r !== null && (r.status === 200 || r.status === 503);
      },
      10_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message} (last answer: ${lastProbe})`);
    });
    expect(lastProbe).toMatch(/^(200|503) /);
    await waitFor(
      'the proxy reporting load',
      () => cp.balancing?.lrs.connectedNodes().includes('sidecar-gb') ?? false,
    );

    // Even split at first: zone B's 503s come back to the client (no retries in this mesh).
    // (The balancer needs 20 completed requests of a zone before it judges its error rate, so
    // these 40 are split by the configured weights.)
    const first = await send(listenerPort, 40, 4);
    expect(first.get(503) ?? 0).toBeGreaterThanOrEqual(15);

    // Traffic until the control plane has moved B's weight down (bounded in requests and time).
    const deadline = Date.now() + 10_000;
    for (let i = 0; i < 100 && Date.now() < deadline; i++) {
      const w = servedWeights(cp, 'backend');
      if ((w.get('B') ?? 0) * 10 < (w.get('A') ?? 0)) break;
      await send(listenerPort, 20, 4);
    }
    const after = servedWeights(cp, 'backend');
    expect(after.get('B')! * 10).toBeLessThan(after.get('A')!);
    // The floor keeps probing the failing zone (minShare, 5 % by default).
    expect(after.get('B')).toBeGreaterThan(0);

    const status = (await getJson(cp.statusPort, '/status')) as {
      load_reporting: {
        connected: string[];
        weights: Record<string, Array<{ locality: string; error_rate: number }>>;
      };
    };
    expect(status.load_reporting.connected).toContain('sidecar-gb');
    const b = status.load_reporting.weights.backend.find((d) => d.locality === 'r1/B/');
    expect(b?.error_rate).toBe(1);

    // The proxy follows the pushed weights: most traffic now goes to zone A.
    let last = new Map<number, number>();
    for (let i = 0; i < 50 && Date.now() < deadline + 5000; i++) {
      last = await send(listenerPort, 100, 4);
      if ((last.get(503) ?? 0) <= 15) break;
    }
    expect(last.get(200) ?? 0).toBeGreaterThanOrEqual(85);
    expect(last.get(503) ?? 0).toBeLessThanOrEqual(15);

    // Zone B recovers: its 5 % floor keeps probing it, its errors leave the window, and its weight
    // comes back to about the configured even split (the in-flight load of the moment moves it a
    // little either way; bounded in requests and time).
    zoneBStatus = 200;
    const recovery = Date.now() + 15_000;
    for (let i = 0; i < 500 && Date.now() < recovery; i++) {
      const w = servedWeights(cp, 'backend');
      if (shareOfB(w) >= 0.45) break;
      await send(listenerPort, 40, 4);
    }
    const recovered = servedWeights(cp, 'backend');
    expect(shareOfB(recovered)).toBeGreaterThanOrEqual(0.45);
  });
});
