/**
 * The global load-balancing decision: per-locality weights for one cluster, from the configured
 * weights and the load the proxies reported (summed over every node, over the store's window).
 * The control plane writes the result into the cluster's ClusterLoadAssignment
 * (LocalityLbEndpoints.load_balancing_weight), so every proxy shifts traffic the same way.
 *
 * The rule, for each locality with a configured weight w > 0 (weight 0 stays 0: the operator's
 * "off" is never overridden):
 *
 * 1. Error penalty. With c = success + error completed requests in the window, and only when
 *    c >= minRequests (too few requests are no evidence), the error rate e = error / c.
 *    Rates up to errorTolerance are noise and cost nothing; above it,
 *      e' = (e − tolerance) / (1 − tolerance),   health h = (1 − e')².
 *    Squaring makes a locality failing half its requests keep a quarter of its weight, not half:
 *    traffic leaves a failing zone faster than the failure rate alone would move it.
 * 2. Load penalty. Requests in progress per unit of weight, d = inProgress / w, against the
 *    cluster's mean D = Σ inProgress / Σ w. By Little's law, with traffic split by weight, a
 *    locality holding more than its share of outstanding requests is slower than the others; when
 *    Σ inProgress >= minInFlight and d > D, its load factor is D / d (otherwise 1).
 * 3. raw = w × h × load factor; shares are raw / Σ raw. If every raw is 0 (everything failing),
 *    the configured split is kept: no locality is better than another, so moving traffic helps
 *    nobody.
 * 4. Minimum share: every locality keeps at least minShare of the traffic (default 5 %), so it is
 *    still probed and its recovery shows up in the next reports. Localities under the floor are
 *    raised to it and the rest is shared among the others in proportion to raw (repeated until no
 *    locality is under). With n × minShare >= 1 every locality gets 1/n.
 * 5. Smoothing (optional): with the previous weights given, each share moves only a fraction
 *    `smoothing` of the way to its target, so a burst of errors does not swing traffic at once.
 * 6. Weights are shares scaled to `scale` (default 1000) and rounded, at least 1: Envoy's locality
 *    weights are positive integers and 1/1000 resolution is enough to steer traffic.
 */

/** One locality's input: configured weight and observed load over the window. */
export interface LocalityLoadInput {
  readonly key: string;
  /** The configured load_balancing_weight; 0 keeps the locality off. */
  readonly weight: number;
  readonly success: number;
  readonly error: number;
  readonly inProgress: number;
}

export interface LocalityWeightOptions {
  /** Floor on each enabled locality's share of traffic, 0..1 (default 0.05). */
  readonly minShare?: number;
  /** Completed requests in the window below which the error rate is not trusted (default 20). */
  readonly minRequests?: number;
  /** Error rate treated as noise (default 0.01). */
  readonly errorTolerance?: number;
  /** Total in-progress requests below which load is not judged (default 10). */
  readonly minInFlight?: number;
  /** Sum of the output weights, roughly (default 1000). */
  readonly scale?: number;
  /** The weights currently served, for smoothing. */
  readonly previous?: ReadonlyMap<string, number>;
  /** Fraction of the way to the target each decision moves, 0 < s <= 1 (default 1: no smoothing). */
  readonly smoothing?: number;
}

/** The decision for one locality, with the factors that led to it (for status and logs). */
export interface LocalityWeightDecision {
  readonly key: string;
  readonly weight: number;
  readonly share: number;
  /** The error rate used (0 when there were too few requests to judge). */
  readonly errorRate: number;
  readonly health: number;
  readonly loadFactor: number;
}

const DEFAULTS = {
  minShare: 0.05,
  minRequests: 20,
  errorTolerance: 0.01,
  minInFlight: 10,
  scale: 1000,
  smoothing: 1,
};

