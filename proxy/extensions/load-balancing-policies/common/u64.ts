/**
 * Unsigned 64-bit arithmetic on two uint32 halves. The hash functions Envoy uses for consistent
 * hashing (xxHash64, the 64-bit MurmurHash2 of libstdc++) are defined on uint64; BigInt would be
 * exact but allocates on every operation, and ring building hashes up to millions of keys.
 * A U64 is a mutable register: operations work in place so a hash allocates nothing per round.
 */
export class U64 {
  hi: number;
  lo: number;

  constructor(hi = 0, lo = 0) {
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
  }

  set(hi: number, lo: number): this {
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return this;
  }

  copy(o: U64): this {
    this.hi = o.hi;
    this.lo = o.lo;
    return this;
  }

  add(o: U64): this {
    return this.addParts(o.hi, o.lo);
  }

  addParts(hi: number, lo: number): this {
    const l = this.lo + (lo >>> 0);
    const carry = l >= 0x100000000 ? 1 : 0;
    this.lo = l >>> 0;
    this.hi = (this.hi + (hi >>> 0) + carry) >>> 0;
    return this;
  }

  /** this = this * o mod 2^64, by 16-bit limbs so every partial product stays exact in a double. */
  mul(o: U64): this {
    return this.mulParts(o.hi, o.lo);
  }

  mulParts(bh: number, bl: number): this {
    const a48 = this.hi >>> 16;
    const a32 = this.hi & 0xffff;
    const a16 = this.lo >>> 16;
    const a00 = this.lo & 0xffff;
    const b48 = bh >>> 16;
    const b32 = bh & 0xffff;
    const b16 = bl >>> 16;
    const b00 = bl & 0xffff;

    let c00 = a00 * b00;
    let c16 = c00 >>> 16;
    c00 &= 0xffff;
    c16 += a16 * b00;
    let c32 = c16 >>> 16;
    c16 &= 0xffff;
    c16 += a00 * b16;
    c32 += c16 >>> 16;
    c16 &= 0xffff;
    c32 += a32 * b00;
    let c48 = c32 >>> 16;
    c32 &= 0xffff;
    c32 += a16 * b16;
    c48 += c32 >>> 16;
    c32 &= 0xffff;
    c32 += a00 * b32;
    c48 += c32 >>> 16;
    c32 &= 0xffff;
    // The top limb only needs its low 16 bits; the sum stays far below 2^53, so `&` is exact.
    c48 = (c48 + a48 * b00 + a32 * b16 + a16 * b32 + a00 * b48) & 0xffff;

    this.hi = ((c48 << 16) | c32) >>> 0;
    this.lo = ((c16 << 16) | c00) >>> 0;
    return this;
  }

  xor(o: U64): this {
    this.hi = (this.hi ^ o.hi) >>> 0;
    this.lo = (this.lo ^ o.lo) >>> 0;
    return this;
  }

  xorParts(hi: number, lo: number): this {
    this.hi = (this.hi ^ hi) >>> 0;
    this.lo = (this.lo ^ lo) >>> 0;
    return this;
  }

  /** Rotate left by k, 0 < k < 64. */
  rotl(k: number): this {
    let hi = this.hi;
    let lo = this.lo;
    if (k >= 32) {
      const t = hi;
      hi = lo;
      lo = t;
      k -= 32;
    }
    if (k > 0) {
      const nh = (hi << k) | (lo >>> (32 - k));
      const nl = (lo << k) | (hi >>> (32 - k));
      hi = nh;
      lo = nl;
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return this;
  }

  /** this ^= this >>> k, 0 < k < 64 (the "shift-mix" step of both hashes). */
  xorShiftRight(k: number): this {
    let sh: number;
    let sl: number;
    if (k >= 32) {
      sh = 0;
      sl = k === 32 ? this.hi : this.hi >>> (k - 32);
    } else {
      sh = this.hi >>> k;
      sl = (this.lo >>> k) | (this.hi << (32 - k));
    }
    this.hi = (this.hi ^ sh) >>> 0;
    this.lo = (this.lo ^ sl) >>> 0;
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
