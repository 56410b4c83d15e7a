import type { Host } from '../../../upstream/host.js';
import { hostHashKey } from './host-hash-key.js';
import { hostWeight } from './weights.js';

/**
 * Hosts in the order consistent-hashing tables are built in: by hash key (then weight), so the
 * table depends only on the set of hosts, never on the order discovery delivered them in.
 * `sameLayout` lets a rebuild with the same keys and weights (a health flap, a metadata change)
 * reuse the previous table instead of recomputing it.
 */
export class KeyedHosts {
  readonly hosts: readonly Host[];
  readonly keys: readonly string[];
  readonly weights: Float64Array;

  constructor(hostsIn: readonly Host[], useHostnameForHashing: boolean) {
    const keyed = hostsIn.map((host) => ({
      host,
      key: hostHashKey(host, useHostnameForHashing),
      w: hostWeight(host),
    }));
    keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.w - b.w));
    this.hosts = keyed.map((k) => k.host);
    this.keys = keyed.map((k) => k.key);
    this.weights = Float64Array.from(keyed, (k) => k.w);
  }

  get length(): number {
    return this.hosts.length;
  }

  /** True when both lists hold the same keys with the same weights, in the same order. */
  sameLayout(other: KeyedHosts): boolean {
    const n = this.keys.length;
    if (other.keys.length !== n) return false;
    for (let i = 0; i < n; i++) {
      if (this.keys[i] !== other.keys[i] || this.weights[i] !== other.weights[i]) return false;
    }
    return true;
  }
}