/** Returns the decision per locality, in input order. Throws RangeError on invalid options. */
export function decideLocalityWeights(
  inputs: readonly LocalityLoadInput[],
  options: LocalityWeightOptions = {},
): LocalityWeightDecision[] {
  const o = { ...DEFAULTS, ...options };
  if (!(o.minShare >= 0 && o.minShare < 1)) throw new RangeError('minShare must be in [0, 1)');
  if (!(o.errorTolerance >= 0 && o.errorTolerance < 1))
    throw new RangeError('errorTolerance must be in [0, 1)');
  if (!(o.smoothing > 0 && o.smoothing <= 1)) throw new RangeError('smoothing must be in (0, 1]');
  if (!(o.scale >= 1)) throw new RangeError('scale must be >= 1');
  const enabled = inputs.filter((i) => i.weight > 0);
  const totalWeight = sum(enabled.map((i) => i.weight));
  const totalInFlight = sum(enabled.map((i) => Math.max(0, i.inProgress)));
  const meanDensity = totalWeight > 0 ? totalInFlight / totalWeight : 0;

  const factors = new Map<string, { errorRate: number; health: number; loadFactor: number; raw: number }>();
  for (const i of enabled) {
    const completed = i.success + i.error;
    const errorRate = completed >= o.minRequests && completed > 0 ? i.error / completed : 0;
    const excess = Math.max(0, errorRate - o.errorTolerance) / (1 - o.errorTolerance);
    const health = (1 - Math.min(1, excess)) ** 2;
    const density = Math.max(0, i.inProgress) / i.weight;
    const loadFactor = totalInFlight >= o.minInFlight && density > meanDensity ? meanDensity / density : 1;
    factors.set(i.key, { errorRate, health, loadFactor, raw: i.weight * health * loadFactor });
  }

  let raws = enabled.map((i) => factors.get(i.key)!.raw);
  // Everything failing: no locality is better than another; keep the configured split.
  if (sum(raws) <= 0) raws = enabled.map((i) => i.weight);
  let shares = withMinimumShare(raws, o.minShare);

  if (o.previous !== undefined && o.smoothing < 1) {
    const prev = enabled.map((i) => o.previous!.get(i.key) ?? 0);
    const prevTotal = sum(prev);
    if (prevTotal > 0) {
      shares = shares.map((s, k) => prev[k] / prevTotal + o.smoothing * (s - prev[k] / prevTotal));
      shares = withMinimumShare(shares, o.minShare);
    }
  }

  const byKey = new Map<string, number>();
  for (let k = 0; k < enabled.length; k++) byKey.set(enabled[k].key, shares[k]);
  return inputs.map((i) => {
    const f = factors.get(i.key);
    const share = byKey.get(i.key) ?? 0;
    return {
      key: i.key,
      weight: i.weight > 0 ? Math.max(1, Math.round(share * o.scale)) : 0,
      share,
      errorRate: f?.errorRate ?? 0,
      health: f?.health ?? 1,
      loadFactor: f?.loadFactor ?? 1,
    };
  });
}

/** The weights alone, by locality key. */
export function localityWeights(
  inputs: readonly LocalityLoadInput[],
  options?: LocalityWeightOptions,
): Map<string, number> {
  return new Map(decideLocalityWeights(inputs, options).map((d) => [d.key, d.weight]));
}

/**
 * Normalises `raws` into shares where none is below `floor`: shares under the floor are pinned to
 * it and the remaining mass is split among the others in proportion to their raw values, repeated
 * until stable (at most n rounds, since each round pins at least one more).
 */
export function withMinimumShare(raws: readonly number[], floor: number): number[] {
  const n = raws.length;
  if (n === 0) return [];
  if (floor * n >= 1) return raws.map(() => 1 / n);
  const pinned = new Array<boolean>(n).fill(false);
  let shares = raws.map(() => 0);
  for (let round = 0; round <= n; round++) {
    const free = raws.map((r, k) => (pinned[k] ? 0 : Math.max(0, r)));
    const freeTotal = sum(free);
    const freeMass = 1 - floor * pinned.filter(Boolean).length;
    const freeCount = pinned.filter((p) => !p).length;
    shares = raws.map((_, k) => {
      if (pinned[k]) return floor;
      return freeTotal > 0 ? (free[k] / freeTotal) * freeMass : freeMass / freeCount;
    });
    let changed = false;
    for (let k = 0; k < n; k++) {
      if (!pinned[k] && shares[k] < floor) {
        pinned[k] = true;
        changed = true;
      }
    }
    if (!changed) break;
  }
  return shares;
}

function sum(xs: readonly number[]): number {
  let t = 0;
  for (const x of xs) t += x;
  return t;
}
