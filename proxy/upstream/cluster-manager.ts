import { Issues } from '../config/issues.js';
import { type ClusterModel, clusterModelsEqual } from '../model/cluster.js';
import type { StatsStore } from '../observability/stats.js';
import type { ClusterLookup } from './cluster.js';
import type { ClusterDiscoveryFactory } from './discovery.js';
import { type EventLogger, logHealthEvents } from './health/cluster-health.js';
import type { LoadStatsStore } from './load-stats.js';
import { ManagedCluster } from './managed-cluster.js';

/** A logger that can name the cluster on every event line (a pino logger satisfies it). */
export interface HealthEventLog {
  child(bindings: { cluster: string }): EventLogger;
}

/**
 * Owns every running cluster by name. Clusters come and go as config changes (bootstrap now, CDS
 * later): an update with an equal model keeps the running cluster with its pools, host health and
 * balancer state; a changed model builds a new cluster and drains the old one's pools, so requests
 * that already picked a host on the old one finish there. Lookups are a map get: the data path
 * holds no lock and never sees a half-built cluster.
 */
export interface ClusterManagerDeps {
  readonly stats: StatsStore;
  /** Discovery factories by Cluster.type (STATIC, STRICT_DNS, LOGICAL_DNS); EDS needs none. */
  readonly discoveries: ReadonlyMap<string, ClusterDiscoveryFactory>;
  /**
   * Per-locality load for load reporting (LRS); absent or null when the proxy reports none (the
   * hosts then carry no counters and the router does nothing extra per request).
   */
  readonly loadStats?: LoadStatsStore | null;
  /** Where outlier ejections and active health transitions are logged as events (Envoy's event log). */
  readonly healthEvents?: HealthEventLog | null;
}

export type ClusterChange = 'added' | 'updated' | 'unchanged';

export class ClusterManager implements ClusterLookup {
  private readonly clusters = new Map<string, ManagedCluster>();
  private readonly stats: StatsStore;
  private readonly discoveries: ReadonlyMap<string, ClusterDiscoveryFactory>;
  private readonly loadStats: LoadStatsStore | null;
  private readonly healthEvents: HealthEventLog | null;
  /** Names removed this turn whose stats are yet to be dropped (see forgetStats). */
  private statsToForget = new Set<string>();

  constructor(deps: ClusterManagerDeps) {
    this.stats = deps.stats;
    this.discoveries = deps.discoveries;
    this.loadStats = deps.loadStats ?? null;
    this.healthEvents = deps.healthEvents ?? null;
  }

  get(name: string): ManagedCluster | undefined {
    return this.clusters.get(name);
  }

  names(): string[] {
    return [...this.clusters.keys()];
  }

  all(): IterableIterator<ManagedCluster> {
    return this.clusters.values();
  }

  /**
   * Checks that every model can be built (its discovery type is registered). Reports under
   * `path[i]`; call before addOrUpdate so bad config is rejected as a whole.
   */
  validate(models: readonly ClusterModel[], path: string, issues: Issues): void {
    const seen = new Set<string>();
    models.forEach((m, i) => {
      if (m.type !== 'EDS' && !this.discoveries.has(m.type)) {
        issues.error(`${path}[${i}].type`, `cluster type ${m.type} is not supported`);
      }
      if (seen.has(m.name)) issues.error(`${path}[${i}].name`, `duplicate cluster name ${m.name}`);
      seen.add(m.name);
    });
  }

  /** Adds a cluster or replaces one of the same name (kept as is when the model is equal). */
  addOrUpdate(model: ClusterModel): ClusterChange {
    const staged = this.stage(model);
    return staged === null ? 'unchanged' : this.install(staged);
  }

  /**
   * Builds the cluster for `model` without installing it (null when the installed one has an equal
   * model): lookups do not see it, and it starts nothing that outside code would notice (see
   * ManagedCluster's startNow). A CDS update builds its clusters this way in slices, then installs
   * them all in one turn, so routing sees the cluster set change at once. Throws for a discovery
   * type that is not registered.
   */
  stage(model: ClusterModel): ManagedCluster | null {
    // A name removed earlier this turn must start from zero: drop its old stats before new ones.
    if (this.statsToForget.has(model.name)) this.flushForgottenStats();
    const old = this.clusters.get(model.name);
    if (old !== undefined && clusterModelsEqual(old.model, model)) return null;
    const discovery = model.type === 'EDS' ? null : this.discoveries.get(model.type);
    if (discovery === undefined) {
      const issues = new Issues();
      issues.error(`clusters.${model.name}.type`, `cluster type ${model.type} is not supported`);
      issues.throwIfErrors(`cluster ${model.name}`);
    }
    const c = new ManagedCluster(model, this.stats, discovery?.create(model) ?? null, null, null, false);
    // Fully built now when that is invisible (a new STATIC cluster): the install is then a map set.
    if (old === undefined && this.loadStats === null && c.startsQuietly) c.start(null, null);
    return c;
  }

