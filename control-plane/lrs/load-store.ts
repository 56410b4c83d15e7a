/**
 * The load the proxies report, aggregated per node, cluster and locality.
 *
 * Each report is a delta (the requests of one interval) plus a level (requests in progress). The
 * store keeps, per (node, cluster, locality): cumulative totals since the node first reported, the
 * deltas of a sliding window (default 30 s, for rates and for the weighting decision), and the last
 * in-progress level. A node whose stream ends stops contributing in-progress load at once; its
 * windowed counts age out with the window.
 */
import type { ClusterStatsMessage, LocalityMessage } from '../../control-client/lrs-wire.js';

export type Clock = () => number;

/** `region/zone/sub_zone`, the same key the proxy uses for a locality. */
export function localityKeyOf(l: LocalityMessage | null | undefined): string {
  return l ? `${l.region}/${l.zone}/${l.sub_zone}` : '//';
}

/** Request counts over some span: a window, or since the first report. */
export interface LoadCounts {
  issued: number;
  success: number;
  error: number;
}

/** What the store says about one locality of one cluster, summed over nodes. */
export interface LocalityAggregate extends LoadCounts {
  readonly key: string;
  readonly locality: LocalityMessage;
  /** Sum of the latest in-progress levels of connected nodes. */
  inProgress: number;
  /** Nodes that reported this locality in the window. */
  reporters: number;
}

interface WindowEntry {
  readonly atMs: number;
  readonly issued: number;
  readonly success: number;
  readonly error: number;
}

/** Bound on the window entries kept per slot, whatever the window and interval. */
const MAX_WINDOW_ENTRIES = 1024;

class LocalitySlot {
  readonly total: LoadCounts = { issued: 0, success: 0, error: 0 };
  readonly window: WindowEntry[] = [];
  inProgress = 0;
  lastReportMs = 0;

  constructor(readonly locality: LocalityMessage) {}

  prune(oldestMs: number): void {
    let drop = 0;
    while (drop < this.window.length && this.window[drop].atMs < oldestMs) drop++;
    if (this.window.length - drop > MAX_WINDOW_ENTRIES) drop = this.window.length - MAX_WINDOW_ENTRIES;
    if (drop > 0) this.window.splice(0, drop);
  }
}

class ClusterSlot {
  readonly localities = new Map<string, LocalitySlot>();
  totalDropped = 0;
  readonly droppedByCategory = new Map<string, number>();
  serviceName = '';
}

class NodeSlot {
  readonly clusters = new Map<string, ClusterSlot>();
  connected = true;
  reports = 0;
  lastReportMs = 0;
  /** When the node's last stream ended (0 while connected). */
  disconnectedAtMs = 0;
}

/** Per-node status, for the control plane's status endpoint. */
export interface NodeLoadStatus {
  readonly node: string;
  readonly connected: boolean;
  readonly reports: number;
  /** ms since the epoch of the last report with stats; 0 = none yet. */
  readonly last_report_ms: number;
  readonly clusters: Record<
    string,
    {
      readonly total_dropped_requests: number;
      readonly localities: Record<string, LoadCounts & { in_progress: number }>;
    }
  >;
}

export class LoadStore {
  private readonly nodes = new Map<string, NodeSlot>();

  constructor(
    readonly windowMs = 30_000,
    private readonly now: Clock = Date.now,
  ) {
    if (!(windowMs > 0)) throw new RangeError('windowMs must be > 0');
  }

  /** A node opened a stream (again). */
  nodeConnected(nodeId: string): void {
    const n = this.nodeSlot(nodeId);
    n.connected = true;
    n.disconnectedAtMs = 0;
  }

  /** The node's stream ended: its in-progress levels are no longer current. */
  nodeDisconnected(nodeId: string): void {
    const n = this.nodes.get(nodeId);
    if (n === undefined) return;
    n.connected = false;
    n.disconnectedAtMs = this.now();
    for (const c of n.clusters.values()) for (const l of c.localities.values()) l.inProgress = 0;
  }

