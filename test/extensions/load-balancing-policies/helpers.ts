import { top53, U64 } from '../../../proxy/extensions/load-balancing-policies/common/u64.js';
import { xxHash64Into } from '../../../proxy/extensions/load-balancing-policies/common/xxhash64.js';
import { Host } from '../../../proxy/upstream/host.js';
import type { LbContext, LoadBalancer } from '../../../proxy/upstream/load-balancer.js';

/** n hosts 10.0.<i/250>.<i%250+1>:8080, with optional weights. */
export function makeHosts(n: number, weights?: readonly number[]): Host[] {
  const hosts: Host[] = [];
  for (let i = 0; i < n; i++) {
    hosts.push(
      new Host({
        address: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        port: 8080,
        weight: weights?.[i] ?? 1,
      }),
    );
  }
  return hosts;
}

export function ctxWithHash(
  hashKey: number | undefined,
  previousHosts: readonly Host[] | null = null,
): LbContext {
  return { hashKey, previousHosts, downstreamAddress: '127.0.0.1:50000' };
}

const encoder = new TextEncoder();
const out = new U64();

/** The request hash a route hash policy would produce for `s`: top 53 bits of xxHash64. */
export function requestHash(s: string): number {
  const b = encoder.encode(s);
  xxHash64Into(b, b.length, 0, out);
  return top53(out.hi, out.lo);
}

/** Picks `n` times and counts per host (in `hosts` order). */
export function countPicks(
  lb: LoadBalancer,
  hosts: readonly Host[],
  n: number,
  ctx: LbContext | null = null,
): number[] {
  const index = new Map(hosts.map((h, i) => [h, i]));
  const counts = new Array<number>(hosts.length).fill(0);
  for (let i = 0; i < n; i++) {
    const h = lb.chooseHost(ctx);
    if (h === null) throw new Error('no host');
    counts[index.get(h)!]++;
  }
  return counts;
}

/** Pearson's chi-square statistic of `observed` against `probabilities` (summing to 1). */
export function chiSquare(observed: readonly number[], probabilities: readonly number[]): number {
  const total = observed.reduce((a, b) => a + b, 0);
  let chi = 0;
  for (let i = 0; i < observed.length; i++) {
    const expected = total * probabilities[i];
    chi += (observed[i] - expected) ** 2 / expected;
  }
  return chi;
}

/**
 * A generous upper bound for a chi-square statistic with `df` degrees of freedom under the null
 * hypothesis (mean df, variance 2·df): beyond it the distribution is not what it claims. With
 * fixed seeds the statistic is deterministic; the bound says how far off it is allowed to be.
 */
export function chiSquareBound(df: number): number {
  return df + 6 * Math.sqrt(2 * df);
}

export function proportions(weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

/** The host `lb` chooses for each of `n` request keys `${prefix}${i}` (hashed as a route would). */
export function assignKeys(lb: LoadBalancer, prefix: string, n: number): (Host | null)[] {
  const out: (Host | null)[] = [];
  for (let i = 0; i < n; i++) out.push(lb.chooseHost(ctxWithHash(requestHash(`${prefix}${i}`))));
  return out;
}

/**
 * How many keys changed host between two assignments after `removed` left (`moved`), and how
 * many of those were not the removed host's keys (`movedFromOthers`). A key still on the removed
 * host is an error.
 */
export function keyMovement(
  before: readonly (Host | null)[],
  after: readonly (Host | null)[],
  removed: Host,
): { moved: number; movedFromOthers: number } {
  let moved = 0;
  let movedFromOthers = 0;
  for (let i = 0; i < before.length; i++) {
    if (after[i] === removed) throw new Error(`key ${i} still maps to the removed host`);
    if (before[i] !== after[i]) {
      moved++;
      if (before[i] !== removed) movedFromOthers++;
    }
  }
  return { moved, movedFromOthers };
}
