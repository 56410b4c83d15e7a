/**
 * Per-cluster, per-locality load counters for load reporting (LRS), and the LoadSource the LRS
 * client reads them through.
 *
 * The hot path is one object found at pick time: each Host refers to the LocalityLoadCounters of
 * its cluster, locality and priority, and the router calls `begin()` when it sends a request to the
 * host and `end(success)` when the request is over — a few number increments, no lookup, no map.
 * The same counters object is returned for the same (locality, priority) for the life of the
 * cluster, so hosts rebuilt by an EDS update count into it and a request in flight across an
 * update ends on the object it began on.
 *
 * Reporting is snapshot-and-reset (control path, once per report interval): issued, success and
 * error restart from zero; in-progress is a level and is kept.
 *
 * Per-endpoint load (report_endpoint_granularity) comes from the counters the router already keeps
 * on each Host (rqTotal, rqSuccess, rqError, rqActive), as differences from the previous snapshot,
 * so asking for it costs nothing per request.
 */
import type {
  ClusterLoad,
  EndpointLoad,
  LoadMetric,
  LoadSource,
  LocalityLoad,
  SnapshotOptions,
} from '../../control-client/lrs-source.js';
import { type Host, type Locality, localityKey } from './host.js';

/** Running sum of one named load metric (ORCA) in a locality. */
class MetricSum {
  count = 0;
  total = 0;
}

/** The counters of one locality at one priority of one cluster. Every field is set here (stable shape). */
export class LocalityLoadCounters {
  /** Requests sent since the last snapshot. */
  issued = 0;
  /** Requests completed successfully since the last snapshot. */
  success = 0;
  /** Requests completed with an error since the last snapshot. */
  error = 0;
  /** Requests outstanding now. */
  inProgress = 0;
  /** Named load metrics since the last snapshot; null until one is recorded. */
  metrics: Map<string, MetricSum> | null = null;

  constructor(
    readonly locality: Locality,
    readonly priority: number,
  ) {}

  /** A request was sent to a host of this locality. */
  begin(): void {
    this.issued++;
    this.inProgress++;
  }

  /**
   * The request is over. Success is the router's own notion (a response that is not 5xx); an error
   * is a 5xx, a reset, a connect failure or a timeout, as Envoy counts rq_error for LRS.
   */
  end(success: boolean): void {
    this.inProgress--;
    if (success) this.success++;
    else this.error++;
  }

  /** A finished request carried a named load metric (e.g. from an ORCA report). */
  recordMetric(name: string, value: number): void {
    if (this.metrics === null) this.metrics = new Map();
    let m = this.metrics.get(name);
    if (m === undefined) {
      m = new MetricSum();
      this.metrics.set(name, m);
    }
    m.count++;
    m.total += value;
  }
}

/** The Host counters as they were at the previous snapshot. */
class HostBaseline {
  constructor(
    public total: number,
    public success: number,
    public error: number,
  ) {}
}

function slotOf(locality: Locality, priority: number): string {
  return `${priority}|${localityKey(locality)}`;
}

export type Clock = () => number;

const monotonic: Clock = () => performance.now();

/** The load of one cluster. */
export class ClusterLoadStats {
  /** EDS service_name, reported as cluster_service_name. */
  serviceName: string;
  private readonly localities = new Map<string, LocalityLoadCounters>();
  /** Localities that still have hosts (from setHosts); null until setHosts is first called. */
  private liveSlots: Set<string> | null = null;
  private hosts: readonly Host[] = [];
  private baselines = new Map<Host, HostBaseline>();
  private totalDropped = 0;
  private readonly dropped = new Map<string, number>();
  private lastSnapshotMs: number;

  constructor(
    readonly name: string,
    serviceName = '',
    private readonly now: Clock = monotonic,
  ) {
    this.serviceName = serviceName;
    this.lastSnapshotMs = now();
  }

  /** The counters for hosts of `locality` at `priority` (control path: when a host is built). */
  countersFor(locality: Locality, priority: number): LocalityLoadCounters {
    const slot = slotOf(locality, priority);
    let c = this.localities.get(slot);
    if (c === undefined) {
      c = new LocalityLoadCounters(locality, priority);
      this.localities.set(slot, c);
    }
    return c;
  }

