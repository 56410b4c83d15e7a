import type { Host } from '../../../upstream/host.js';
import { KeyedHosts } from '../common/keyed-hosts.js';
import { mod64, U64 } from '../common/u64.js';
import { xxHash64Into } from '../common/xxhash64.js';

/**
 * A Maglev lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
 * Balancer", NSDI 2016, pseudocode 1), weighted as Envoy weights it:
 * - host i walks its own permutation of the table slots, (offset_i + skip_i × j) mod M, with
 *   offset = xxHash64(key, seed 0) mod M and skip = xxHash64(key, seed 1) mod (M − 1) + 1 (M prime,
 *   so every permutation visits every slot);
 * - hosts take turns claiming their next free slot; a host of normalized weight w takes a turn in
 *   round r only while r × w >= its running target, which grows by the largest normalized weight
 *   per claim, so the heaviest host claims every round and one of a third its weight every third;
 * - hosts are ordered by hash key first (as Envoy does), so the table depends only on the set.
 * Building costs about M × ln M / (hosts per round) probes; a lookup is one array read.
 */
export class MaglevTable {
  readonly hosts: readonly Host[];
  /** table[slot] is an index into `hosts`. */
  readonly table: Int32Array;
  readonly tableSize: number;
  readonly minEntriesPerHost: number;
  readonly maxEntriesPerHost: number;

  /** The hosts in build order, with their keys and weights (for reuse by the next build). */
  readonly layout: KeyedHosts;

  /**
   * `previous` (the table this one replaces) is reused when the hosts have the same keys and
   * weights and the size is unchanged: only the Host objects are swapped in.
   */
  constructor(
    hostsIn: readonly Host[],
    tableSize: number,
    useHostnameForHashing: boolean,
    previous: MaglevTable | null = null,
  ) {
    const layout = new KeyedHosts(hostsIn, useHostnameForHashing);
    this.layout = layout;
    this.hosts = layout.hosts;
    this.tableSize = tableSize;
    const n = layout.length;
    const M = tableSize;
    if (previous !== null && previous.tableSize === M && n > 0 && layout.sameLayout(previous.layout)) {
      this.table = previous.table;
      this.minEntriesPerHost = previous.minEntriesPerHost;
      this.maxEntriesPerHost = previous.maxEntriesPerHost;
      return;
    }
    this.table = new Int32Array(n === 0 ? 0 : M);
    if (n === 0) {
      this.minEntriesPerHost = 0;
      this.maxEntriesPerHost = 0;
      return;
    }

    // slot[i] is host i's next candidate, (offset + skip × next) mod M, advanced by adding skip
    // mod M instead of multiplying, so a probe is an add and a compare.
    const slot = new Int32Array(n);
    const skip = new Int32Array(n);
    const weight = new Float64Array(n);
    const target = new Float64Array(n);
    const count = new Int32Array(n);
    const encoder = new TextEncoder();
    const h = new U64();
    let total = 0;
    for (let i = 0; i < n; i++) total += layout.weights[i];
    let maxWeight = 0;
    for (let i = 0; i < n; i++) {
      const bytes = encoder.encode(layout.keys[i]);
      xxHash64Into(bytes, bytes.length, 0, h);
      slot[i] = mod64(h.hi, h.lo, M);
      xxHash64Into(bytes, bytes.length, 1, h);
      skip[i] = mod64(h.hi, h.lo, M - 1) + 1;
      weight[i] = layout.weights[i] / total;
      maxWeight = Math.max(maxWeight, weight[i]);
    }

    const table = this.table;
    table.fill(-1);
    let filled = 0;
    for (let round = 1; filled < M; round++) {
      for (let i = 0; i < n && filled < M; i++) {
        if (round * weight[i] < target[i]) continue;
        target[i] += maxWeight;
        let c = slot[i];
        const step = skip[i];
        while (table[c] !== -1) {
          c += step;
          if (c >= M) c -= M;
        }
        table[c] = i;
        c += step;
        slot[i] = c >= M ? c - M : c;
        count[i]++;
        filled++;
      }
    }
    let min = M;
    let max = 0;
    for (let i = 0; i < n; i++) {
      min = Math.min(min, count[i]);
      max = Math.max(max, count[i]);
    }
    this.minEntriesPerHost = min;
    this.maxEntriesPerHost = max;
  }

  hostAt(slot: number): Host {
    return this.hosts[this.table[slot]];
  }
}
