import { U64 } from './u64.js';

/**
 * The 64-bit MurmurHash2 variant that libstdc++ uses for std::hash<std::string> (its _Hash_bytes
 * on 64-bit targets), which Envoy's ring hash uses for MURMUR_HASH_2: 8-byte little-endian blocks,
 * each shift-mixed before it is folded in, the 1..7 trailing bytes folded in as one little-endian
 * word, then two shift-mix rounds. Written from Austin Appleby's MurmurHash2 description.
 */

/** Envoy's MurmurHash::STD_HASH_SEED, libstdc++'s seed for std::hash<std::string>. */
export const STD_HASH_SEED = 0xc70f6907;

const MUL = new U64(0xc6a4a793, 0x5bd1e995);
const SHIFT = 47;

const h = new U64();
const k = new U64();

export function murmurHash2_64Into(data: Uint8Array, length: number, seed: number, out: U64): U64 {
  // hash = seed ^ (len * mul)
  h.set(Math.floor(length / 4294967296), length >>> 0)
    .mul(MUL)
    .xorParts(0, seed);
  const aligned = length - (length % 8);
  let p = 0;
  for (; p < aligned; p += 8) {
    const lo = (data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)) >>> 0;
    const hi = (data[p + 4] | (data[p + 5] << 8) | (data[p + 6] << 16) | (data[p + 7] << 24)) >>> 0;
    k.set(hi, lo).mul(MUL).xorShiftRight(SHIFT).mul(MUL);
    h.xor(k).mul(MUL);
  }
  const rest = length - aligned;
  if (rest > 0) {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < rest; i++) {
      const b = data[p + i];
      if (i < 4) lo |= b << (8 * i);
      else hi |= b << (8 * (i - 4));
    }
    h.xorParts(hi >>> 0, lo >>> 0).mul(MUL);
  }
  h.xorShiftRight(SHIFT).mul(MUL).xorShiftRight(SHIFT);
  return out.copy(h);
}

const encoder = new TextEncoder();

/** MurmurHash2-64 of a string's UTF-8 bytes as a bigint (control path, tests). */
export function murmurHash2_64(input: string | Uint8Array, seed = STD_HASH_SEED): bigint {
  const data = typeof input === 'string' ? encoder.encode(input) : input;
  return murmurHash2_64Into(data, data.length, seed, new U64()).toBigInt();
}