  /**
   * The cluster's current hosts, after every host set change. Localities left without hosts are
   * forgotten once their last load has been reported and nothing is in flight; the hosts are also
   * where per-endpoint load is read from.
   */
  setHosts(hosts: readonly Host[]): void {
    this.hosts = hosts;
    const live = new Set<string>();
    const baselines = new Map<Host, HostBaseline>();
    for (const h of hosts) {
      live.add(slotOf(h.locality, h.priority));
      this.countersFor(h.locality, h.priority);
      // A host that stays keeps its baseline; a new one starts from its current counters.
      baselines.set(h, this.baselines.get(h) ?? new HostBaseline(h.rqTotal, h.rqSuccess, h.rqError));
    }
    this.liveSlots = live;
    this.baselines = baselines;
  }

  /** A request was dropped before reaching any host (drop_overloads `category`, or '' for others). */
  recordDrop(category = ''): void {
    this.totalDropped++;
    if (category !== '') this.dropped.set(category, (this.dropped.get(category) ?? 0) + 1);
  }

  /** The load since the previous snapshot; counts restart from zero. */
  snapshot(options: SnapshotOptions = { endpoints: false }): ClusterLoad {
    const now = this.now();
    const intervalMs = now - this.lastSnapshotMs;
    this.lastSnapshotMs = now;
    const endpoints = this.endpointLoads(options.endpoints);
    const localities: LocalityLoad[] = [];
    for (const [slot, c] of this.localities) {
      const load: LocalityLoad = {
        locality: { region: c.locality.region, zone: c.locality.zone, sub_zone: c.locality.subZone },
        priority: c.priority,
        issued: c.issued,
        success: c.success,
        error: c.error,
        inProgress: c.inProgress,
        metrics: metricsOf(c),
        endpoints: options.endpoints ? (endpoints.get(slot) ?? []) : undefined,
      };
      c.issued = 0;
      c.success = 0;
      c.error = 0;
      c.metrics = null;
      localities.push(load);
      // Reported one last time; forgotten unless hosts come back or requests are still out.
      if (this.liveSlots !== null && !this.liveSlots.has(slot) && c.inProgress === 0) {
        this.localities.delete(slot);
      }
    }
    const droppedByCategory = new Map(this.dropped);
    const totalDropped = this.totalDropped;
    this.dropped.clear();
    this.totalDropped = 0;
    return { serviceName: this.serviceName, localities, totalDropped, droppedByCategory, intervalMs };
  }

  /** Per slot, each host's load since the last snapshot; baselines always move on. */
  private endpointLoads(wanted: boolean): Map<string, EndpointLoad[]> {
    const out = new Map<string, EndpointLoad[]>();
    for (const h of this.hosts) {
      const b = this.baselines.get(h);
      if (b === undefined) continue;
      if (wanted) {
        const slot = slotOf(h.locality, h.priority);
        let list = out.get(slot);
        if (list === undefined) {
          list = [];
          out.set(slot, list);
        }
        list.push({
          address: h.address,
          port: h.port,
          issued: h.rqTotal - b.total,
          success: h.rqSuccess - b.success,
          error: h.rqError - b.error,
          inProgress: h.rqActive,
        });
      }
      b.total = h.rqTotal;
      b.success = h.rqSuccess;
      b.error = h.rqError;
    }
    return out;
  }
}

function metricsOf(c: LocalityLoadCounters): LoadMetric[] | undefined {
  if (c.metrics === null) return undefined;
  const out: LoadMetric[] = [];
  for (const [name, m] of c.metrics) out.push({ name, count: m.count, total: m.total });
  return out;
}

/**
 * Every cluster's load, by cluster name: what the cluster manager fills and the LRS client reads.
 * A cluster updated by CDS keeps its ClusterLoadStats (and its counters) under the same name.
 */
export class LoadStatsStore implements LoadSource {
  private readonly clusters = new Map<string, ClusterLoadStats>();

  constructor(private readonly now: Clock = monotonic) {}

  /** The cluster's load stats, created on first use; `serviceName` updates the reported name. */
  cluster(name: string, serviceName = ''): ClusterLoadStats {
    let c = this.clusters.get(name);
    if (c === undefined) {
      c = new ClusterLoadStats(name, serviceName, this.now);
      this.clusters.set(name, c);
    } else {
      c.serviceName = serviceName;
    }
    return c;
  }

  get(name: string): ClusterLoadStats | undefined {
    return this.clusters.get(name);
  }

  /** The cluster was removed; requests still in flight end on the detached counters. */
  remove(name: string): void {
    this.clusters.delete(name);
  }

  clusterNames(): Iterable<string> {
    return this.clusters.keys();
  }

  snapshot(clusterName: string, options: SnapshotOptions): ClusterLoad | undefined {
    return this.clusters.get(clusterName)?.snapshot(options);
  }
}
