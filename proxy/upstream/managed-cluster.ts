import type { ClusterModel, LoadAssignmentModel } from '../model/cluster.js';
import type { StatsStore } from '../observability/stats.js';
import { type ClusterBreakers, PriorityBreakers } from './circuit-breakers.js';
import type { UpstreamCluster } from './cluster.js';
import { ClusterStats } from './cluster-stats.js';
import type { DiscoveredHost, DiscoverySink, HostDiscovery } from './discovery.js';
import { hostsFromAssignment } from './discovery.js';
import { ClusterHealth } from './health/cluster-health.js';
import { HealthFlag, Host, localityKey } from './host.js';
import { HostPools, type RoutingPriority } from './host-pools.js';
import type { LbContext, LoadBalancer } from './load-balancer.js';
import type { ClusterLoadStats } from './load-stats.js';
import {
  hostCost,
  LocalityWeightedLoadBalancer,
  type LocalityWeights,
  localityWeightsEqual,
  localityWeightsOf,
} from './locality-lb.js';
import { buildPriorityLb } from './priority-load.js';
import type { ConnectionPool } from './upstream-stream.js';

/**
 * One running cluster: its hosts (kept across discovery updates when unchanged), the load balancer
 * over the hosts that may take traffic, and a connection pool per host. Built by the cluster
 * manager from a ClusterModel; never reconfigured (a changed model builds a new one).
 *
 * Host selection: the lowest priority level whose hosts are at least half healthy (weighted by the
 * overprovisioning factor, as Envoy's priority load) balances over its healthy hosts; failing that,
 * the healthy hosts of every level; and if fewer than 50% of all hosts are healthy (Envoy's default
 * healthy_panic_threshold), panic mode balances over every host of the lowest level.
 * Full priority spill-over and locality weighting come with the resilience and LB issues.
 */
const PANIC_THRESHOLD = 0.5;
const EDS_FLAGS = HealthFlag.FailedEdsHealth | HealthFlag.DegradedEdsHealth;

export class ManagedCluster implements UpstreamCluster, DiscoverySink {
  readonly name: string;
  readonly stats: ClusterStats;
  readonly protocol: 'http1' | 'http2';
  readonly connectTimeoutMs: number;
  /** Resolves once the first host list arrived (or discovery reported its first failure). */
  readonly initialized: Promise<void>;
  /**
   * Outlier detection and active health checks (proxy/upstream/health/); null when neither is set
   * (and until start()).
   */
  health: ClusterHealth | null = null;
  /** track_cluster_stats.per_endpoint_stats (read by the admin /stats view, not per request). */
  readonly perEndpointStats: boolean;

  private hosts: Host[] = [];
  private lb: LoadBalancer;
  private panic = false;
  private readonly pools: HostPools;
  private readonly listeners: Array<() => void> = [];
  private markInitialized!: () => void;
  private isInitialized = false;
  private stopped = false;
  private started = false;
  private readonly store: StatsStore;
  /** Load reporting (LRS): this cluster's per-locality counters; null when the proxy reports none. */
  private loadStats: ClusterLoadStats | null = null;
  /** Host.key → host, for the stateful session override (LbContext.overrideHost). */
  private byKey = new Map<string, Host>();
  /** Locality weights of the latest assignment (locality-weighted balancing only). */
  private localityWeights: LocalityWeights;
  /**
   * The hosts of the cluster this one replaces (CDS update), by identity, until the first host
   * list: a host present in both is the same Host object, so its health carries over (Envoy).
   */
  private carried: Map<string, Host> | null = null;
  private previousHealth: ClusterHealth | null = null;
  /** Circuit breakers per priority: this cluster's own (never carried over from `previous`). */
  private readonly cb: PriorityBreakers;

