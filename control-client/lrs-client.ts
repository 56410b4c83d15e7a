/**
 * The load reporting client (Envoy's LRS, envoy.service.load_stats.v3.StreamLoadStats).
 *
 *   const lrs = new LrsClient({ target: '127.0.0.1:18000', node: { id: 'sidecar-1' }, source });
 *   lrs.start();
 *   ...
 *   lrs.close();
 *
 * The conversation, as Envoy holds it:
 * 1. The client opens the stream and sends a LoadStatsRequest with its node and no stats.
 * 2. The server answers with a LoadStatsResponse: the clusters it wants (or send_all_clusters) and
 *    load_reporting_interval. Each response replaces the previous one and restarts the period.
 *    Clusters new to the set start from zero (their earlier load is discarded), so their first
 *    report covers one interval; clusters already reported keep counting.
 * 3. Every interval the client sends the load of each cluster since its previous report, with the
 *    time actually covered in load_report_interval.
 * 4. When the stream ends for any reason, the client stops reporting and reconnects after an
 *    exponential backoff (reset when a response arrives). Load keeps accumulating meanwhile, so the
 *    first report on the new stream covers the gap, and says so in its interval.
 *
 * Beyond Envoy: with send_all_clusters, a cluster that appears between two responses is reported
 * from the next report on (its first report covers the time since it appeared).
 *
 * As Envoy: every requested cluster is in every report, idle or not; a locality is in it only when
 * something was issued, completed or in flight there.
 */
import {
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientDuplexStream,
  credentials as grpcCredentials,
  Metadata,
  makeGenericClientConstructor,
  type StatusObject,
} from '@grpc/grpc-js';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { ClusterLoad, LoadMetric, LoadSource, RequestLoad } from './lrs-source.js';
import {
  type ClusterStatsMessage,
  durationToMs,
  type EndpointLoadMetricStatsMessage,
  type LoadStatsRequest,
  type LoadStatsResponse,
  LRS_SEND_ALL_CLUSTERS_FEATURE,
  lrsServiceDefinition,
  msToDuration,
  type UpstreamLocalityStatsMessage,
} from './lrs-wire.js';
import { type NodeIdentity, nodeMessage } from './node.js';
import type { NodeMessage } from './wire.js';

/** Below this, a server's load_reporting_interval is raised (0 would report in a busy loop). */
export const DEFAULT_MIN_REPORT_INTERVAL_MS = 100;

/** The longest delay a Node timer takes (2^31 − 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LrsClientOptions {
  /** The LRS server, a gRPC target (`host:port`, `dns:///name:port`, `unix:/path`). */
  readonly target: string;
  readonly node: NodeIdentity;
  readonly source: LoadSource;
  /** Defaults to insecure (plaintext), like the xDS client. */
  readonly credentials?: ChannelCredentials;
  readonly channelOptions?: ChannelOptions;
  readonly initialMetadata?: ReadonlyArray<readonly [string, string]>;
  readonly backoff?: BackoffOptions;
  /** Shortest interval honoured; a smaller load_reporting_interval is raised to it. Default 100 ms. */
  readonly minReportIntervalMs?: number;
  /** Send the node only in the first request of each stream (default: in every request, as Envoy). */
  readonly setNodeOnFirstMessageOnly?: boolean;
  /** user_agent_version when the node does not give one. */
  readonly version?: string;
  readonly hooks?: LrsClientHooks;
}

export interface LrsClientHooks {
  onConnectionStateChange?(connected: boolean): void;
  /** A LoadStatsResponse was received and applied. */
  onResponse?(response: LoadStatsResponse): void;
  /** A report (a LoadStatsRequest with stats) was written to the stream. */
  onReport?(request: LoadStatsRequest): void;
  /** The stream ended; the client will retry after `retryInMs`. */
  onStreamClosed?(status: { code: number; details: string }, retryInMs: number): void;
  onWarning?(message: string): void;
}

/** What the server currently asks for; null before its first response. */
export interface LrsReporting {
  /** The clusters to report, or 'all' (send_all_clusters). */
  readonly clusters: readonly string[] | 'all';
  readonly intervalMs: number;
  readonly endpointGranularity: boolean;
}

/**
 * Envoy's `load_reporter.*` counters (requests, responses, errors, retries), plus the stream state
 * and the reports among the requests.
 */
export interface LrsClientStats {
  /** 1 while the stream is up and the server has answered on it. */
  connected_state: 0 | 1;
  /** LoadStatsRequests written: introductions and reports. */
  requests: number;
  /** LoadStatsResponses received. */
  responses: number;
  /** Streams that ended (every end is a failure: LRS streams are meant to last). */
  errors: number;
  /** Streams opened after the first. */
  retries: number;
  /** Requests that carried stats. */
  reports: number;
}

