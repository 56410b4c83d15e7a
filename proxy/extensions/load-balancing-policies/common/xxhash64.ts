import { U64 } from './u64.js';
import { add, mul, R, rotl } from './u64-ops.js';

/**
 * XXH64, written from the xxHash specification (Yann Collet, "xxHash fast digest algorithm",
 * doc/xxhash_spec.md). Envoy hashes host keys with it for ring hash (XX_HASH) and Maglev, and
 * hashes request keys with it in hash policies, so remora must produce the same 64-bit values.
 * 64-bit values are (hi, lo) int32 pairs in locals; see u64-ops.ts.
 */

// The five primes of the specification, as (hi, lo) int32 pairs.
const P1H = 0x9e3779b1 | 0;
const P1L = 0x85ebca87 | 0;
const P2H = 0xc2b2ae3d | 0;
const P2L = 0x27d4eb4f | 0;
const P3H = 0x165667b1 | 0;
const P3L = 0x9e3779f9 | 0;
const P4H = 0x85ebca77 | 0;
const P4L = 0xc2b2ae63 | 0;
const P5H = 0x27d4eb2f | 0;
const P5L = 0x165667c5 | 0;

/** R = rotl(acc + lane * P2, 31) * P1: the specification's round. */
function round(acch: number, accl: number, laneh: number, lanel: number): void {
  mul(laneh, lanel, P2H, P2L);
  add(acch, accl, R[0], R[1]);
  rotl(R[0], R[1], 31);
  mul(R[0], R[1], P1H, P1L);
}

/** R = (acc ^ round(0, v)) * P1 + P4. */
function merge(acch: number, accl: number, vh: number, vl: number): void {
  round(0, 0, vh, vl);
  mul(acch ^ R[0], accl ^ R[1], P1H, P1L);
  add(R[0], R[1], P4H, P4L);
}

function read32(d: Uint8Array, p: number): number {
  return d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (d[p + 3] << 24);
}

/**
 * Hashes data[0, length) with the given seed (a non-negative integer below 2^32, which covers
 * Envoy's seeds 0 and 1) and writes the result to `out`.
 */
export function xxHash64Into(data: Uint8Array, length: number, seed: number, out: U64): U64 {
  xxHash64Raw(data, length, seed);
  return out.set(R[0], R[1]);
}

/** As xxHash64Into, leaving the result in the scratch pair R (R[0] high, R[1] low) for hot loops. */
export function xxHash64Raw(data: Uint8Array, length: number, seed: number): void {
  let p = 0;
  let h: number;
  let l: number;
  const seedLo = seed | 0;
  if (length >= 32) {
    add(0, seedLo, P1H, P1L);
    add(R[0], R[1], P2H, P2L);
    let v1h = R[0];
    let v1l = R[1];
    add(0, seedLo, P2H, P2L);
    let v2h = R[0];
    let v2l = R[1];
    let v3h = 0;
    let v3l = seedLo;
    // seed - P1 = seed + (2^64 - P1) = seed + (~P1 + 1)
    add(~P1H, ~P1L, 0, 1);
    add(R[0], R[1], 0, seedLo);
    let v4h = R[0];
    let v4l = R[1];
    const limit = length - 32;
    while (p <= limit) {
      round(v1h, v1l, read32(data, p + 4), read32(data, p));
      v1h = R[0];
      v1l = R[1];
      round(v2h, v2l, read32(data, p + 12), read32(data, p + 8));
      v2h = R[0];
      v2l = R[1];
      round(v3h, v3l, read32(data, p + 20), read32(data, p + 16));
      v3h = R[0];
      v3l = R[1];
      round(v4h, v4l, read32(data, p + 28), read32(data, p + 24));
      v4h = R[0];
      v4l = R[1];
      p += 32;
    }
    rotl(v1h, v1l, 1);
    h = R[0];
    l = R[1];
    rotl(v2h, v2l, 7);
    add(h, l, R[0], R[1]);
    h = R[0];
    l = R[1];
    rotl(v3h, v3l, 12);
    add(h, l, R[0], R[1]);
    h = R[0];
    l = R[1];
    rotl(v4h, v4l, 18);
    add(h, l, R[0], R[1]);
    merge(R[0], R[1], v1h, v1l);
    merge(R[0], R[1], v2h, v2l);
    merge(R[0], R[1], v3h, v3l);
    merge(R[0], R[1], v4h, v4l);
    h = R[0];
    l = R[1];
  } else {
    add(0, seedLo, P5H, P5L);
    h = R[0];
    l = R[1];
  }

  add(h, l, Math.floor(length / 4294967296), length | 0);
  h = R[0];
  l = R[1];

  while (p + 8 <= length) {
    round(0, 0, read32(data, p + 4), read32(data, p));
    rotl(h ^ R[0], l ^ R[1], 27);
    mul(R[0], R[1], P1H, P1L);
    add(R[0], R[1], P4H, P4L);
    h = R[0];
    l = R[1];
    p += 8;
  }
  if (p + 4 <= length) {
    mul(0, read32(data, p), P1H, P1L);
    rotl(h ^ R[0], l ^ R[1], 23);
    mul(R[0], R[1], P2H, P2L);
    add(R[0], R[1], P3H, P3L);
    h = R[0];
    l = R[1];
    p += 4;
  }
  while (p < length) {
    mul(0, data[p], P5H, P5L);
    rotl(h ^ R[0], l ^ R[1], 11);
    mul(R[0], R[1], P1H, P1L);
    h = R[0];
    l = R[1];
    p++;
  }

  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  l ^= h >>> 1;
  mul(h, l, P2H, P2L);
  h = R[0];
  l = R[1];
  l ^= (l >>> 29) | (h << 3);
  h ^= h >>> 29;
  mul(h, l, P3H, P3L);
  R[1] ^= R[0];
}

const encoder = new TextEncoder();

/** XXH64 of a string's UTF-8 bytes as a bigint (control path, tests). */
export function xxHash64(input: string | Uint8Array, seed = 0): bigint {
  const data = typeof input === 'string' ? encoder.encode(input) : input;
  return xxHash64Into(data, data.length, seed, new U64()).toBigInt();
}