  constructor(
    readonly model: ClusterModel,
    store: StatsStore,
    private readonly discovery: HostDiscovery | null,
    /** Load reporting (LRS): this cluster's per-locality counters; null when the proxy reports none. */
    loadStats: ClusterLoadStats | null = null,
    /** The cluster of the same name this one replaces; its hosts' health carries over. */
    previous: ManagedCluster | null = null,
    /**
     * False builds the cluster without starting it (a CDS update built in slices, off to the side):
     * no health checking, no discovery, no load counters until start(). Nothing outside the object
     * changes except its stats, which exist by name.
     */
    startNow = true,
  ) {
    this.name = model.name;
    this.stats = new ClusterStats(store, model.name);
    this.store = store;
    this.protocol = model.protocol;
    this.connectTimeoutMs = model.connectTimeoutMs;
    this.perEndpointStats = model.perEndpointStats === true;
    this.localityWeights = localityWeightsOf(model.loadAssignment);
    this.cb = new PriorityBreakers(this, model.circuitBreakers);
    this.pools = new HostPools(model, this.stats, this.cb);
    this.lb = model.lbFactory.create([], model.lbConfig, null);
    this.initialized = new Promise((r) => {
      this.markInitialized = r;
    });
    if (startNow) this.start(loadStats, previous);
  }

  /**
   * Starts what a built cluster runs: health checking, then discovery (its first host list ends
   * warm-up). Runs once. `previous` is the cluster this one replaces (its hosts' health carries over).
   */
  start(loadStats: ClusterLoadStats | null, previous: ManagedCluster | null): void {
    if (this.started) return;
    this.started = true;
    this.loadStats = loadStats;
    if (previous !== null && previous.hosts.length > 0) {
      const carried = new Map<string, Host>();
      for (const h of previous.hosts) carried.set(identity(h), h);
      this.carried = carried;
      this.previousHealth = previous.health;
    }
    const model = this.model;
    this.health = ClusterHealth.attach(
      {
        name: model.name,
        outlierDetection: model.outlierDetection ?? null,
        healthChecks: model.healthChecks ?? [],
      },
      this,
      this.store,
    );
    if (this.discovery === null) this.finishInit();
    else this.discovery.start(this);
  }

  /**
   * Whether start() may run before the cluster is installed without anything outside it noticing:
   * no health checking or load reporting to set up, nothing to carry over, and a discovery that
   * only hands over a fixed host list (STATIC). Building such a cluster completely in a slice
   * leaves the commit a map assignment.
   */
  get startsQuietly(): boolean {
    const m = this.model;
    return (
      this.discovery?.synchronous === true &&
      (m.outlierDetection ?? null) === null &&
      (m.healthChecks ?? []).length === 0
    );
  }

  // --- UpstreamCluster (data path) ---

  /** Null when there is no host (callers count upstream_cx_none_healthy and answer 503 UH). */
  chooseHost(ctx: LbContext | null): Host | null {
    const o = ctx === null ? undefined : ctx.overrideHost;
    if (o !== undefined && o !== null && o !== '') {
      const pinned = this.byKey.get(o);
      if (pinned?.healthy) return pinned;
    }
    const h = this.lb.chooseHost(ctx);
    if (this.panic && h !== null) this.stats.lb_healthy_panic.inc();
    return h;
  }

  breakers(priority: 'DEFAULT' | 'HIGH' = 'DEFAULT'): ClusterBreakers {
    return this.cb.get(priority);
  }

  poolFor(host: Host, priority: RoutingPriority = 'DEFAULT'): ConnectionPool {
    // A host that already left the cluster (picked just before an update) gets a pool that
    // closes its connections once its streams end.
    return this.pools.get(host, priority, !this.stopped && this.hosts.includes(host));
  }

  allHosts(): readonly Host[] {
    return this.hosts;
  }

  onRequestEnd(host: Host, latencyMs: number): void {
    this.lb.onRequestEnd?.(host, latencyMs);
  }

  /** The balancer's current cost of `host` (peak EWMA), for /clusters; undefined for other policies. */
  costOf(host: Host): number | undefined {
    return hostCost(this.lb, host);
  }

