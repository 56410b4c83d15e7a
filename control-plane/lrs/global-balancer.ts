/**
 * Global load balancing: the weights each cluster's localities should get, from the weights
 * configured for them and the load every proxy reported (LoadStore), by the rule in
 * locality-weights.ts.
 *
 *   decideClusterWeights(store, 'backend', configured)   // one decision, nothing kept
 *
 *   const balancer = new GlobalBalancer({
 *     store: lrs.store,
 *     configured: () => meshLocalityWeights(),            // cluster → (locality key → weight)
 *     apply: (cluster, weights) => pushEdsWithWeights(cluster, weights),
 *     intervalMs: 10_000,
 *   });
 *   balancer.start();
 *
 * Only configured localities are weighted: one the proxies report but the mesh no longer lists is
 * ignored, and a configured one nobody reported yet counts as healthy and idle. The balancer calls
 * `apply` only when a cluster's weights moved by at least `minShareChange` of the traffic (or its
 * localities changed), so reporting noise does not turn into an EDS push every interval; and it
 * feeds the weights it applied back as `previous`, so `smoothing` works across rounds.
 */
import type { LoadStore } from './load-store.js';
import {
  decideLocalityWeights,
  type LocalityLoadInput,
  type LocalityWeightDecision,
  type LocalityWeightOptions,
} from './locality-weights.js';

export function decideClusterWeights(
  store: LoadStore,
  cluster: string,
  configured: ReadonlyMap<string, number>,
  options?: LocalityWeightOptions,
): LocalityWeightDecision[] {
  const load = store.clusterWindow(cluster);
  const inputs: LocalityLoadInput[] = [];
  for (const [key, weight] of configured) {
    const l = load.get(key);
    inputs.push({
      key,
      weight,
      success: l?.success ?? 0,
      error: l?.error ?? 0,
      inProgress: l?.inProgress ?? 0,
    });
  }
  return decideLocalityWeights(inputs, options);
}

export type ConfiguredWeights = ReadonlyMap<string, ReadonlyMap<string, number>>;

export interface GlobalBalancerOptions {
  readonly store: LoadStore;
  /** The clusters to balance, each with its configured locality weights; read every round. */
  readonly configured: () => ConfiguredWeights;
  /** Called with a cluster's new weights when they changed enough to be worth serving. */
  readonly apply: (
    cluster: string,
    weights: ReadonlyMap<string, number>,
    decisions: readonly LocalityWeightDecision[],
  ) => void;
  /** How often a round runs once started (default 10 s). */
  readonly intervalMs?: number;
  readonly weights?: Omit<LocalityWeightOptions, 'previous'>;
  /** Smallest change of any locality's share that is applied (default 0.02: two points of traffic). */
  readonly minShareChange?: number;
  readonly onError?: (err: unknown) => void;
}

export class GlobalBalancer {
  /** The weights last applied, per cluster. */
  private readonly applied = new Map<string, ReadonlyMap<string, number>>();
  private timer: NodeJS.Timeout | null = null;
  private readonly intervalMs: number;
  private readonly minShareChange: number;

  constructor(private readonly options: GlobalBalancerOptions) {
    this.intervalMs = options.intervalMs ?? 10_000;
    this.minShareChange = options.minShareChange ?? 0.02;
    if (!(this.intervalMs > 0)) throw new RangeError('intervalMs must be > 0');
    if (!(this.minShareChange >= 0)) throw new RangeError('minShareChange must be >= 0');
  }

  /** The weights last applied to `cluster`, if any. */
  current(cluster: string): ReadonlyMap<string, number> | undefined {
    return this.applied.get(cluster);
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      try {
        this.runOnce();
      } catch (err) {
        this.options.onError?.(err);
      }
    }, this.intervalMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One round over every configured cluster; returns the clusters whose weights were applied. */
  runOnce(): string[] {
    const changed: string[] = [];
    this.options.store.prune();
    const configured = this.options.configured();
    for (const cluster of [...this.applied.keys()])
      if (!configured.has(cluster)) this.applied.delete(cluster);
    for (const [cluster, weights] of configured) {
      const previous = this.applied.get(cluster);
      const decisions = decideClusterWeights(this.options.store, cluster, weights, {
        ...this.options.weights,
        previous,
      });
      const next = new Map(decisions.map((d) => [d.key, d.weight]));
      if (previous !== undefined && !this.movedEnough(previous, next)) continue;
      this.applied.set(cluster, next);
      changed.push(cluster);
      this.options.apply(cluster, next, decisions);
    }
    return changed;
  }

  private movedEnough(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): boolean {
    if (before.size !== after.size) return true;
    const totalBefore = total(before);
    const totalAfter = total(after);
    for (const [key, w] of after) {
      const b = before.get(key);
      if (b === undefined) return true;
      const shareBefore = totalBefore > 0 ? b / totalBefore : 0;
      const shareAfter = totalAfter > 0 ? w / totalAfter : 0;
      if (Math.abs(shareAfter - shareBefore) >= this.minShareChange) return true;
    }
    return false;
  }
}

function total(m: ReadonlyMap<string, number>): number {
  let t = 0;
  for (const v of m.values()) t += v;
  return t;
}
