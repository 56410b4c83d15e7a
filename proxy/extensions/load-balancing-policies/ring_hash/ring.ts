import type { Host } from '../../../upstream/host.js';
import { KeyedHosts } from '../common/keyed-hosts.js';
import { murmurHash2_64Raw, STD_HASH_SEED } from '../common/murmur2-64.js';
import { sortByPosition } from '../common/sort-positions.js';
import { R } from '../common/u64-ops.js';
import { xxHash64Raw } from '../common/xxhash64.js';

export type RingHashFunction = 'XX_HASH' | 'MURMUR_HASH_2';

export interface RingParams {
  readonly minRingSize: number;
  readonly maxRingSize: number;
  readonly hashFunction: RingHashFunction;
  readonly useHostnameForHashing: boolean;
  /** Bounded-load factor in percent, 0 when off (applied by the balancer, not the ring). */
  readonly hashBalanceFactor: number;
}

/**
 * A Ketama ring built as Envoy builds it: host i gets about scale × weight_i / Σweight entries,
 * where scale is the smallest that gives the lightest host ceil(min_normalized × minimum_ring_size)
 * whole entries, capped at maximum_ring_size. Running sums over the hosts hand out the fractions,
 * and entry j of a host sits at hash(`<host key>_<j>`). Positions are the top 53 bits of the
 * 64-bit hash (see top53), so the ring orders hosts exactly as Envoy's does.
 *
 * Hosts are taken in order of their hash key rather than the order they arrived in, so two
 * proxies given the same hosts in different orders build the same ring.
 */
export class HashRing {
  readonly hosts: readonly Host[];
  /** Sorted entry positions. */
  readonly positions: Float64Array;
  /** hostIndex[k] is the index into `hosts` of the entry at positions[k]. */
  readonly hostIndex: Int32Array;
  readonly minHashesPerHost: number;
  readonly maxHashesPerHost: number;
  /**
   * Lookup accelerator: the 53-bit hash space cut into 2^bucketBits equal buckets (about one per
   * entry); bucketStart[b] is the first entry at or after bucket b's start, so a lookup searches
   * only the few entries of one bucket: O(1) expected instead of log2(ring size) steps.
   */
  private readonly bucketStart: Int32Array;
  /** 2^-(53 - bucketBits): multiplying a hash by it gives its bucket. */
  private readonly bucketScale: number;

  readonly params: RingParams;
  /** The hosts in build order, with their keys and weights (for reuse by the next build). */
  readonly layout: KeyedHosts;

  /**
   * `previous` (the ring this one replaces) is reused when the parameters, host keys and weights
   * are unchanged (a health flap that leaves the same hosts): only the Host objects are swapped.
   */
  constructor(hostsIn: readonly Host[], params: RingParams, previous: HashRing | null = null) {
    const layout = new KeyedHosts(hostsIn, params.useHostnameForHashing);
    this.layout = layout;
    this.params = params;
    this.hosts = layout.hosts;
    const n = layout.length;
    if (
      previous !== null &&
      n > 0 &&
      sameParams(previous.params, params) &&
      layout.sameLayout(previous.layout)
    ) {
      this.positions = previous.positions;
      this.hostIndex = previous.hostIndex;
      this.minHashesPerHost = previous.minHashesPerHost;
      this.maxHashesPerHost = previous.maxHashesPerHost;
      this.bucketStart = previous.bucketStart;
      this.bucketScale = previous.bucketScale;
      return;
    }
    if (n === 0) {
      this.positions = new Float64Array(0);
      this.hostIndex = new Int32Array(0);
      this.minHashesPerHost = 0;
      this.maxHashesPerHost = 0;
      this.bucketStart = new Int32Array(2);
      this.bucketScale = 0;
      return;
    }

    const weights = layout.weights;
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i];
    let minNormalized = 1;
    for (let i = 0; i < n; i++) minNormalized = Math.min(minNormalized, weights[i] / total);
    const scale = Math.min(Math.ceil(minNormalized * params.minRingSize) / minNormalized, params.maxRingSize);
    const ringSize = Math.ceil(scale);