  // --- DiscoverySink (control path) ---

  setHosts(list: readonly DiscoveredHost[]): void {
    if (this.stopped) return;
    const current = new Map<string, Host>();
    for (const h of this.hosts) current.set(identity(h), h);
    const next: Host[] = [];
    const seen = new Set<string>();
    let changed = false;
    const carried = this.carried;
    this.carried = null;
    let adopted: Array<[Host, number]> | null = null;
    for (const d of list) {
      const i = d.init;
      const probe = new Host(i);
      const id = identity(probe);
      if (seen.has(id)) continue; // the same address twice (e.g. two names resolving alike)
      seen.add(id);
      let h = current.get(id);
      const kept = h === undefined ? carried?.get(id) : undefined;
      if (kept !== undefined) {
        h = kept;
        if (adopted === null) adopted = [];
        adopted.push([kept, kept.healthFlags]);
        if (this.loadStats !== null) h.load = this.loadStats.countersFor(h.locality, h.priority);
        changed = true;
      } else if (h === undefined) {
        h = probe;
        // LRS: the same counters object for every host of this locality and priority.
        if (this.loadStats !== null) h.load = this.loadStats.countersFor(h.locality, h.priority);
        changed = true;
      } else current.delete(id);
      const flags = (h.healthFlags & ~EDS_FLAGS) | d.edsHealthFlags;
      if (flags !== h.healthFlags) {
        h.healthFlags = flags;
        changed = true;
      }
      next.push(h);
    }
    // Hosts that left: their pools drain (requests in flight finish), then close.
    for (const gone of current.values()) {
      changed = true;
      this.pools.drainHost(gone);
    }
    if (changed || next.length !== this.hosts.length) {
      this.hosts = next;
      this.loadStats?.setHosts(next);
      this.stats.membership_change.inc();
      this.rebuild();
    }
    if (adopted !== null) {
      // After the checkers saw the hosts (rebuild ran the listeners): restore carried health.
      for (const [h, flags] of adopted) {
        if (this.health !== null) this.health.adopt(h, flags, this.previousHealth);
        else h.healthFlags &= ~CARRIED_HEALTH_FLAGS;
      }
      this.previousHealth = null;
      this.rebuild();
    }
    this.finishInit();
  }

  updateResult(ok: boolean): void {
    this.stats.update_attempt.inc();
    if (ok) this.stats.update_success.inc();
    else {
      this.stats.update_failure.inc();
      this.finishInit();
    }
  }

  /** EDS: endpoints pushed by the control plane (an EDS cluster has no hosts until then). */
  updateEndpoints(assignment: LoadAssignmentModel): void {
    this.stats.update_attempt.inc();
    const weights = localityWeightsOf(assignment);
    const weightsChanged = !localityWeightsEqual(weights, this.localityWeights);
    this.localityWeights = weights;
    const before = this.stats.membership_change.value;
    this.setHosts(hostsFromAssignment(assignment));
    // Only the locality weights moved: the host set is the same but the split is not.
    if (
      weightsChanged &&
      this.model.commonLb?.localityWeighted === true &&
      before === this.stats.membership_change.value
    ) {
      this.rebuild();
    }
    this.stats.update_success.inc();
  }

  /** Health checking / outlier detection changed host health flags: rebuild the balancer. */
  refreshHealth(): void {
    if (!this.stopped) this.rebuild();
  }

  /** Called after every membership or health change (health checkers, /clusters). */
  onHostsChanged(cb: () => void): void {
    this.listeners.push(cb);
  }

  /** Stops discovery; pools finish their streams and close. */
  drain(): void {
    this.stop();
    this.pools.drainAll();
  }

  /** Stops discovery and closes every connection now. */
  destroy(): void {
    this.stop();
    this.pools.destroyAll();
  }

  /** Pools currently held, both priorities (for tests and /clusters). */
  get poolCount(): number {
    return this.pools.size;
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.discovery?.stop();
    this.health?.stop();
    this.finishInit();
  }

