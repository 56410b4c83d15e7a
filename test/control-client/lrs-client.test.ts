/**
 * The LRS client against remora's LRS sink over real gRPC on loopback: the introduction, the
 * server's choice of clusters and interval, reports whose counts are what the proxy's counters
 * recorded (and only once), send_all_clusters, a changed policy, and a server that goes away and
 * comes back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  durationToMs,
  type LoadSource,
  type LoadStatsResponse,
  LRS_SEND_ALL_CLUSTERS_FEATURE,
  LrsClient,
  type LrsClientOptions,
  type UpstreamLocalityStatsMessage,
} from '../../control-client/lrs.js';
import {
  LoadReportingServer,
  type ReceivedLoadRequest,
  type ReportingPolicy,
} from '../../control-plane/lrs/index.js';
import { LoadStatsStore } from '../../proxy/upstream/load-stats.js';
import { recordRequests, reportFrom, Waitable } from './lrs-recorder.js';

const ZONE_A = { region: 'eu', zone: 'eu-1a', subZone: '' };
const ZONE_B = { region: 'eu', zone: 'eu-1b', subZone: '' };

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

async function startSink(
  policy: ReportingPolicy,
  port = 0,
): Promise<{ sink: LoadReportingServer; port: number }> {
  const sink = new LoadReportingServer({ policy });
  const bound = await sink.listen('127.0.0.1', port);
  cleanups.push(() => sink.close());
  return { sink, port: bound };
}

interface ClientEvents {
  readonly responses: Waitable<LoadStatsResponse>;
  readonly warnings: Waitable<string>;
  readonly closed: Waitable<number>;
}

function startClient(
  port: number,
  source: LoadSource,
  extra: Partial<LrsClientOptions> = {},
): { client: LrsClient; events: ClientEvents } {
  const events: ClientEvents = {
    responses: new Waitable(),
    warnings: new Waitable(),
    closed: new Waitable(),
  };
  const client = new LrsClient({
    target: `127.0.0.1:${port}`,
    node: { id: 'sidecar-1', cluster: 'web', locality: { region: 'eu', zone: 'eu-1a' } },
    source,
    backoff: { initialMs: 20, maxMs: 100 },
    minReportIntervalMs: 10,
    // The channel's own reconnect backoff must not outlast the test either.
    channelOptions: { 'grpc.initial_reconnect_backoff_ms': 20, 'grpc.max_reconnect_backoff_ms': 100 },
    hooks: {
      onResponse: (r) => events.responses.push(r),
      onWarning: (m) => events.warnings.push(m),
      onStreamClosed: (s) => events.closed.push(s.code),
    },
    ...extra,
  });
  cleanups.push(() => client.close());
  client.start();
  return { client, events };
}

function locality(
  r: ReceivedLoadRequest,
  cluster: string,
  zone: string,
): UpstreamLocalityStatsMessage | undefined {
  const cs = r.request.cluster_stats.find((c) => c.cluster_name === cluster);
  return cs?.upstream_locality_stats.find((l) => l.locality?.zone === zone);
}

function counts(l: UpstreamLocalityStatsMessage | undefined) {
  if (l === undefined) return undefined;
  return {
    issued: Number(l.total_issued_requests),
    success: Number(l.total_successful_requests),
    error: Number(l.total_error_requests),
    inProgress: Number(l.total_requests_in_progress),
  };
}

describe('LrsClient', () => {
  it('introduces itself, then reports the requested clusters every interval with counts reset between reports', async () => {
    const { sink, port } = await startSink({ clusters: ['backend'], intervalMs: 100 });
    const requests = recordRequests(sink);
    const store = new LoadStatsStore();
    const backend = store.cluster('backend', 'backend-eds');
    const other = store.cluster('other');
    const a = backend.countersFor(ZONE_A, 0);
    const b = backend.countersFor(ZONE_B, 0);
    other.countersFor(ZONE_A, 0).begin();
    // Load from before the server asked for the cluster is not reported.
    a.begin();
    a.end(true);

    const { events } = startClient(port, store);
    const hello = await requests.next((r) => r.first, 3000, 'introduction');
    expect(hello.nodeId).toBe('sidecar-1');
    expect(hello.request.node?.cluster).toBe('web');
    expect(hello.request.node?.locality).toEqual({ region: 'eu', zone: 'eu-1a', sub_zone: '' });
    expect(hello.request.node?.client_features).toContain(LRS_SEND_ALL_CLUSTERS_FEATURE);
    expect(hello.request.cluster_stats).toEqual([]);
    const response = await events.responses.next();
    expect(response.clusters).toEqual(['backend']);
    expect(durationToMs(response.load_reporting_interval)).toBe(100);

    // What the router would record during the first interval.
    for (let i = 0; i < 4; i++) a.begin();
    a.end(true);
    a.end(true);
    a.end(false);
    b.begin();
    b.end(true);
    const first = await requests.next(reportFrom('sidecar-1'), 3000, 'first report');
    expect(first.request.cluster_stats.map((c) => c.cluster_name)).toEqual(['backend']);
    const cs = first.request.cluster_stats[0];
    expect(cs.cluster_service_name).toBe('backend-eds');
    const interval = durationToMs(cs.load_report_interval);
    expect(interval).toBeGreaterThanOrEqual(90);
    expect(interval).toBeLessThan(2000);
    expect(counts(locality(first, 'backend', 'eu-1a'))).toEqual({
      issued: 4,
      success: 2,
      error: 1,
      inProgress: 1,
    });
    expect(counts(locality(first, 'backend', 'eu-1b'))).toEqual({
      issued: 1,
      success: 1,
      error: 0,
      inProgress: 0,
    });
    expect(first.request.node?.id).toBe('sidecar-1'); // in every request, as Envoy sends it

    // The request still in flight finishes; nothing else happens.
    a.end(true);
    const second = await requests.next(reportFrom('sidecar-1'), 3000, 'second report');
    expect(counts(locality(second, 'backend', 'eu-1a'))).toEqual({
      issued: 0,
      success: 1,
      error: 0,
      inProgress: 0,
    });
    // An idle locality is left out (absence means zero), as Envoy reports.
    expect(locality(second, 'backend', 'eu-1b')).toBeUndefined();
    // An idle cluster is still reported, with the interval it covers and no localities.
    const third = await requests.next(reportFrom('sidecar-1'), 3000, 'third report');
    expect(third.request.cluster_stats.map((c) => c.cluster_name)).toEqual(['backend']);
    expect(third.request.cluster_stats[0].upstream_locality_stats).toEqual([]);
    expect(durationToMs(third.request.cluster_stats[0].load_report_interval)).toBeGreaterThanOrEqual(90);
    // What the sink added up for this node is exactly what was recorded after the response.
    expect(sink.store.totals('sidecar-1', 'backend', 'eu/eu-1a/')).toEqual({
      issued: 4,
      success: 3,
      error: 1,
      inProgress: 0,
    });
  });

  it('send_all_clusters reports every cluster, including one that appears later', async () => {
    const { sink, port } = await startSink({ clusters: 'all', intervalMs: 50 });
    const requests = recordRequests(sink);
    const store = new LoadStatsStore();
    const x = store.cluster('x').countersFor(ZONE_A, 0);
    const y = store.cluster('y').countersFor(ZONE_B, 0);
    const { events } = startClient(port, store);
    expect((await events.responses.next()).send_all_clusters).toBe(true);
    x.begin();
    y.begin();
    y.end(false);
    const r = await requests.next(reportFrom('sidecar-1'));
    expect(r.request.cluster_stats.map((c) => c.cluster_name).sort()).toEqual(['x', 'y']);
    expect(counts(locality(r, 'x', 'eu-1a'))).toMatchObject({ issued: 1, inProgress: 1 });
    expect(counts(locality(r, 'y', 'eu-1b'))).toMatchObject({ issued: 1, error: 1 });

    const late = store.cluster('late').countersFor(ZONE_B, 0);
    late.begin();
    late.end(true);
    const withLate = await requests.next(
      (q) => reportFrom('sidecar-1')(q) && locality(q, 'late', 'eu-1b') !== undefined,
    );
    expect(counts(locality(withLate, 'late', 'eu-1b'))).toEqual({
      issued: 1,
      success: 1,
      error: 0,
      inProgress: 0,
    });
  });

  it('a new response replaces the set of clusters and the interval; clusters new to the set start from zero', async () => {
    const { sink, port } = await startSink({ clusters: ['x'], intervalMs: 50 });
    const requests = recordRequests(sink);
    const store = new LoadStatsStore();
    const x = store.cluster('x').countersFor(ZONE_A, 0);
    const y = store.cluster('y').countersFor(ZONE_A, 0);
    const { client, events } = startClient(port, store);
    await events.responses.next();
    x.begin();
    await requests.next((q) => reportFrom('sidecar-1')(q) && counts(locality(q, 'x', 'eu-1a'))?.issued === 1);

    y.begin(); // before y is asked for: discarded
    y.end(true);
    sink.setPolicy({ clusters: ['y'], intervalMs: 30 });
    const changed = await events.responses.next();
    expect(changed.clusters).toEqual(['y']);
    expect(client.reporting).toEqual({ clusters: ['y'], intervalMs: 30, endpointGranularity: false });
    y.begin();
    requests.drain();
    const r = await requests.next(reportFrom('sidecar-1'));
    expect(r.request.cluster_stats.map((c) => c.cluster_name)).toEqual(['y']);
    expect(counts(locality(r, 'y', 'eu-1a'))).toEqual({ issued: 1, success: 0, error: 0, inProgress: 1 });
    expect(durationToMs(r.request.cluster_stats[0].load_report_interval)).toBeLessThan(1000);
  });

  it('report_endpoint_granularity adds per-endpoint stats from the host counters', async () => {
    const { sink, port } = await startSink({ clusters: ['x'], intervalMs: 50, endpointGranularity: true });
    const requests = recordRequests(sink);
    const store = new LoadStatsStore();
    const { Host } = await import('../../proxy/upstream/host.js');
    const h = new Host({ address: '127.0.0.9', port: 8080, locality: ZONE_A });
    const stats = store.cluster('x');
    stats.setHosts([h]);
    const { events } = startClient(port, store);
    await events.responses.next();
    stats.countersFor(ZONE_A, 0).begin();
    h.rqTotal++;
    h.rqActive++;
    const r = await requests.next(
      (q) => reportFrom('sidecar-1')(q) && counts(locality(q, 'x', 'eu-1a'))?.issued === 1,
    );
    expect(locality(r, 'x', 'eu-1a')?.upstream_endpoint_stats).toMatchObject([
      {
        address: { socket_address: { address: '127.0.0.9', port_value: 8080 } },
        total_successful_requests: 0,
        total_requests_in_progress: 1,
        total_error_requests: 0,
        total_issued_requests: 1,
        load_metric_stats: [],
      },
    ]);
  });

  it('reconnects after the server goes away; the load of the gap comes in the first report to the new server', async () => {
    const first = await startSink({ clusters: ['x'], intervalMs: 50 });
    const store = new LoadStatsStore();
    const x = store.cluster('x').countersFor(ZONE_A, 0);
    const firstRequests = recordRequests(first.sink);
    const { client, events } = startClient(first.port, store);
    await events.responses.next();
    await firstRequests.next(reportFrom('sidecar-1'));
    expect(client.connected).toBe(true);

    first.sink.close();
    await events.closed.next();
    expect(client.connected).toBe(false);
    // Load while no server listens.
    x.begin();
    x.begin();
    x.end(false);

    const second = await startSink({ clusters: ['x'], intervalMs: 50 }, first.port);
    const secondRequests = recordRequests(second.sink);
    const hello = await secondRequests.next((r) => r.first, 5000, 'introduction to the new server');
    expect(hello.request.cluster_stats).toEqual([]);
    const report = await secondRequests.next(reportFrom('sidecar-1'), 5000, 'report to the new server');
    expect(counts(locality(report, 'x', 'eu-1a'))).toEqual({
      issued: 2,
      success: 0,
      error: 1,
      inProgress: 1,
    });
    expect(client.connected).toBe(true);
    expect(client.stats.errors).toBeGreaterThanOrEqual(1);
    expect(client.stats.retries).toBeGreaterThanOrEqual(1);
  });

  it('raises a too-short interval to its minimum and warns', async () => {
    const { sink, port } = await startSink({ clusters: ['x'], intervalMs: 1 });
    const requests = recordRequests(sink);
    const store = new LoadStatsStore();
    store.cluster('x').countersFor(ZONE_A, 0);
    const { client, events } = startClient(port, store, { minReportIntervalMs: 80 });
    await events.responses.next();
    expect(await events.warnings.next()).toMatch(/load_reporting_interval 1 ms raised to 80 ms/);
    expect(client.reporting?.intervalMs).toBe(80);
    const t0 = Date.now();
    await requests.next(reportFrom('sidecar-1'));
    await requests.next(reportFrom('sidecar-1'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  });

  it('lowers an interval longer than a timer can wait, instead of reporting in a loop', async () => {
    const { sink, port } = await startSink({ clusters: ['x'], intervalMs: 40 * 24 * 3600 * 1000 });
    const requests = recordRequests(sink);
    const store = new LoadStatsStore();
    store.cluster('x').countersFor(ZONE_A, 0).begin();
    const { client, events } = startClient(port, store);
    await events.responses.next();
    expect(await events.warnings.next()).toMatch(/lowered to 2147483647 ms/);
    expect(client.reporting?.intervalMs).toBe(2 ** 31 - 1);
    // Silence is the expected outcome: give a busy loop 150 ms to show itself.
    await expect(requests.next(reportFrom('sidecar-1'), 150)).rejects.toThrow(/no matching/);
    expect(client.stats.reports).toBe(0);
  });

  it('a load source that throws for one cluster costs only that cluster', async () => {
    const { sink, port } = await startSink({ clusters: 'all', intervalMs: 30 });
    const requests = recordRequests(sink);
    const store = new LoadStatsStore();
    store.cluster('good').countersFor(ZONE_A, 0).begin();
    const source: LoadSource = {
      clusterNames: () => ['good', 'bad'],
      snapshot: (name, options) => {
        if (name === 'bad') throw new Error('boom');
        return store.snapshot(name, options);
      },
    };
    const { events } = startClient(port, source);
    const r = await requests.next(reportFrom('sidecar-1'));
    expect(r.request.cluster_stats.map((c) => c.cluster_name)).toEqual(['good']);
    expect(await events.warnings.next((w) => w.includes('bad'))).toMatch(
      /load source failed for cluster bad: boom/,
    );
  });

  it('keeps retrying an unreachable server without reporting, and close() stops it', async () => {
    // A port that was bound and released: nothing listens there.
    const { sink, port } = await startSink({ clusters: 'all', intervalMs: 30 });
    sink.close();
    const store = new LoadStatsStore();
    const { client, events } = startClient(port, store);
    await events.closed.next();
    await events.closed.next();
    expect(client.stats.retries).toBeGreaterThanOrEqual(1);
    expect(client.stats.reports).toBe(0);
    expect(client.stats.responses).toBe(0);
    expect(client.connected).toBe(false);
    client.close();
    const retries = client.stats.retries;
    expect(client.reporting).toBeNull();
    // close() is final: no timer is left to start another stream.
    client.start();
    expect(client.stats.retries).toBe(retries);
  });
});