    // The running sums can hand out one entry more than ceil(scale) through rounding.
    const positions = new Float64Array(ringSize + 1);
    const hostIndex = new Int32Array(ringSize + 1);
    const encoder = new TextEncoder();
    const murmur = params.hashFunction === 'MURMUR_HASH_2';
    let count = 0;
    let current = 0;
    let target = 0;
    let minHashes = Number.MAX_SAFE_INTEGER;
    let maxHashes = 0;
    let buf = new Uint8Array(64);
    for (let h = 0; h < n; h++) {
      const keyBytes = encoder.encode(`${layout.keys[h]}_`);
      // Room for the key, '_' and the decimal entry number (at most 7 digits for 8M entries).
      if (buf.length < keyBytes.length + 16) buf = new Uint8Array(keyBytes.length + 16);
      buf.set(keyBytes);
      const prefix = keyBytes.length;
      target += (scale * weights[h]) / total;
      let j = 0;
      while (current < target && count < positions.length) {
        const len = prefix + writeDecimal(buf, prefix, j);
        if (murmur) murmurHash2_64Raw(buf, len, STD_HASH_SEED);
        else xxHash64Raw(buf, len, 0);
        // The top 53 bits (see top53), read straight from the int32 result pair.
        positions[count] = (R[0] >>> 0) * 2097152 + (R[1] >>> 11);
        hostIndex[count] = h;
        count++;
        current++;
        j++;
      }
      minHashes = Math.min(minHashes, j);
      maxHashes = Math.max(maxHashes, j);
    }
    this.positions = count === positions.length ? positions : positions.slice(0, count);
    this.hostIndex = count === hostIndex.length ? hostIndex : hostIndex.slice(0, count);
    sortByPosition(this.positions, this.hostIndex);
    this.minHashesPerHost = minHashes;
    this.maxHashesPerHost = maxHashes;
    const bits = Math.min(24, Math.max(1, Math.ceil(Math.log2(this.positions.length))));
    this.bucketScale = 2 ** (bits - 53);
    this.bucketStart = buildBuckets(this.positions, bits);
  }

  get size(): number {
    return this.positions.length;
  }

  /** Index of the first entry at or after `hash` (clockwise), wrapping to 0. O(log n). */
  entryFor(hash: number): number {
    const positions = this.positions;
    const b = Math.floor(hash * this.bucketScale);
    let lo = this.bucketStart[b];
    let hi = this.bucketStart[b + 1];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (positions[mid] < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === positions.length ? 0 : lo;
  }

  hostAt(entry: number): Host {
    return this.hosts[this.hostIndex[entry]];
  }
}

/** start[b] = index of the first position >= b · 2^(53 - bits), for b in [0, 2^bits]. */
function buildBuckets(positions: Float64Array, bits: number): Int32Array {
  const buckets = 2 ** bits;
  const width = 2 ** (53 - bits);
  const start = new Int32Array(buckets + 1);
  let i = 0;
  for (let b = 0; b <= buckets; b++) {
    const lower = b * width;
    while (i < positions.length && positions[i] < lower) i++;
    start[b] = i;
  }
  return start;
}

function sameParams(a: RingParams, b: RingParams): boolean {
  return (
    a.minRingSize === b.minRingSize &&
    a.maxRingSize === b.maxRingSize &&
    a.hashFunction === b.hashFunction &&
    a.useHostnameForHashing === b.useHostnameForHashing
  );
}

/** Writes the decimal digits of a non-negative integer at buf[at..]; returns how many. */
function writeDecimal(buf: Uint8Array, at: number, value: number): number {
  if (value === 0) {
    buf[at] = 0x30;
    return 1;
  }
  let digits = 0;
  for (let v = value; v > 0; v = Math.floor(v / 10)) digits++;
  let v = value;
  for (let i = digits - 1; i >= 0; i--) {
    buf[at + i] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
  return digits;
}
