import { U64 } from './u64.js';
import { mul, R } from './u64-ops.js';

/**
 * The 64-bit MurmurHash2 variant that libstdc++ uses for std::hash<std::string> (its _Hash_bytes
 * on 64-bit targets), which Envoy's ring hash uses for MURMUR_HASH_2: 8-byte little-endian blocks,
 * each shift-mixed before it is folded in, the 1..7 trailing bytes folded in as one little-endian
 * word, then two shift-mix rounds. Written from Austin Appleby's MurmurHash2 description.
 */

/** Envoy's MurmurHash::STD_HASH_SEED, libstdc++'s seed for std::hash<std::string>. */
export const STD_HASH_SEED = 0xc70f6907;

const MUL_H = 0xc6a4a793 | 0;
const MUL_L = 0x5bd1e995 | 0;

function read32(d: Uint8Array, p: number): number {
  return d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (d[p + 3] << 24);
}

export function murmurHash2_64Into(data: Uint8Array, length: number, seed: number, out: U64): U64 {
  murmurHash2_64Raw(data, length, seed);
  return out.set(R[0], R[1]);
}

/** As murmurHash2_64Into, leaving the result in the scratch pair R (R[0] high, R[1] low). */
export function murmurHash2_64Raw(data: Uint8Array, length: number, seed: number): void {
  // hash = seed ^ (len * mul)
  mul(Math.floor(length / 4294967296), length | 0, MUL_H, MUL_L);
  let h = R[0];
  let l = R[1] ^ (seed | 0);
  const aligned = length - (length % 8);
  let p = 0;
  for (; p < aligned; p += 8) {
    // k = shift_mix(block * mul) * mul; hash = (hash ^ k) * mul; shift_mix(x) = x ^ (x >> 47).
    mul(read32(data, p + 4), read32(data, p), MUL_H, MUL_L);
    const kh = R[0];
    mul(kh, R[1] ^ (kh >>> 15), MUL_H, MUL_L);
    mul(h ^ R[0], l ^ R[1], MUL_H, MUL_L);
    h = R[0];
    l = R[1];
  }
  const rest = length - aligned;
  if (rest > 0) {
    // The 1..7 trailing bytes as one little-endian word.
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < rest; i++) {
      const b = data[p + i];
      if (i < 4) lo |= b << (8 * i);
      else hi |= b << (8 * (i - 4));
    }
    mul(h ^ hi, l ^ lo, MUL_H, MUL_L);
    h = R[0];
    l = R[1];
  }
  mul(h, l ^ (h >>> 15), MUL_H, MUL_L);
  R[1] ^= R[0] >>> 15;
}

const encoder = new TextEncoder();

/** MurmurHash2-64 of a string's UTF-8 bytes as a bigint (control path, tests). */
export function murmurHash2_64(input: string | Uint8Array, seed = STD_HASH_SEED): bigint {
  const data = typeof input === 'string' ? encoder.encode(input) : input;
  return murmurHash2_64Into(data, data.length, seed, new U64()).toBigInt();
}