  /**
   * Forgets nodes disconnected for longer than `retainMs` (default: the window, after which they
   * contribute nothing to it). Proxies come and go with new ids; without this the store would grow
   * with every pod ever seen. The balancer calls it once per round; returns the ids forgotten.
   */
  prune(retainMs = this.windowMs): string[] {
    const cutoff = this.now() - retainMs;
    const gone: string[] = [];
    for (const [id, n] of this.nodes) {
      if (!n.connected && n.disconnectedAtMs < cutoff) {
        this.nodes.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }

  /** Adds one LoadStatsRequest's cluster_stats from `nodeId` (every request, stats or not). */
  ingest(nodeId: string, clusterStats: readonly ClusterStatsMessage[]): void {
    const now = this.now();
    const node = this.nodeSlot(nodeId);
    // A request is the node's whole present: a locality (or cluster) it leaves out has nothing in
    // flight any more (clients omit idle localities), so every level restarts from this request.
    for (const c of node.clusters.values()) for (const l of c.localities.values()) l.inProgress = 0;
    if (clusterStats.length === 0) return;
    node.reports++;
    node.lastReportMs = now;
    for (const cs of clusterStats) {
      // Envoy's API requires a cluster name; a nameless entry cannot be attributed to anything.
      if (cs.cluster_name === '') continue;
      let c = node.clusters.get(cs.cluster_name);
      if (c === undefined) {
        c = new ClusterSlot();
        node.clusters.set(cs.cluster_name, c);
      }
      c.serviceName = cs.cluster_service_name;
      c.totalDropped += Number(cs.total_dropped_requests);
      for (const d of cs.dropped_requests) {
        c.droppedByCategory.set(
          d.category,
          (c.droppedByCategory.get(d.category) ?? 0) + Number(d.dropped_count),
        );
      }
      // Several entries for one locality (one per priority) add up; in-progress levels too.
      for (const ls of cs.upstream_locality_stats) {
        const key = localityKeyOf(ls.locality);
        let slot = c.localities.get(key);
        if (slot === undefined) {
          const l = ls.locality;
          slot = new LocalitySlot({
            region: l?.region ?? '',
            zone: l?.zone ?? '',
            sub_zone: l?.sub_zone ?? '',
          });
          c.localities.set(key, slot);
        }
        const issued = Number(ls.total_issued_requests);
        const success = Number(ls.total_successful_requests);
        const error = Number(ls.total_error_requests);
        slot.total.issued += issued;
        slot.total.success += success;
        slot.total.error += error;
        slot.window.push({ atMs: now, issued, success, error });
        slot.inProgress += Number(ls.total_requests_in_progress);
        slot.lastReportMs = now;
        slot.prune(now - this.windowMs);
      }
    }
  }

  /** Node ids that have reported or connected, connected or not. */
  nodeIds(): string[] {
    return [...this.nodes.keys()];
  }

  /** Forget a node entirely (e.g. after it has been gone longer than anyone cares). */
  forget(nodeId: string): void {
    this.nodes.delete(nodeId);
  }

  /** Every cluster any node reported. */
  clusterNames(): string[] {
    const out = new Set<string>();
    for (const n of this.nodes.values()) for (const name of n.clusters.keys()) out.add(name);
    return [...out].sort();
  }

  /** One cluster's load per locality over the window, summed over nodes. */
  clusterWindow(cluster: string): Map<string, LocalityAggregate> {
    const out = new Map<string, LocalityAggregate>();
    const oldest = this.now() - this.windowMs;
    for (const n of this.nodes.values()) {
      const c = n.clusters.get(cluster);
      if (c === undefined) continue;
      for (const [key, slot] of c.localities) {
        slot.prune(oldest);
        let agg = out.get(key);
        if (agg === undefined) {
          agg = {
            key,
            locality: slot.locality,
            issued: 0,
            success: 0,
            error: 0,
            inProgress: 0,
            reporters: 0,
          };
          out.set(key, agg);
        }
        for (const e of slot.window) {
          agg.issued += e.issued;
          agg.success += e.success;
          agg.error += e.error;
        }
        if (slot.window.length > 0) agg.reporters++;
        if (n.connected) agg.inProgress += slot.inProgress;
      }
    }
    return out;
  }

  /** Cumulative counts of one node, cluster and locality since the node first reported. */
  totals(
    nodeId: string,
    cluster: string,
    localityKey: string,
  ): (LoadCounts & { inProgress: number }) | undefined {
    const slot = this.nodes.get(nodeId)?.clusters.get(cluster)?.localities.get(localityKey);
    if (slot === undefined) return undefined;
    return { ...slot.total, inProgress: slot.inProgress };
  }

  /** Cumulative drops of one node and cluster. */
  dropped(
    nodeId: string,
    cluster: string,
  ): { total: number; byCategory: ReadonlyMap<string, number> } | undefined {
    const c = this.nodes.get(nodeId)?.clusters.get(cluster);
    return c === undefined ? undefined : { total: c.totalDropped, byCategory: new Map(c.droppedByCategory) };
  }

  /** JSON-ready per-node totals (for a status endpoint). */
  status(): NodeLoadStatus[] {
    const out: NodeLoadStatus[] = [];
    for (const [id, n] of [...this.nodes].sort((a, b) => a[0].localeCompare(b[0]))) {
      const clusters: NodeLoadStatus['clusters'] = {};
      for (const [name, c] of n.clusters) {
        const localities: Record<string, LoadCounts & { in_progress: number }> = {};
        for (const [key, l] of c.localities) localities[key] = { ...l.total, in_progress: l.inProgress };
        clusters[name] = { total_dropped_requests: c.totalDropped, localities };
      }
      out.push({
        node: id,
        connected: n.connected,
        reports: n.reports,
        last_report_ms: n.lastReportMs,
        clusters,
      });
    }
    return out;
  }

  private nodeSlot(nodeId: string): NodeSlot {
    let n = this.nodes.get(nodeId);
    if (n === undefined) {
      n = new NodeSlot();
      this.nodes.set(nodeId, n);
    }
    return n;
  }
}
