/**
 * CDS and EDS applied to the cluster manager, with Envoy's cluster warming: a new or changed EDS
 * cluster enters the cluster manager only once its ClusterLoadAssignment arrived (or the EDS fetch
 * timed out / the assignment does not exist: then it serves with no endpoints, as Envoy does), so a
 * route never sees a cluster that exists but has no hosts yet. Non-EDS clusters (STATIC, DNS) are
 * installed at once; their own discovery fills them.
 *
 * An unchanged cluster is not touched (the client does not report equal resources, and
 * ClusterManager.addOrUpdate keeps an equal model with its pools); a changed one replaces the old
 * in one map assignment, the old one's pools drain; a removed one drains. EDS subscriptions follow
 * the clusters: one per service name, released when no cluster names it any more.
 */
import {
  type ResourceType,
  runInSlices,
  SLICE_MS,
  sliceOver,
  type XdsClient,
} from '../../../control-client/index.js';
import type { LoadAssignmentModel } from '../../model/cluster.js';
import type { StatsStore } from '../../observability/stats.js';
import type { ClusterManager } from '../../upstream/cluster-manager.js';
import type { ManagedCluster } from '../../upstream/managed-cluster.js';
import { EMPTY_LOAD_ASSIGNMENT } from '../cluster-load-assignment.js';
import type { ClusterResource, DecodedResource, EndpointResource } from '../resource-types.js';

export interface ClusterSyncDeps {
  readonly client: XdsClient;
  readonly clusterType: ResourceType<ClusterResource, DecodedResource>;
  readonly endpointType: ResourceType<EndpointResource, DecodedResource>;
  readonly clusterManager: ClusterManager;
  /** For cluster.<name>.update_rejected when an EDS response is NACKed. */
  readonly stats: StatsStore;
  /** Called after each applied change (stats, snapshot persistence, init checks). */
  readonly changed: () => void;
  readonly warn: (msg: string, err?: unknown) => void;
}

export interface ActiveClusterInfo {
  readonly resource: ClusterResource;
  readonly lastUpdatedMs: number;
}

export class ClusterSync {
  /** Installed in the cluster manager. */
  readonly active = new Map<string, ActiveClusterInfo>();
  /** EDS clusters waiting for their endpoints. */
  readonly warming = new Map<string, ClusterResource>();
  /** EDS service name → its last assignment (EMPTY when it does not exist or timed out). */
  private readonly assignments = new Map<string, LoadAssignmentModel>();
  private readonly edsWatches = new Map<string, () => void>();
  private readonly pendingCds = new Map<string, ClusterResource | null>();
  private readonly pendingEds = new Set<string>();
  private cancelCds: (() => void) | null = null;
  /** stop() ran: a CDS build still in progress is thrown away instead of committed. */
  private stopped = false;
  /** Set by applyAtOnce(): a CDS batch is built and committed in the turn it arrives. */
  private atOnce = false;

  constructor(private readonly deps: ClusterSyncDeps) {}

  start(): void {
    this.cancelCds = this.deps.client.watch(this.deps.clusterType, '*', {
      onUpdate: (name, v) => this.pendingCds.set(name, v),
      onDoesNotExist: (name) => this.pendingCds.set(name, null),
      onBatchEnd: () => this.applyCds(),
    });
  }

  /**
   * Runs `fn` with CDS batches applied in the turn they arrive, not in slices: a snapshot restore
   * at startup (nothing is served yet) needs the clusters, and the EDS subscriptions they make, in
   * place before it restores the endpoints right after.
   */
  applyAtOnce(fn: () => void): void {
    this.atOnce = true;
    try {
      fn();
    } finally {
      this.atOnce = false;
    }
  }

  /** CDS answered (or timed out) and no cluster is still warming. */
  get initialized(): boolean {
    return this.deps.client.isInitialFetchDone(this.deps.clusterType.typeUrl) && this.warming.size === 0;
  }

  stop(): void {
    this.stopped = true;
    this.cancelCds?.();
    for (const c of this.edsWatches.values()) c();
    this.edsWatches.clear();
  }

  /**
   * Applies one CDS batch in two steps (docs/xds.md, "Scale"). Build: the new and changed clusters
   * are constructed off to the side in slices of a few milliseconds, so traffic and EDS updates
   * (which the xDS client lets through meanwhile) are not held up by a 10,000-cluster CDS. Commit:
   * in one turn every cluster is installed and every removal made, so routing never sees half of
   * the update; each EDS cluster takes its endpoints as they are at the commit, so an EDS update
   * that arrived during the build is not lost. The client sends the ACK after the commit, and the
   * next CDS response waits for it, so at most one build is in progress.
   */
  private applyCds(): Promise<void> | undefined {
    const batch = [...this.pendingCds];
    this.pendingCds.clear();
    const cm = this.deps.clusterManager;
    const staged = new Map<string, ManagedCluster>();
    const build = sliceOver(batch.length, (i) => {
      const v = batch[i][1];
      // Removals need no building; an EDS cluster without endpoints yet will warm instead.
      if (this.stopped || v === null) return;
      if (v.model.type === 'EDS' && !this.assignments.has(v.model.edsServiceName)) return;
      try {
        const c = cm.stage(v.model);
        if (c !== null) staged.set(v.model.name, c);
      } catch {
        // install() tries again in the commit and reports it there.
      }
    });
    const building = runInSlices(build, this.atOnce ? Number.POSITIVE_INFINITY : SLICE_MS);
    if (building === null) {
      this.commitCds(batch, staged);
      return undefined;
    }
    return building.then(() => this.commitCds(batch, staged));
  }

