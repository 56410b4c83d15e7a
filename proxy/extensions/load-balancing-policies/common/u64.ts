/**
 * A 64-bit hash value as two uint32 halves: what xxHash64Into / murmurHash2_64Into write, so a
 * caller hashing millions of keys reuses one holder instead of allocating a BigInt per hash.
 * (The arithmetic itself is in u64-ops.ts.)
 */
export class U64 {
  /** High 32 bits, unsigned. */
  hi: number;
  /** Low 32 bits, unsigned. */
  lo: number;

  constructor(hi = 0, lo = 0) {
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
  }

  /** Stores the pair (any int32 or uint32 representation of each half). */
  set(hi: number, lo: number): this {
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return this;
  }

  toBigInt(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }
}

const TWO_POW_32 = 4294967296;

/**
 * The top 53 bits of a 64-bit value as a safe integer. Consistent hashing compares positions on
 * the ring; dropping the low 11 bits keeps the order of Envoy's 64-bit ring (only values that
 * share their top 53 bits could compare differently), so the request hash and the ring positions
 * must both be reduced this way.
 */
export function top53(hi: number, lo: number): number {
  return hi * 2097152 + (lo >>> 11);
}

/**
 * (hi * 2^32 + lo) mod m for 1 <= m < 2^26 (Maglev tables are at most 5,000,011 entries):
 * (hi mod m) * (2^32 mod m) < m^2 <= 2^52, and adding lo < 2^32 stays below 2^53, so exact.
 */
export function mod64(hi: number, lo: number, m: number): number {
  return ((hi % m) * (TWO_POW_32 % m) + lo) % m;
}