  private finishInit(): void {
    if (this.isInitialized) return;
    this.isInitialized = true;
    this.markInitialized();
  }

  private rebuild(): void {
    const hosts = this.hosts;
    let healthy = 0;
    let degraded = 0;
    for (const h of hosts) {
      if (h.healthy) healthy++;
      if (h.degraded) degraded++;
    }
    const s = this.stats;
    s.membership_total.set(hosts.length);
    s.membership_healthy.set(healthy);
    s.membership_degraded.set(degraded);
    const common = this.model.commonLb;
    const { eligible, panic } = selectEligible(
      hosts,
      healthy,
      this.model.loadAssignment.overprovisioningFactor,
      common === undefined ? PANIC_THRESHOLD : common.healthyPanicThresholdPercent / 100,
    );
    this.panic = panic;
    const byKey = new Map<string, Host>();
    for (const h of hosts) byKey.set(h.key, h);
    this.byKey = byKey;
    // Several priority levels (without locality weighting): Envoy's priority load spill-over
    // (proxy/upstream/priority-load.ts) takes the place of the single-level selection.
    const m = this.model;
    const prio =
      common?.localityWeighted === true
        ? null
        : buildPriorityLb(
            hosts,
            m.loadAssignment.overprovisioningFactor,
            common === undefined ? PANIC_THRESHOLD : common.healthyPanicThresholdPercent / 100,
            (hs, prev) => m.lbFactory.create(hs, m.lbConfig, prev),
            this.lb,
          );
    if (prio !== null) this.panic = prio.panic;
    this.lb =
      prio !== null
        ? prio
        : common?.localityWeighted === true
          ? new LocalityWeightedLoadBalancer(
              eligible,
              hosts,
              this.localityWeights,
              this.model.loadAssignment.overprovisioningFactor,
              this.model.lbFactory,
              this.model.lbConfig,
              this.lb,
            )
          : this.model.lbFactory.create(eligible, this.model.lbConfig, this.lb);
    for (const cb of this.listeners) cb();
  }
}

/** Health flags a kept host loses when the new config has no health checking at all. */
const CARRIED_HEALTH_FLAGS =
  HealthFlag.FailedActiveHc |
  HealthFlag.PendingActiveHc |
  HealthFlag.ActiveHcTimeout |
  HealthFlag.DegradedActiveHc |
  HealthFlag.FailedOutlierCheck;

/** What makes two hosts the same across updates (a changed health-check port is a new host too). */
function identity(h: Host): string {
  return `${h.key}|${h.hostname}|${h.weight}|${h.priority}|${localityKey(h.locality)}|${h.healthCheckPort}`;
}

/** The hosts the balancer may pick, per the rules in the header comment. */
function selectEligible(
  hosts: readonly Host[],
  healthyCount: number,
  overprovisioning: number,
  panicThreshold: number,
): { eligible: Host[]; panic: boolean } {
  if (hosts.length === 0) return { eligible: [], panic: false };
  if (healthyCount / hosts.length < panicThreshold) {
    let lowest = Number.POSITIVE_INFINITY;
    for (const h of hosts) lowest = Math.min(lowest, h.priority);
    return { eligible: hosts.filter((h) => h.priority === lowest), panic: true };
  }
  const levels = new Map<number, { total: number; healthy: Host[] }>();
  for (const h of hosts) {
    let l = levels.get(h.priority);
    if (l === undefined) {
      l = { total: 0, healthy: [] };
      levels.set(h.priority, l);
    }
    l.total++;
    if (h.healthy) l.healthy.push(h);
  }
  const order = [...levels.keys()].sort((a, b) => a - b);
  for (const p of order) {
    const l = levels.get(p)!;
    if ((l.healthy.length / l.total) * (overprovisioning / 100) >= 1 || l.healthy.length === l.total) {
      return { eligible: l.healthy, panic: false };
    }
  }
  return { eligible: hosts.filter((h) => h.healthy), panic: false };
}