  private commitCds(
    batch: ReadonlyArray<[string, ClusterResource | null]>,
    staged: ReadonlyMap<string, ManagedCluster>,
  ): void {
    if (this.stopped) {
      for (const c of staged.values()) this.deps.clusterManager.discard(c);
      return;
    }
    for (const [name, v] of batch) {
      if (v === null) {
        this.warming.delete(name);
        if (this.active.delete(name)) this.deps.clusterManager.remove(name);
        continue;
      }
      const built = staged.get(name);
      if (v.model.type !== 'EDS') {
        this.install(v, null, built);
        continue;
      }
      const service = v.model.edsServiceName;
      this.watchEds(service);
      const a = this.assignments.get(service);
      if (a !== undefined) this.install(v, a, built);
      else {
        // Its endpoints were known when it was built but not any more: it warms like a new one.
        if (built !== undefined) this.deps.clusterManager.discard(built);
        this.warming.set(name, v);
      }
    }
    this.releaseUnusedEds();
    this.deps.changed();
  }

  /** Installs a cluster (built now, or earlier by stage()), with its endpoints if it is an EDS one. */
  private install(v: ClusterResource, assignment: LoadAssignmentModel | null, built?: ManagedCluster): void {
    const name = v.model.name;
    this.warming.delete(name);
    const cm = this.deps.clusterManager;
    try {
      const change = built === undefined ? cm.addOrUpdate(v.model) : cm.install(built);
      // A new EDS cluster starts empty: give it its endpoints in the same turn, before any request
      // can pick it. An unchanged one already has them.
      if (assignment !== null && change !== 'unchanged') cm.get(name)?.updateEndpoints(assignment);
      this.active.set(name, { resource: v, lastUpdatedMs: Date.now() });
    } catch (err) {
      // Validation accepted it, so this is a bug; keep serving the rest.
      this.deps.warn(`cluster ${name} could not be installed`, err);
    }
  }

  private watchEds(service: string): void {
    if (this.edsWatches.has(service)) return;
    const cancel = this.deps.client.watch(this.deps.endpointType, service, {
      onUpdate: (name, v) => {
        this.assignments.set(name, v.model);
        this.pendingEds.add(name);
      },
      onDoesNotExist: (name) => {
        this.assignments.set(name, EMPTY_LOAD_ASSIGNMENT);
        this.pendingEds.add(name);
      },
      // A NACK is per response: every cluster of every subscribed service counts it (Envoy's
      // cluster.<name>.update_rejected); the cluster keeps its endpoints.
      onError: () => this.countRejected(service),
      onBatchEnd: () => this.applyEds(),
    });
    this.edsWatches.set(service, cancel);
  }

  private applyEds(): void {
    if (this.pendingEds.size === 0) return;
    const services = new Set(this.pendingEds);
    this.pendingEds.clear();
    // Active clusters first: the warming ones installed below get their endpoints in install().
    for (const [name, info] of this.active) {
      const m = info.resource.model;
      if (m.type !== 'EDS' || !services.has(m.edsServiceName)) continue;
      const a = this.assignments.get(m.edsServiceName);
      if (a !== undefined) this.deps.clusterManager.get(name)?.updateEndpoints(a);
    }
    for (const v of [...this.warming.values()]) {
      const a = this.assignments.get(v.model.edsServiceName);
      if (a !== undefined && services.has(v.model.edsServiceName)) this.install(v, a);
    }
    // A warmed replacement may have left its predecessor's service name unused.
    this.releaseUnusedEds();
    this.deps.changed();
  }

  private countRejected(service: string): void {
    const names = new Set<string>();
    for (const [name, i] of this.active) if (i.resource.model.edsServiceName === service) names.add(name);
    for (const [name, v] of this.warming) if (v.model.edsServiceName === service) names.add(name);
    for (const name of names) {
      this.deps.stats.counter(`cluster.${name}.update_attempt`).inc();
      this.deps.stats.counter(`cluster.${name}.update_rejected`).inc();
    }
  }

  private releaseUnusedEds(): void {
    const used = new Set<string>();
    for (const i of this.active.values())
      if (i.resource.model.type === 'EDS') used.add(i.resource.model.edsServiceName);
    for (const v of this.warming.values()) used.add(v.model.edsServiceName);
    for (const [service, cancel] of this.edsWatches) {
      if (used.has(service)) continue;
      cancel();
      this.edsWatches.delete(service);
      this.assignments.delete(service);
    }
  }

  /** EDS service names subscribed now. */
  edsServiceNames(): string[] {
    return [...this.edsWatches.keys()];
  }
}
