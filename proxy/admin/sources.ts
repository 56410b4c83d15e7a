import type { LogRegistry } from '../observability/logger.js';
import type { StatsStore } from '../observability/stats.js';
import type { UpstreamCluster } from '../upstream/cluster.js';

/**
 * Everything the admin server reads or triggers, handed in by the composition root. The admin
 * owns no proxy state except the health-check-failed flag (POST /healthcheck/fail), which it
 * reports to `healthCheckFailed` listeners and folds into /ready and /server_info.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Envoy's init manager states, which with the health-check flag give /ready's answer. */
export type ServerInitState = 'pre_initializing' | 'initializing' | 'initialized';

export interface CircuitBreakerThresholds {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
}

/** Envoy's defaults, printed for clusters that configure none. */
export const DEFAULT_THRESHOLDS: CircuitBreakerThresholds = Object.freeze({
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
});

/** What /clusters prints beside the cluster's hosts; every field optional. */
export interface ClusterAdminDetails {
  readonly addedViaApi?: boolean;
  readonly defaultPriority?: CircuitBreakerThresholds;
  readonly highPriority?: CircuitBreakerThresholds;
  /** Outlier detection success rate per host key (`ip:port`), when a detector computes one. */
  readonly successRate?: (hostKey: string) => number;
}

export interface AdminListenerInfo {
  readonly name: string;
  /** The bound address (after port 0 was resolved). */
  readonly address: string;
  readonly port: number;
}

export interface ServerInfoSource {
  /** Envoy prints `<sha>/<version>/<status>/<build type>/<ssl>`; remora prints its own. */
  readonly version: string;
  /** Envoy's CommandLineOptions JSON (config_path, log_level, drain_time "600s", mode "Serve", ...). */
  readonly commandLineOptions: JsonObject;
  /** The bootstrap node (id, cluster, metadata, ...), proto3 JSON. */
  readonly node: JsonObject;
}

export interface DrainOptions {
  /** ?graceful: drain gradually over the drain time before closing (else close listeners now). */
  readonly graceful: boolean;
  /** ?inboundonly: only inbound listeners. */
  readonly inboundOnly: boolean;
}

export interface AdminSources {
  readonly stats: StatsStore;
  /** Component loggers for /logging. */
  readonly logs: LogRegistry;
  /** Process start (ms since epoch), for uptime. */
  readonly startTimeMs: number;
  readonly serverInfo: ServerInfoSource;

  initState(): ServerInitState;
  clusters(): readonly UpstreamCluster[];
  clusterDetails?(name: string): ClusterAdminDetails | undefined;
  listeners(): readonly AdminListenerInfo[];
  /**
   * The entries of /config_dump's `configs`, each with its `@type`, in Envoy's order (bootstrap,
   * clusters, listeners, routes). Build them with the helpers in proxy/admin/config-dump.ts.
   */
  configDump(): readonly JsonObject[];

  /** POST /healthcheck/fail and /healthcheck/ok (after the admin flag changed). */
  healthCheckChanged?(failed: boolean): void;
  /** POST /drain_listeners. */
  drainListeners(opts: DrainOptions): void;
  /** POST /quitquitquit, called after the response has been sent. */
  quit(): void;
}
