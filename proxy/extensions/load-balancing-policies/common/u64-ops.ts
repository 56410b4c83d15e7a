/**
 * Unsigned 64-bit arithmetic for the hash functions, on (hi, lo) int32 pairs held in locals so
 * the JIT keeps them in registers. A helper returns its 64-bit result through the int32 scratch
 * pair R (typed-array writes never allocate; the U64 class's fields would box values >= 2^30).
 * Ring building hashes up to millions of keys, so this is worth the verbosity. Callers read R
 * right after each call: the functions are synchronous and never re-entered.
 */

/** Result registers: R[0] = high word, R[1] = low word. */
export const R = new Int32Array(2);

/** R = a * b mod 2^64. */
export function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const low = a0 * b0;
  const mid1 = a1 * b0 + (low >>> 16);
  const mid2 = a0 * b1 + (mid1 & 0xffff);
  const carryHi = a1 * b1 + (mid1 >>> 16) + (mid2 >>> 16);
  R[0] = carryHi + Math.imul(al, bh) + Math.imul(ah, bl);
  R[1] = Math.imul(al, bl);
}

/** R = a + b mod 2^64. */
export function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = (al >>> 0) + (bl >>> 0);
  R[0] = ah + bh + (lo > 0xffffffff ? 1 : 0);
  R[1] = lo;
}

/** R = rotl(a, k) for 0 < k < 32. */
export function rotl(ah: number, al: number, k: number): void {
  R[0] = (ah << k) | (al >>> (32 - k));
  R[1] = (al << k) | (ah >>> (32 - k));
}
