import type { Host } from './host.js';
import type { LbContext, LoadBalancer } from './load-balancer.js';

/**
 * Envoy's priority load: each priority level's health is min(100, overprovisioning × healthy /
 * total); the levels' healths are normalised by their sum (capped at 100) and handed out in
 * priority order, so traffic spills from P0 to P1 in proportion as P0's health falls below
 * 100 / overprovisioning (71% at the default 1.4), and comes back as it recovers.
 * Returns integer-free percentages summing to 100 (all zero when no level has a healthy host).
 */
export function priorityLoad(
  levels: ReadonlyArray<{ readonly healthy: number; readonly total: number }>,
  overprovisioningPercent: number,
): number[] {
  const health = levels.map((l) =>
    l.total === 0 ? 0 : Math.min(100, (overprovisioningPercent * l.healthy) / l.total),
  );
  let sum = 0;
  for (const h of health) sum += h;
  const normalizedTotal = Math.min(100, sum);
  const out = levels.map(() => 0);
  if (normalizedTotal === 0) return out;
  let remaining = 100;
  for (let i = 0; i < health.length; i++) {
    const load = Math.min(remaining, (health[i] * 100) / normalizedTotal);
    out[i] = load;
    remaining -= load;
  }
  return out;
}

interface Level {
  readonly priority: number;
  readonly lb: LoadBalancer;
  /** Upper bound of this level's slice of [0, 100). */
  readonly upTo: number;
}

/**
 * Picks a priority level by its load, then a host with that level's own balancer (over its
 * healthy hosts, or over all of them when that level alone is below the panic threshold, as
 * Envoy's per-priority panic does).
 */
export class PriorityLoadBalancer implements LoadBalancer {
  readonly panic: boolean;

  constructor(
    private readonly levels: readonly Level[],
    panic: boolean,
  ) {
    this.panic = panic;
  }

  chooseHost(ctx: LbContext | null): Host | null {
    const levels = this.levels;
    if (levels.length === 0) return null;
    const r = Math.random() * 100;
    for (const l of levels) if (r < l.upTo) return l.lb.chooseHost(ctx);
    return levels[levels.length - 1].lb.chooseHost(ctx);
  }

  onRequestEnd(host: Host, latencyMs: number): void {
    for (const l of this.levels) if (l.priority === host.priority) l.lb.onRequestEnd?.(host, latencyMs);
  }

  /** The level balancer of `priority` (for carrying state over rebuilds), or null. */
  levelLb(priority: number): LoadBalancer | null {
    for (const l of this.levels) if (l.priority === priority) return l.lb;
    return null;
  }

  /** Each level's share in percent, for tests and /clusters. */
  loads(): Array<[number, number]> {
    let prev = 0;
    return this.levels.map((l) => {
      const share = l.upTo - prev;
      prev = l.upTo;
      return [l.priority, share];
    });
  }
}

/**
 * Builds the priority balancer for hosts spread over more than one priority level; null when
 * there is one level (the cluster's single-level selection applies). `create` builds one level's
 * balancer over the given hosts, reusing `previous` when it has one.
 */
export function buildPriorityLb(
  hosts: readonly Host[],
  overprovisioningPercent: number,
  panicThresholdFraction: number,
  create: (hosts: readonly Host[], previous: LoadBalancer | null) => LoadBalancer,
  previous: LoadBalancer | null,
): PriorityLoadBalancer | null {
  const byLevel = new Map<number, Host[]>();
  for (const h of hosts) {
    let l = byLevel.get(h.priority);
    if (l === undefined) {
      l = [];
      byLevel.set(h.priority, l);
    }
    l.push(h);
  }
  if (byLevel.size < 2) return null;
  const order = [...byLevel.keys()].sort((a, b) => a - b);
  const stats = order.map((p) => {
    const all = byLevel.get(p)!;
    let healthy = 0;
    for (const h of all) if (h.healthy) healthy++;
    return { priority: p, all, healthy, total: all.length };
  });
  const loads = priorityLoad(stats, overprovisioningPercent);
  const prev = previous instanceof PriorityLoadBalancer ? previous : null;
  const levels: Level[] = [];
  let acc = 0;
  let anyPanic = false;
  let allZero = true;
  for (let i = 0; i < stats.length; i++) {
    if (loads[i] > 0) allZero = false;
  }
  for (let i = 0; i < stats.length; i++) {
    const s = stats[i];
    // No healthy host anywhere: Envoy sends everything to P0 in panic.
    const load = allZero ? (i === 0 ? 100 : 0) : loads[i];
    if (load <= 0) continue;
    const panic = s.healthy / s.total < panicThresholdFraction;
    if (panic) anyPanic = true;
    const eligible = panic ? s.all : s.all.filter((h) => h.healthy);
    acc += load;
    levels.push({ priority: s.priority, lb: create(eligible, prev?.levelLb(s.priority) ?? null), upTo: acc });
  }
  return new PriorityLoadBalancer(levels, anyPanic);
}