type LrsStream = ClientDuplexStream<LoadStatsRequest, LoadStatsResponse>;

export class LrsClient {
  readonly stats: LrsClientStats = {
    connected_state: 0,
    requests: 0,
    responses: 0,
    errors: 0,
    retries: 0,
    reports: 0,
  };
  private attempts = 0;
  private readonly grpcClient: Client;
  private readonly backoff: Backoff;
  private readonly node: NodeMessage;
  private readonly hooks: LrsClientHooks;
  private readonly minIntervalMs: number;
  private call: LrsStream | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private reportTimer: NodeJS.Timeout | null = null;
  private current: LrsReporting | null = null;
  /** Clusters reported (or reset for reporting) so far; they keep counting across responses. */
  private readonly tracked = new Set<string>();
  private started = false;
  private closed = false;

  constructor(private readonly options: LrsClientOptions) {
    this.hooks = options.hooks ?? {};
    this.minIntervalMs = options.minReportIntervalMs ?? DEFAULT_MIN_REPORT_INTERVAL_MS;
    if (!(this.minIntervalMs > 0)) throw new RangeError('minReportIntervalMs must be > 0');
    this.backoff = new Backoff(options.backoff);
    const node = nodeMessage(options.node, options.version ?? '');
    const features = node.client_features ?? [];
    if (!features.includes(LRS_SEND_ALL_CLUSTERS_FEATURE)) features.push(LRS_SEND_ALL_CLUSTERS_FEATURE);
    node.client_features = features;
    this.node = node;
    const Ctor = makeGenericClientConstructor(lrsServiceDefinition(), 'LoadReportingService');
    this.grpcClient = new Ctor(
      options.target,
      options.credentials ?? grpcCredentials.createInsecure(),
      options.channelOptions ?? {},
    );
  }

  get connected(): boolean {
    return this.stats.connected_state === 1;
  }

  /** What the server asked for last (kept across a broken stream until the next response). */
  get reporting(): LrsReporting | null {
    return this.current;
  }