  /**
   * Installs a cluster from stage(): it replaces the one of its name, whose pools drain. If the
   * installed one is by now equal to it (installed meanwhile), the staged one is dropped instead.
   */
  install(staged: ManagedCluster): ClusterChange {
    const name = staged.name;
    this.statsToForget.delete(name);
    const old = this.clusters.get(name);
    if (old !== undefined && clusterModelsEqual(old.model, staged.model)) {
      staged.destroy();
      return 'unchanged';
    }
    // An updated cluster keeps its load counters (same name), so reports continue across CDS updates.
    const load = this.loadStats === null ? null : this.loadStats.cluster(name, staged.model.edsServiceName);
    // Hosts kept by the update keep their health (active check flags, outlier ejections), as in Envoy.
    staged.start(load, old ?? null);
    this.clusters.set(name, staged);
    if (this.healthEvents !== null && staged.health !== null)
      logHealthEvents(staged.health, this.healthEvents.child({ cluster: name }));
    if (old === undefined) return 'added';
    old.drain();
    return 'updated';
  }

  /** A staged cluster that will not be installed: closed, and its stats dropped if nothing else owns them. */
  discard(staged: ManagedCluster): void {
    staged.destroy();
    if (this.clusters.get(staged.name) === undefined) this.forgetStats(staged.name);
  }

  /** Removes a cluster; its pools drain. False when there was none by that name. */
  remove(name: string): boolean {
    const c = this.clusters.get(name);
    if (c === undefined) return false;
    this.clusters.delete(name);
    c.drain();
    this.loadStats?.remove(name);
    this.forgetStats(name);
    return true;
  }

  /**
   * A cluster removed for good leaves no stats behind (CDS churn would grow the store forever);
   * added back later it starts from zero, as in Envoy. Removals are batched to the end of the
   * turn so a CDS update removing thousands of clusters costs one pass over the store, not one
   * per cluster; a name added back in the same turn is flushed first (it must start fresh).
   * The draining pools still hold their counter objects; what they count is no longer listed.
   */
  private forgetStats(name: string): void {
    if (this.statsToForget.size === 0) queueMicrotask(() => this.flushForgottenStats());
    this.statsToForget.add(name);
  }

  private flushForgottenStats(): void {
    const gone = this.statsToForget;
    if (gone.size === 0) return;
    const live = this.clusters;
    this.statsToForget = new Set();
    this.stats.removeWhere((stat) => {
      if (!stat.startsWith('cluster.')) return false;
      // Cluster names may hold dots: the longest `cluster.<name>.` that names a cluster owns it.
      for (let dot = stat.lastIndexOf('.'); dot > 8; dot = stat.lastIndexOf('.', dot - 1)) {
        const owner = stat.slice(8, dot);
        if (live.has(owner)) return false;
        if (gone.has(owner)) return true;
      }
      return false;
    });
  }

  /**
   * Makes the set of clusters exactly `models` (state-of-the-world, as bootstrap and CDS deliver
   * it): adds new ones, updates changed ones, removes the rest.
   */
  setClusters(models: readonly ClusterModel[]): void {
    const keep = new Set<string>();
    for (const m of models) {
      keep.add(m.name);
      this.addOrUpdate(m);
    }
    for (const name of [...this.clusters.keys()]) if (!keep.has(name)) this.remove(name);
  }

  /** Resolves when every current cluster has its first host list (DNS answered, or failed). */
  async initialized(): Promise<void> {
    await Promise.all([...this.clusters.values()].map((c) => c.initialized));
  }

  /** Drains every cluster (graceful shutdown): no discovery, pools close when idle. */
  drainAll(): void {
    for (const c of this.clusters.values()) c.drain();
  }

  /** Closes everything now. */
  shutdown(): void {
    for (const c of this.clusters.values()) c.destroy();
    this.clusters.clear();
  }
}
