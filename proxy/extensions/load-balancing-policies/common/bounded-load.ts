import type { Host } from '../../../upstream/host.js';
import { Xoshiro128 } from './rng.js';

/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, arXiv:1608.01350), as
 * Envoy applies it when consistent_hashing_lb_config.hash_balance_factor is set: no host takes more
 * than factor/100 of its weighted share of the requests in flight. When the host the ring/table
 * chose is at its cap, the request goes to the first host under its cap in a shuffle of the hosts
 * seeded by the request hash (a random jump, arXiv:1908.08762, so overflow does not cascade onto
 * the next hosts of the ring), so the same key overflows to the same place on every proxy; if
 * every host is at its cap, the least overloaded one.
 *
 * The in-flight total is the sum of Host.rqActive over the hosts (Envoy reads the cluster's
 * upstream_rq_active gauge), so a pick costs O(n) — as Envoy documents for this option.
 */
export class BoundedLoad {
  private readonly hosts: readonly Host[];
  /** Normalized weights (summing to 1), parallel to `hosts`. */
  private readonly weights: Float64Array;
  private readonly factorPercent: number;
  /** Scratch for the shuffle (a pick runs to completion, so one per balancer suffices). */
  private readonly order: Int32Array;
  private readonly shuffle: Xoshiro128;

  constructor(hosts: readonly Host[], weights: Float64Array, factorPercent: number) {
    this.hosts = hosts;
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i];
    this.weights = Float64Array.from(weights, (w) => w / total);
    this.factorPercent = factorPercent;
    this.order = new Int32Array(hosts.length);
    this.shuffle = new Xoshiro128(0);
  }

  /** The host to use when the ring/table chose hosts[chosen] for a request hashing to `hash`. */
  choose(chosen: number, hash: number): Host {
    const hosts = this.hosts;
    const n = hosts.length;
    let active = 0;
    for (let i = 0; i < n; i++) active += hosts[i].rqActive;
    const totalSlots = Math.ceil(((active + 1) * this.factorPercent) / 100);
    let best = chosen;
    let bestFactor = this.overload(chosen, totalSlots);
    if (bestFactor <= 1) return hosts[chosen];

    const order = this.order;
    for (let i = 0; i < n; i++) order[i] = i;
    // Seeded by the hash (both halves), so every proxy probes the same sequence for a key.
    this.shuffle.reseed((hash >>> 0) ^ Math.imul(Math.floor(hash / 4294967296), 0x9e3779b1));
    for (let i = 0; i < n; i++) {
      // Incremental Fisher-Yates: order[i] becomes a uniform pick of the not yet probed hosts.
      const j = i + this.shuffle.nextInt(n - i);
      const k = order[j];
      order[j] = order[i];
      order[i] = k;
      if (k === chosen) continue;
      const f = this.overload(k, totalSlots);
      if (f <= 1) return hosts[k];
      if (f < bestFactor) {
        best = k;
        bestFactor = f;
      }
    }
    return hosts[best];
  }

  /** Active requests over the host's cap: its weighted share of the slots, at least one. */
  private overload(i: number, totalSlots: number): number {
    const slots = Math.max(Math.ceil(totalSlots * this.weights[i]), 1);
    return this.hosts[i].rqActive / slots;
  }
}
