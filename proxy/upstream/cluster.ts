import type { ClusterBreakers } from './circuit-breakers.js';
import type { ClusterStats } from './cluster-stats.js';
import type { Host } from './host.js';
import type { LbContext } from './load-balancer.js';
import type { ConnectionPool } from './upstream-stream.js';

/**
 * What the data path sees of a cluster: pick a host, get its pool. The cluster manager
 * (proxy/upstream/cluster-manager.ts) owns discovery, host sets and pools behind it.
 */
export interface UpstreamCluster {
  readonly name: string;
  readonly stats: ClusterStats;
  /** Upstream protocol the pools speak. */
  readonly protocol: 'http1' | 'http2';
  /** connect_timeout in ms. */
  readonly connectTimeoutMs: number;
  /** Picks a host for one request or connection; null when no host is available (503, flag UH). */
  chooseHost(ctx: LbContext | null): Host | null;
  /** Forwards a finished request's latency to the balancer (LoadBalancer.onRequestEnd); optional. */
  onRequestEnd?(host: Host, latencyMs: number): void;
  /** The balancer's current cost of `host` (peak EWMA: latency estimate × (active + 1)), for /clusters. */
  costOf?(host: Host): number | undefined;
  /**
   * The connection pool for `host` and a routing priority (a route's `priority`; DEFAULT when
   * omitted): created on first use, kept while the host stays. Each priority has its own pools,
   * held to that priority's max_connections / max_pending_requests.
   */
  poolFor(host: Host, priority?: 'DEFAULT' | 'HIGH'): ConnectionPool;
  /**
   * The cluster's circuit breakers for a routing priority (DEFAULT when omitted). The same
   * instance for the cluster's lifetime.
   */
  breakers(priority?: 'DEFAULT' | 'HIGH'): ClusterBreakers;
  /** All hosts currently in the cluster (every priority), for /clusters and health checking. */
  allHosts(): readonly Host[];
  /** track_cluster_stats.per_endpoint_stats: /stats lists cluster.<name>.endpoint.<address>.*. */
  readonly perEndpointStats?: boolean;
}

/** Lookup of clusters by name, as the router and tcp_proxy use it. */
export interface ClusterLookup {
  get(name: string): UpstreamCluster | undefined;
}