  /** Opens the stream (once; later calls do nothing). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.startStream();
  }

  /** Ends the stream, the channel and every timer. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopReporting();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const call = this.call;
    this.call = null;
    call?.cancel();
    this.grpcClient.close();
    this.setConnected(false);
  }

  private startStream(): void {
    this.retryTimer = null;
    if (this.attempts++ > 0) this.stats.retries++;
    const metadata = new Metadata();
    for (const [k, v] of this.options.initialMetadata ?? []) metadata.add(k, v);
    const method = (this.grpcClient as unknown as Record<string, (m: Metadata, o: CallOptions) => LrsStream>)
      .StreamLoadStats;
    const call = method.call(this.grpcClient, metadata, {});
    this.call = call;
    call.on('data', (msg: LoadStatsResponse) => this.onResponse(call, msg));
    // 'error' always comes with a non-OK status; the status handler does the work.
    call.on('error', () => {});
    call.on('status', (status: StatusObject) => this.onStreamEnd(call, status));
    // The opening message: who we are, no stats yet.
    call.write({ node: this.node, cluster_stats: [] });
    this.stats.requests++;
  }

  private onResponse(call: LrsStream, msg: LoadStatsResponse): void {
    if (call !== this.call) return;
    this.stats.responses++;
    this.backoff.reset();
    this.setConnected(true);
    let intervalMs = durationToMs(msg.load_reporting_interval);
    if (!(intervalMs >= this.minIntervalMs)) {
      this.warn(`load_reporting_interval ${intervalMs} ms raised to ${this.minIntervalMs} ms`);
      intervalMs = this.minIntervalMs;
    } else if (intervalMs > MAX_TIMER_MS) {
      // Node fires longer timers at once (1 ms): that would be a busy loop, not a long interval.
      this.warn(`load_reporting_interval ${intervalMs} ms lowered to ${MAX_TIMER_MS} ms`);
      intervalMs = MAX_TIMER_MS;
    }
    const clusters = msg.send_all_clusters ? 'all' : [...new Set(msg.clusters)];
    this.current = { clusters, intervalMs, endpointGranularity: msg.report_endpoint_granularity };
    // Clusters new to the set start from zero: discard what they accumulated before being asked for.
    const names = clusters === 'all' ? this.sourceNames() : clusters;
    for (const name of names) {
      if (this.tracked.has(name)) continue;
      this.tracked.add(name);
      this.takeSnapshot(name, false);
    }
    this.stopReporting();
    this.reportTimer = setTimeout(() => this.report(), intervalMs);
    this.hooks.onResponse?.(msg);
  }

  private report(): void {
    this.reportTimer = null;
    const call = this.call;
    const reporting = this.current;
    if (call === null || reporting === null || this.closed) return;
    const names = reporting.clusters === 'all' ? this.sourceNames() : reporting.clusters;
    const clusterStats: ClusterStatsMessage[] = [];
    for (const name of names) {
      this.tracked.add(name);
      const load = this.takeSnapshot(name, reporting.endpointGranularity);
      // Every requested cluster the source has is reported, idle or not (as Envoy does): the
      // server learns the interval covered and that the load was zero.
      if (load !== undefined) clusterStats.push(clusterStatsMessage(name, load));
    }
    const request: LoadStatsRequest = { cluster_stats: clusterStats };
    if (!this.options.setNodeOnFirstMessageOnly) request.node = this.node;
    call.write(request);
    this.stats.requests++;
    this.stats.reports++;
    this.hooks.onReport?.(request);
    this.reportTimer = setTimeout(() => this.report(), reporting.intervalMs);
  }

  private sourceNames(): string[] {
    try {
      return [...this.options.source.clusterNames()];
    } catch (err) {
      this.warn(`load source failed to list clusters: ${messageOf(err)}`);
      return [];
    }
  }

  private takeSnapshot(name: string, endpoints: boolean): ClusterLoad | undefined {
    try {
      return this.options.source.snapshot(name, { endpoints });
    } catch (err) {
      this.warn(`load source failed for cluster ${name}: ${messageOf(err)}`);
      return undefined;
    }
  }

  private onStreamEnd(call: LrsStream, status: StatusObject): void {
    if (call !== this.call) return;
    this.call = null;
    this.stopReporting();
    if (this.closed) return;
    call.end();
    this.stats.errors++;
    this.setConnected(false);
    const delay = this.backoff.next();
    this.hooks.onStreamClosed?.({ code: status.code, details: status.details }, delay);
    this.retryTimer = setTimeout(() => this.startStream(), delay);
  }

  private stopReporting(): void {
    if (this.reportTimer !== null) clearTimeout(this.reportTimer);
    this.reportTimer = null;
  }

  private setConnected(connected: boolean): void {
    const v = connected ? 1 : 0;
    if (this.stats.connected_state === v) return;
    this.stats.connected_state = v;
    this.hooks.onConnectionStateChange?.(connected);
  }

  private warn(message: string): void {
    this.hooks.onWarning?.(message);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function metricsOf(metrics: readonly LoadMetric[] | undefined): EndpointLoadMetricStatsMessage[] {
  if (metrics === undefined) return [];
  return metrics.map((m) => ({
    metric_name: m.name,
    num_requests_finished_with_metric: m.count,
    total_metric_value: m.total,
  }));
}

function counts(l: RequestLoad) {
  return {
    total_successful_requests: l.success,
    total_requests_in_progress: l.inProgress,
    total_error_requests: l.error,
    total_issued_requests: l.issued,
    load_metric_stats: metricsOf(l.metrics),
  };
}

function active(l: RequestLoad): boolean {
  return (
    l.issued + l.success + l.error + l.inProgress > 0 || (l.metrics !== undefined && l.metrics.length > 0)
  );
}

/**
 * One cluster's snapshot as Envoy's ClusterStats. Localities with nothing issued, completed or in
 * flight are left out, as Envoy leaves them out: absence means zero.
 */
export function clusterStatsMessage(name: string, load: ClusterLoad): ClusterStatsMessage {
  const reported = load.localities.filter((l) => active(l) || (l.endpoints?.some(active) ?? false));
  const localities: UpstreamLocalityStatsMessage[] = reported.map((l) => ({
    locality: { region: l.locality.region, zone: l.locality.zone, sub_zone: l.locality.sub_zone },
    ...counts(l),
    upstream_endpoint_stats: (l.endpoints ?? []).map((e) => ({
      address: { socket_address: { address: e.address, port_value: e.port } },
      ...counts(e),
    })),
    priority: l.priority,
  }));
  const dropped: Array<{ category: string; dropped_count: number }> = [];
  for (const [category, count] of load.droppedByCategory) {
    if (count > 0) dropped.push({ category, dropped_count: count });
  }
  return {
    cluster_name: name,
    cluster_service_name: load.serviceName,
    upstream_locality_stats: localities,
    total_dropped_requests: load.totalDropped,
    dropped_requests: dropped,
    load_report_interval: msToDuration(load.intervalMs),
  };
}
