/**
 * Load reporting and global load balancing in the control plane: the LRS sink served on the ADS
 * server's port, and a GlobalBalancer whose decisions become the locality weights
 * (LocalityLbEndpoints.load_balancing_weight) of the EDS resources this server pushes.
 *
 * The loop: every proxy reports per-locality load (control-plane/lrs/lrs-server.ts); each round
 * the balancer weighs every service's localities from their configured weight (the mesh's: the
 * sum of a locality's endpoint weights) and the reported errors and load
 * (control-plane/lrs/locality-weights.ts); when a service's split moved enough, its EDS resource is
 * rebuilt with the new weights and pushed to every proxy. Clusters are served with
 * `lrs_server: {self: {}}` and `locality_weighted_lb_config`, so proxyless gRPC reports here and
 * Envoy and remora follow the weights.
 */
import type { ExtraGrpcService } from './ads-server.js';
import type { LocalityWeightDecision, LocalityWeightOptions } from './lrs/index.js';
import { type ConfiguredWeights, GlobalBalancer, LoadReportingServer } from './lrs/index.js';
import type { Mesh } from './mesh.js';
import { configuredLocalityWeights } from './resources.js';
import { buildSnapshot, type Snapshot } from './snapshot.js';

export interface GlobalBalancingOptions {
  /** How often proxies report and the balancer decides (ms; default 10 s). */
  readonly intervalMs?: number;
  /** The load window decisions look at (ms; default 30 s). */
  readonly windowMs?: number;
  readonly weights?: Omit<LocalityWeightOptions, 'previous'>;
  /** Smallest change of a locality's share that is pushed (default 0.02). */
  readonly minShareChange?: number;
  /** A service's weights changed and are being pushed. */
  readonly onWeights?: (
    cluster: string,
    weights: ReadonlyMap<string, number>,
    decisions: readonly LocalityWeightDecision[],
  ) => void;
  readonly onError?: (err: unknown) => void;
}

export class GlobalBalancing {
  readonly lrs: LoadReportingServer;
  readonly balancer: GlobalBalancer;
  private mesh: Mesh | null = null;
  /** Per cluster, the weights decided last (what the EDS resources carry). */
  private readonly weights = new Map<string, ReadonlyMap<string, number>>();
  private readonly decisions = new Map<string, readonly LocalityWeightDecision[]>();
  /** Receives every snapshot rebuilt for new weights (the ADS server's setSnapshot). */
  private publish: ((snapshot: Snapshot) => void) | null = null;
  /** True while setMesh runs its own round (it returns the snapshot instead of publishing). */
  private building = false;

  constructor(private readonly options: GlobalBalancingOptions = {}) {
    const intervalMs = options.intervalMs ?? 10_000;
    this.lrs = new LoadReportingServer({
      policy: { clusters: 'all', intervalMs },
      windowMs: options.windowMs,
    });
    this.balancer = new GlobalBalancer({
      store: this.lrs.store,
      configured: () => this.configured(),
      apply: (cluster, weights, decisions) => this.apply(cluster, weights, decisions),
      intervalMs,
      weights: options.weights,
      minShareChange: options.minShareChange,
      onError: options.onError,
    });
  }

  /** The LRS service, for AdsServerOptions.extraServices. */
  service(): ExtraGrpcService {
    return {
      definition: LoadReportingServer.serviceDefinition(),
      implementation: this.lrs.implementation(),
    };
  }

  /**
   * A new mesh: decides weights for it at once (services added or changed get theirs) and returns
   * the snapshot to serve. Snapshots rebuilt later for new weights go to `publish`.
   */
  setMesh(mesh: Mesh): Snapshot {
    this.mesh = mesh;
    this.building = true;
    try {
      this.balancer.runOnce();
    } catch (err) {
      this.options.onError?.(err);
    } finally {
      this.building = false;
    }
    return this.snapshot(mesh);
  }

  /** Starts the rounds; every snapshot rebuilt for new weights goes to `publish`. */
  start(publish: (snapshot: Snapshot) => void): void {
    this.publish = publish;
    this.balancer.start();
  }

  /** Stops the rounds and ends every LRS stream. */
  close(): void {
    this.publish = null;
    this.balancer.stop();
    this.lrs.close();
  }

  /** The weights currently served for `cluster` (undefined: the mesh's own). */
  weightsOf(cluster: string): ReadonlyMap<string, number> | undefined {
    return this.weights.get(cluster);
  }

  /** For the status endpoint: the LRS sink's view and each service's weights with their reasons. */
  status(): object {
    const clusters: Record<string, object> = {};
    for (const [cluster, decisions] of this.decisions) {
      clusters[cluster] = decisions.map((d) => ({
        locality: d.key,
        weight: d.weight,
        share: round(d.share),
        error_rate: round(d.errorRate),
        health: round(d.health),
        load_factor: round(d.loadFactor),
      }));
    }
    return { ...this.lrs.status(), weights: clusters };
  }

  private configured(): ConfiguredWeights {
    const out = new Map<string, ReadonlyMap<string, number>>();
    for (const s of this.mesh?.services ?? []) out.set(s.name, configuredLocalityWeights(s));
    // Services gone from the mesh take their decisions with them.
    for (const c of [...this.weights.keys()]) {
      if (!out.has(c)) {
        this.weights.delete(c);
        this.decisions.delete(c);
      }
    }
    return out;
  }

  private apply(
    cluster: string,
    weights: ReadonlyMap<string, number>,
    decisions: readonly LocalityWeightDecision[],
  ): void {
    this.weights.set(cluster, weights);
    this.decisions.set(cluster, decisions);
    this.options.onWeights?.(cluster, weights, decisions);
    const mesh = this.mesh;
    if (!this.building && mesh !== null && this.publish !== null) this.publish(this.snapshot(mesh));
  }

  private snapshot(mesh: Mesh): Snapshot {
    const configured = new Map(mesh.services.map((s) => [s.name, configuredLocalityWeights(s)]));
    return buildSnapshot(mesh, {
      lrs: true,
      localityWeights: (cluster) => {
        const w = this.weights.get(cluster);
        const c = configured.get(cluster);
        // Decided weights replace the mesh's only for the same set of localities: mixing the two
        // scales (decisions sum to ~1000, endpoint weights to a few) would skew the split.
        if (w === undefined || c === undefined || !sameKeys(w, c)) return undefined;
        return w;
      },
    });
  }
}

function sameKeys(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a.keys()) if (!b.has(k)) return false;
  return true;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
