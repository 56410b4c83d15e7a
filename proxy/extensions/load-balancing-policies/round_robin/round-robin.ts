import type { Host } from '../../../upstream/host.js';
import type { LbContext, LoadBalancer } from '../../../upstream/load-balancer.js';
import { WeightedRotation } from './weighted-rotation.js';

/**
 * Round robin. Equal weights: a plain rotation, O(1). Different weights: smooth weighted round
 * robin on an EDF scheduler, O(log n). A rebuilt balancer (hosts added, removed or re-weighted)
 * continues from the previous one's position, so a membership change neither restarts the
 * rotation at the first host nor lets a new host jump the queue.
 */
export class RoundRobinLoadBalancer implements LoadBalancer {
  private readonly hosts: readonly Host[];
  /** Null when every weight is equal (plain rotation). */
  private readonly edf: WeightedRotation<Host> | null;
  private next: number;

  constructor(hosts: readonly Host[], previous: LoadBalancer | null) {
    this.hosts = hosts;
    const prev = previous instanceof RoundRobinLoadBalancer ? previous : null;
    let weighted = false;
    for (let i = 1; i < hosts.length; i++) {
      if (hosts[i].weight !== hosts[0].weight) {
        weighted = true;
        break;
      }
    }
    this.next = 0;
    this.edf = null;
    if (weighted) {
      this.edf = this.buildScheduler(prev);
    } else if (prev !== null && hosts.length > 0) {
      this.next = prev.rotationStart(hosts);
    } else if (hosts.length > 0) {
      // A random start keeps a fleet of proxies from all hitting the first host in step.
      this.next = Math.floor(Math.random() * hosts.length);
    }
  }

  chooseHost(ctx: LbContext | null): Host | null {
    const n = this.hosts.length;
    if (n === 0) return null;
    let h = this.pickOne();
    // Retries prefer hosts not tried yet; bounded so a pick stays O(log n).
    const prev = ctx === null ? null : ctx.previousHosts;
    if (prev !== null && prev.length > 0 && n > 1) {
      for (let i = 0; i < 3 && h !== null && prev.includes(h); i++) h = this.pickOne();
    }
    return h;
  }

  private pickOne(): Host | null {
    if (this.edf !== null) return this.edf.pick();
    const i = this.next;
    this.next = i + 1 === this.hosts.length ? 0 : i + 1;
    return this.hosts[i];
  }

  /**
   * Where a rebuilt rotation over `hosts` starts: at the host this one would have picked next, or
   * the first host after it that is still present.
   */
  private rotationStart(hosts: readonly Host[]): number {
    const index = new Map<string, number>();
    for (let i = 0; i < hosts.length; i++) index.set(hosts[i].key, i);
    const mine = this.edf === null ? this.hosts : [];
    for (let k = 0; k < mine.length; k++) {
      const at = index.get(mine[(this.next + k) % mine.length].key);
      if (at !== undefined) return at;
    }
    return this.next % hosts.length;
  }

  private buildScheduler(prev: RoundRobinLoadBalancer | null): WeightedRotation<Host> {
    // Relative deadlines of the hosts that stay, by key; weights may have changed.
    const carried = new Map<string, number>();
    if (prev?.edf) {
      for (const [h, off] of prev.edf.offsets()) carried.set(h.key, off * h.weight);
    } else if (prev) {
      // Coming from a plain rotation: hosts nearer the front of it go first.
      const n = prev.hosts.length;
      for (let k = 0; k < n; k++) carried.set(prev.hosts[(prev.next + k) % n].key, (k + 1) / n);
    }
    const weights: number[] = [];
    const offsets: number[] = [];
    for (const h of this.hosts) {
      // `off * weight` is the fraction of a period left; scale it to the (maybe new) weight.
      const frac = carried.get(h.key);
      weights.push(h.weight);
      offsets.push(frac === undefined ? 1 / h.weight : Math.min(frac, 1) / h.weight);
    }
    return new WeightedRotation(this.hosts, weights, offsets);
  }
}
