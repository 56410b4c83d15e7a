/**
 * What the LRS client reads the load from. The client knows nothing of the proxy: whoever keeps the
 * counters (remora's proxy/upstream/load-stats.ts, or a test) implements LoadSource.
 *
 * snapshot() is snapshot-and-reset: the request counts it returns cover the time since the
 * previous snapshot of the same cluster (or since the cluster appeared), and the next snapshot
 * starts from zero. In-progress counts are levels, not reset. The client calls snapshot() once per
 * cluster per report, and once more to discard what accumulated before a cluster was first asked
 * for, so the first report of a cluster covers one interval.
 */

export interface LocalityId {
  readonly region: string;
  readonly zone: string;
  readonly sub_zone: string;
}

/** A named load metric the endpoints reported (ORCA): how many requests carried it, and their sum. */
export interface LoadMetric {
  readonly name: string;
  readonly count: number;
  readonly total: number;
}

export interface RequestLoad {
  /** Requests sent in the interval. */
  readonly issued: number;
  /** Requests that completed successfully in the interval. */
  readonly success: number;
  /** Requests that completed with an error in the interval. */
  readonly error: number;
  /** Requests outstanding now (a level). */
  readonly inProgress: number;
  readonly metrics?: readonly LoadMetric[];
}

export interface EndpointLoad extends RequestLoad {
  readonly address: string;
  readonly port: number;
}

export interface LocalityLoad extends RequestLoad {
  readonly locality: LocalityId;
  readonly priority: number;
  /** Only when the snapshot was asked for endpoints (report_endpoint_granularity). */
  readonly endpoints?: readonly EndpointLoad[];
}

export interface ClusterLoad {
  /** EDS service_name, or ''. */
  readonly serviceName: string;
  readonly localities: readonly LocalityLoad[];
  /** Requests dropped in the interval (drop_overloads and any other reason). */
  readonly totalDropped: number;
  /** Drops per drop_overloads category; their sum may be less than totalDropped. */
  readonly droppedByCategory: ReadonlyMap<string, number>;
  /** The time the snapshot covers: since the previous snapshot of this cluster, in ms. */
  readonly intervalMs: number;
}

export interface SnapshotOptions {
  /** Include per-endpoint load (the server asked for report_endpoint_granularity). */
  readonly endpoints: boolean;
}

export interface LoadSource {
  /** Every cluster the source keeps load for (what send_all_clusters reports). */
  clusterNames(): Iterable<string>;
  /** The load since the previous snapshot of the cluster, resetting it; undefined if unknown. */
  snapshot(clusterName: string, options: SnapshotOptions): ClusterLoad | undefined;
}
