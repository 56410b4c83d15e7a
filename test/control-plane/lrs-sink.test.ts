/**
 * The control plane's LRS sink over real gRPC on loopback: reports from two proxies (remora's own
 * LRS client) aggregated per node, cluster and locality; per-node policies; a proxy leaving; a
 * stream that does not introduce itself; and the weighting decision fed by the reports.
 */
import { credentials, Metadata, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { LrsClient, lrsServiceDefinition } from '../../control-client/lrs.js';
import { decideClusterWeights, LoadReportingServer } from '../../control-plane/lrs/index.js';
import { LoadStatsStore } from '../../proxy/upstream/load-stats.js';
import { recordRequests, reportFrom, Waitable } from '../control-client/lrs-recorder.js';

const ZONE_A = { region: 'eu', zone: 'eu-1a', subZone: '' };
const ZONE_B = { region: 'eu', zone: 'eu-1b', subZone: '' };
const KEY_A = 'eu/eu-1a/';
const KEY_B = 'eu/eu-1b/';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

async function sinkOn(options: ConstructorParameters<typeof LoadReportingServer>[0]) {
  const sink = new LoadReportingServer(options);
  const port = await sink.listen('127.0.0.1', 0);
  cleanups.push(() => sink.close());
  return { sink, port };
}

function proxy(
  port: number,
  id: string,
  store: LoadStatsStore,
): { client: LrsClient; responses: Waitable<string[]> } {
  const responses = new Waitable<string[]>();
  const client = new LrsClient({
    target: `127.0.0.1:${port}`,
    node: { id },
    source: store,
    minReportIntervalMs: 10,
    backoff: { initialMs: 20, maxMs: 100 },
    hooks: { onResponse: (r) => responses.push(r.send_all_clusters ? ['*'] : r.clusters) },
  });
  cleanups.push(() => client.close());
  client.start();
  return { client, responses };
}

describe('LoadReportingServer', () => {
  it('aggregates the reports of two proxies per node, cluster and locality', async () => {
    const { sink, port } = await sinkOn({ policy: { clusters: ['backend'], intervalMs: 40 } });
    const requests = recordRequests(sink);
    const s1 = new LoadStatsStore();
    const s2 = new LoadStatsStore();
    const p1 = proxy(port, 'sidecar-1', s1);
    const p2 = proxy(port, 'sidecar-2', s2);
    await p1.responses.next();
    await p2.responses.next();
    expect(sink.connectedNodes()).toEqual(['sidecar-1', 'sidecar-2']);

    const a1 = s1.cluster('backend').countersFor(ZONE_A, 0);
    const b1 = s1.cluster('backend').countersFor(ZONE_B, 0);
    const a2 = s2.cluster('backend').countersFor(ZONE_A, 0);
    for (let i = 0; i < 10; i++) {
      a1.begin();
      a1.end(true);
    }
    b1.begin();
    b1.end(false);
    b1.begin(); // stays in flight
    for (let i = 0; i < 5; i++) {
      a2.begin();
      a2.end(i < 3);
    }
    a2.begin(); // stays in flight
    await requests.next(
      (r) =>
        reportFrom('sidecar-1')(r) && Number(r.request.cluster_stats[0].upstream_locality_stats.length) === 2,
    );
    await requests.next(
      (r) =>
        reportFrom('sidecar-2')(r) &&
        r.request.cluster_stats[0].upstream_locality_stats.some((l) => Number(l.total_issued_requests) > 0),
    );

    expect(sink.store.totals('sidecar-1', 'backend', KEY_A)).toEqual({
      issued: 10,
      success: 10,
      error: 0,
      inProgress: 0,
    });
    expect(sink.store.totals('sidecar-1', 'backend', KEY_B)).toEqual({
      issued: 2,
      success: 0,
      error: 1,
      inProgress: 1,
    });
    expect(sink.store.totals('sidecar-2', 'backend', KEY_A)).toEqual({
      issued: 6,
      success: 3,
      error: 2,
      inProgress: 1,
    });
    const window = sink.store.clusterWindow('backend');
    expect(window.get(KEY_A)).toMatchObject({
      issued: 16,
      success: 13,
      error: 2,
      inProgress: 1,
      reporters: 2,
    });
    expect(window.get(KEY_B)).toMatchObject({ issued: 2, success: 0, error: 1, inProgress: 1, reporters: 1 });
    expect(window.get(KEY_A)?.locality).toEqual({ region: 'eu', zone: 'eu-1a', sub_zone: '' });
    expect(sink.store.clusterNames()).toEqual(['backend']);
    const status = sink.store.status();
    expect(status.map((n) => [n.node, n.connected])).toEqual([
      ['sidecar-1', true],
      ['sidecar-2', true],
    ]);
    expect(sink.status()).toMatchObject({
      policy: { clusters: ['backend'], interval_ms: 40, endpoint_granularity: false },
      window_ms: 30_000,
      connected: ['sidecar-1', 'sidecar-2'],
    });
    expect(status[0].clusters.backend.localities[KEY_B]).toEqual({
      issued: 2,
      success: 0,
      error: 1,
      in_progress: 1,
    });

    // sidecar-2 goes away: its in-flight level no longer counts; its window counts stay.
    p2.client.close();
    const deadline = Date.now() + 3000;
    while (sink.connectedNodes().length !== 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10)); // bounded poll of a condition
    }
    expect(sink.connectedNodes()).toEqual(['sidecar-1']);
    expect(sink.store.clusterWindow('backend').get(KEY_A)).toMatchObject({ issued: 16, inProgress: 0 });
    expect(sink.store.status().find((n) => n.node === 'sidecar-2')?.connected).toBe(false);
  });

  it('sends each node its own policy, and setPolicy reaches every connected proxy', async () => {
    const { sink, port } = await sinkOn({
      policy: { clusters: ['x'], intervalMs: 1000 },
      policyFor: (node) => (node.id === 'special' ? { clusters: 'all', intervalMs: 1000 } : undefined),
    });
    const plain = proxy(port, 'plain', new LoadStatsStore());
    const special = proxy(port, 'special', new LoadStatsStore());
    expect(await plain.responses.next()).toEqual(['x']);
    expect(await special.responses.next()).toEqual(['*']);
    sink.setPolicy({ clusters: ['y', 'z'], intervalMs: 500 });
    expect(await plain.responses.next()).toEqual(['y', 'z']);
    expect(await special.responses.next()).toEqual(['*']);
    expect(plain.client.reporting?.intervalMs).toBe(500);
    expect(() => sink.setPolicy({ clusters: 'all', intervalMs: 0 })).toThrow(RangeError);
  });

  it('ends a stream whose first request has no node id with INVALID_ARGUMENT', async () => {
    const { sink, port } = await sinkOn({ policy: { clusters: 'all', intervalMs: 1000 } });
    const Ctor = makeGenericClientConstructor(lrsServiceDefinition(), 'LoadReportingService');
    const raw = new Ctor(`127.0.0.1:${port}`, credentials.createInsecure());
    cleanups.push(() => raw.close());
    const call = (
      raw as unknown as Record<string, (m: Metadata) => NodeJS.EventEmitter & { write(m: object): void }>
    ).StreamLoadStats.call(raw, new Metadata());
    const ended = new Promise<ServiceError>((resolve) => call.on('error', resolve));
    const data: object[] = [];
    call.on('data', (d: object) => data.push(d));
    call.write({ node: { cluster: 'no-id' }, cluster_stats: [{ cluster_name: 'x' }] });
    const err = await ended;
    expect(err.code).toBe(3);
    expect(err.details).toMatch(/must carry node.id/);
    expect(data).toEqual([]);
    expect(sink.connectedNodes()).toEqual([]);
    expect(sink.store.nodeIds()).toEqual([]);
  });

  it('ignores cluster stats without a cluster name and takes stats in the introduction', async () => {
    const { sink, port } = await sinkOn({ policy: { clusters: 'all', intervalMs: 1000 } });
    const requests = recordRequests(sink);
    const Ctor = makeGenericClientConstructor(lrsServiceDefinition(), 'LoadReportingService');
    const raw = new Ctor(`127.0.0.1:${port}`, credentials.createInsecure());
    cleanups.push(() => raw.close());
    const call = (
      raw as unknown as Record<
        string,
        (m: Metadata) => NodeJS.EventEmitter & { write(m: object): void; cancel(): void }
      >
    ).StreamLoadStats.call(raw, new Metadata());
    cleanups.push(() => call.cancel());
    call.on('error', () => {});
    const answered = new Promise<object>((resolve) => call.on('data', resolve));
    const locality = { region: 'r', zone: 'z', sub_zone: '' };
    call.write({
      node: { id: 'raw-1' },
      cluster_stats: [
        { cluster_name: '', upstream_locality_stats: [{ locality, total_issued_requests: 5 }] },
        { cluster_name: 'named', upstream_locality_stats: [{ locality, total_issued_requests: 7 }] },
      ],
    });
    expect(await answered).toMatchObject({ send_all_clusters: true });
    await requests.next((r) => r.nodeId === 'raw-1' && r.first);
    expect(sink.store.clusterNames()).toEqual(['named']);
    expect(sink.store.totals('raw-1', 'named', 'r/z/')).toMatchObject({ issued: 7 });
  });

  it('shifts weight away from a locality the proxies report as failing', async () => {
    const { sink, port } = await sinkOn({ policy: { clusters: ['backend'], intervalMs: 40 } });
    const requests = recordRequests(sink);
    const s1 = new LoadStatsStore();
    const s2 = new LoadStatsStore();
    const p1 = proxy(port, 'sidecar-1', s1);
    const p2 = proxy(port, 'sidecar-2', s2);
    await p1.responses.next();
    await p2.responses.next();
    for (const s of [s1, s2]) {
      const a = s.cluster('backend').countersFor(ZONE_A, 0);
      const b = s.cluster('backend').countersFor(ZONE_B, 0);
      for (let i = 0; i < 50; i++) {
        a.begin();
        a.end(true);
        b.begin();
        b.end(i % 2 === 0); // zone b fails half its requests
      }
    }
    for (const id of ['sidecar-1', 'sidecar-2']) {
      await requests.next(
        (r) =>
          reportFrom(id)(r) &&
          r.request.cluster_stats[0].upstream_locality_stats.some((l) => Number(l.total_issued_requests) > 0),
      );
    }
    const configured = new Map([
      [KEY_A, 1],
      [KEY_B, 1],
    ]);
    const decisions = decideClusterWeights(sink.store, 'backend', configured);
    const a = decisions.find((d) => d.key === KEY_A)!;
    const b = decisions.find((d) => d.key === KEY_B)!;
    expect(b.errorRate).toBeCloseTo(0.5, 5);
    expect(a.weight).toBeGreaterThan(3 * b.weight);
    expect(b.share).toBeGreaterThanOrEqual(0.05);
  });
});
