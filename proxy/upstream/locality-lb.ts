import type { LoadAssignmentModel } from '../model/cluster.js';
import { type Host, localityKey } from './host.js';
import type { LbContext, LbPolicyFactory, LoadBalancer } from './load-balancer.js';

/**
 * Locality-weighted balancing (Cluster.common_lb_config.locality_weighted_lb_config, Envoy's
 * semantics): the hosts eligible at the chosen priority are grouped by locality; each locality's
 * effective weight is its load_balancing_weight scaled by its availability
 * (min(1, overprovisioning_factor × healthy / total)); a locality is picked by smooth weighted
 * round robin (interleaved, exact over a cycle: 90/5/5 gives 90/5/5), then a host inside it by the
 * cluster's own policy, one sub-balancer per locality. A request with a hash key (ring hash,
 * Maglev) picks its locality from the key instead — a fixed point in the cumulative weights,
 * taken from a remix of the key so it is independent of where the key falls on the locality's
 * own ring — so the same key keeps reaching the same locality and host. Localities without a weight get no traffic,
 * as in Envoy. When no locality has a positive effective weight the wrapper answers null (503 UH).
 */

/** `priority|region/zone/sub_zone` → locality load_balancing_weight, from a ClusterLoadAssignment. */
export type LocalityWeights = ReadonlyMap<string, number>;

export function localitySlot(priority: number, key: string): string {
  return `${priority}|${key}`;
}

export function localityWeightsOf(assignment: LoadAssignmentModel): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of assignment.localities) {
    const slot = localitySlot(l.priority, localityKey(l.locality));
    out.set(slot, (out.get(slot) ?? 0) + l.weight);
  }
  return out;
}

export function localityWeightsEqual(a: LocalityWeights, b: LocalityWeights): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/** What /clusters reads of a latency-aware balancer (peak EWMA's costOf). */
interface CostReporter {
  costOf(host: Host): number | undefined;
}

function hasCost(lb: LoadBalancer): lb is LoadBalancer & CostReporter {
  return typeof (lb as Partial<CostReporter>).costOf === 'function';
}

/** The balancer's current cost for `host` (peak EWMA), or undefined when it keeps none. */
export function hostCost(lb: LoadBalancer, host: Host): number | undefined {
  return hasCost(lb) ? lb.costOf(host) : undefined;
}

class LocalityEntry {
  /** Smooth weighted round robin state (nginx's algorithm: add weight, take max, subtract total). */
  current = 0;
  constructor(
    readonly key: string,
    readonly weight: number,
    readonly lb: LoadBalancer,
  ) {}
}

export class LocalityWeightedLoadBalancer implements LoadBalancer, CostReporter {
  private readonly entries: readonly LocalityEntry[];
  private readonly byLocality: ReadonlyMap<string, LocalityEntry>;
  private readonly total: number;

  /**
   * @param eligible hosts the cluster may pick now (one priority level, or every host in panic)
   * @param all every host of the cluster (for each locality's availability)
   * @param previous the balancer this one replaces (sub-balancers carry their state over)
   */
  constructor(
    eligible: readonly Host[],
    all: readonly Host[],
    weights: LocalityWeights,
    overprovisioningFactor: number,
    factory: LbPolicyFactory,
    config: unknown,
    previous: LoadBalancer | null,
  ) {
    const prev = previous instanceof LocalityWeightedLoadBalancer ? previous : null;
    const groups = new Map<string, { priority: number; hosts: Host[] }>();
    for (const h of eligible) {
      const k = localityKey(h.locality);
      let g = groups.get(k);
      if (g === undefined) {
        g = { priority: h.priority, hosts: [] };
        groups.set(k, g);
      }
      g.hosts.push(h);
    }
    const members = new Map<string, number>();
    for (const h of all) {
      const slot = localitySlot(h.priority, localityKey(h.locality));
      members.set(slot, (members.get(slot) ?? 0) + 1);
    }
    const entries: LocalityEntry[] = [];
    const byLocality = new Map<string, LocalityEntry>();
    let total = 0;
    for (const [key, g] of groups) {
      const slot = localitySlot(g.priority, key);
      const base = weights.get(slot) ?? 0;
      if (base <= 0) continue;
      const n = Math.max(1, members.get(slot) ?? 0);
      const availability = Math.min(1, (overprovisioningFactor / 100) * (g.hosts.length / n));
      // Integer weights keep the smooth round robin exact; scale so availability keeps 3 digits.
      const w = Math.round(base * availability * 1000);
      if (w <= 0) continue;
      const sub = factory.create(g.hosts, config, prev?.byLocality.get(key)?.lb ?? null);
      const e = new LocalityEntry(key, w, sub);
      const old = prev?.byLocality.get(key);
      if (old !== undefined && old.weight === w) e.current = old.current;
      entries.push(e);
      byLocality.set(key, e);
      total += w;
    }
    this.entries = entries;
    this.byLocality = byLocality;
    this.total = total;
  }

  chooseHost(ctx: LbContext | null): Host | null {
    const es = this.entries;
    if (es.length === 0) return null;
    const key = ctx === null ? undefined : ctx.hashKey;
    if (key !== undefined) return this.byKeyFraction(key).lb.chooseHost(ctx);
    let best = es[0];
    for (let i = 0; i < es.length; i++) {
      const e = es[i];
      e.current += e.weight;
      if (e.current > best.current) best = e;
    }
    best.current -= this.total;
    return best.lb.chooseHost(ctx);
  }

  /** The locality whose share of the cumulative weight holds remix(key) (deterministic). */
  private byKeyFraction(key: number): LocalityEntry {
    const es = this.entries;
    const point = mix53(key) * this.total;
    let acc = 0;
    for (let i = 0; i < es.length; i++) {
      acc += es[i].weight;
      if (point < acc) return es[i];
    }
    return es[es.length - 1];
  }

  onRequestEnd(host: Host, latencyMs: number): void {
    this.byLocality.get(localityKey(host.locality))?.lb.onRequestEnd?.(host, latencyMs);
  }

  costOf(host: Host): number | undefined {
    const e = this.byLocality.get(localityKey(host.locality));
    return e === undefined ? undefined : hostCost(e.lb, host);
  }

  /** Effective locality weights (×1000), for /clusters and tests. */
  effectiveWeights(): ReadonlyMap<string, number> {
    const out = new Map<string, number>();
    for (const e of this.entries) out.set(e.key, e.weight);
    return out;
  }
}

/**
 * A 53-bit key → a fraction in [0, 1), well mixed (murmur3's 32-bit finaliser over both halves),
 * so the locality choice does not correlate with the key's position on a ring.
 */
export function mix53(key: number): number {
  const lo = (key % 4294967296) >>> 0;
  const hi = Math.floor(key / 4294967296) >>> 0;
  let x = lo ^ Math.imul(hi, 0x9e3779b1);
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return (x >>> 0) / 4294967296;
}
