/**
 * Load reporting in the running proxy: one LoadStatsStore that the cluster manager fills (per
 * cluster, per locality; the router counts each request on it) and an LrsClient that reports it to
 * the server bootstrap cluster_manager.load_stats_config names, as the node the ADS stream uses.
 * Without load_stats_config there is no store, the hosts carry no counters, and nothing runs.
 */
import { LrsClient } from '../../../control-client/lrs.js';
import type { BootstrapNode } from '../../bootstrap/bootstrap.js';
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
}): LoadReporting {
  const { settings, log } = deps;
  const client = new LrsClient({
    target: settings.target,
    node: nodeIdentity(deps.node),
    source: deps.store,
    initialMetadata: settings.initialMetadata,
    setNodeOnFirstMessageOnly: settings.setNodeOnFirstMessageOnly,
    version: deps.version,
    hooks: {
      onWarning: (message) => log.warn({ cluster: settings.clusterName }, message),
      onConnectionStateChange: (connected) =>
        log.info(
          { cluster: settings.clusterName, target: settings.target, connected },
          'load reporting stream',
        ),
    },
  });
  client.start();
  return { store: deps.store, client, close: () => client.close() };
}
