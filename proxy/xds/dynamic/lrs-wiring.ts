/**
 * Load reporting in the running proxy: one LoadStatsStore that the cluster manager fills (per
 * cluster, per locality; the router counts each request on it) and an LrsClient that reports it to
 * the server bootstrap cluster_manager.load_stats_config names, as the node the ADS stream uses.
 * Without load_stats_config there is no store, the hosts carry no counters, and nothing runs.
 */
import { LrsClient } from '../../../control-client/lrs.js';
import type { BootstrapNode } from '../../bootstrap/bootstrap.js';
import type { Counter, Gauge, StatsStore } from '../../observability/stats.js';
import { LoadStatsStore } from '../../upstream/load-stats.js';
import type { LoadStatsSettings } from './lrs-bootstrap.js';
import { nodeIdentity } from './wiring.js';

export interface LoadReportingLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LoadReporting {
  /** The cluster manager's LoadStatsStore (ClusterManagerDeps.loadStats). */
  readonly store: LoadStatsStore;
  readonly client: LrsClient;
  close(): void;
}

/** The store, for the cluster manager; null when the bootstrap asks for no load reports. */
export function loadStatsStoreFor(settings: LoadStatsSettings | null): LoadStatsStore | null {
  return settings === null ? null : new LoadStatsStore();
}

/** Starts reporting `store` to the LRS server; close() stops it (after drain). */
export function startLoadReporting(deps: {
  readonly settings: LoadStatsSettings;
  readonly store: LoadStatsStore;
  readonly node: BootstrapNode;
  readonly log: LoadReportingLog;
  readonly version: string;
  /** Where Envoy's load_reporter.* stats go. */
  readonly stats: StatsStore;
}): LoadReporting {
  const { settings, log } = deps;
  const mirror = new LoadReporterStats(deps.stats);
  const client: LrsClient = new LrsClient({
    target: settings.target,
    node: nodeIdentity(deps.node),
    source: deps.store,
    initialMetadata: settings.initialMetadata,
    setNodeOnFirstMessageOnly: settings.setNodeOnFirstMessageOnly,
    version: deps.version,
    hooks: {
      onWarning: (message) => log.warn({ cluster: settings.clusterName }, message),
      onConnectionStateChange: (connected) => {
        mirror.sync(client.stats);
        log.info(
          { cluster: settings.clusterName, target: settings.target, connected },
          'load reporting stream',
        );
      },
      onResponse: () => mirror.sync(client.stats),
      onReport: () => mirror.sync(client.stats),
      onStreamClosed: () => mirror.sync(client.stats),
    },
  });
  client.start();
  return { store: deps.store, client, close: () => client.close() };
}

/**
 * Envoy's load_reporter.* stats (requests, responses, errors, retries) and the stream state, copied
 * from the client's own counters at each of its events (a few per interval; nothing per request).
 */
class LoadReporterStats {
  private readonly requests: Counter;
  private readonly responses: Counter;
  private readonly errors: Counter;
  private readonly retries: Counter;
  private readonly connected: Gauge;

  constructor(store: StatsStore) {
    this.requests = store.counter('load_reporter.requests');
    this.responses = store.counter('load_reporter.responses');
    this.errors = store.counter('load_reporter.errors');
    this.retries = store.counter('load_reporter.retries');
    this.connected = store.gauge('load_reporter.connected_state', 'never_import');
  }

  sync(s: LrsClient['stats']): void {
    this.requests.inc(s.requests - this.requests.value);
    this.responses.inc(s.responses - this.responses.value);
    this.errors.inc(s.errors - this.errors.value);
    this.retries.inc(s.retries - this.retries.value);
    this.connected.set(s.connected_state);
  }
}
