import { U64 } from './u64.js';

/**
 * XXH64, written from the xxHash specification (Yann Collet, "xxHash fast digest algorithm",
 * doc/xxhash_spec.md). Envoy hashes host keys with it for ring hash (XX_HASH) and Maglev, and
 * hashes request keys with it in hash policies, so remora must produce the same 64-bit values.
 */

const P1 = new U64(0x9e3779b1, 0x85ebca87);
const P2 = new U64(0xc2b2ae3d, 0x27d4eb4f);
const P3 = new U64(0x165667b1, 0x9e3779f9);
const P4 = new U64(0x85ebca77, 0xc2b2ae63);
const P5 = new U64(0x27d4eb2f, 0x165667c5);

// Scratch registers, reused by every call (the function is synchronous, so never re-entered).
const v1 = new U64();
const v2 = new U64();
const v3 = new U64();
const v4 = new U64();
const acc = new U64();
const lane = new U64();
const tmp = new U64();

function readLane(data: Uint8Array, p: number, out: U64): U64 {
  const lo = (data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)) >>> 0;
  const hi = (data[p + 4] | (data[p + 5] << 8) | (data[p + 6] << 16) | (data[p + 7] << 24)) >>> 0;
  return out.set(hi, lo);
}

/** acc = rotl(acc + input * P2, 31) * P1 (the spec's "round"). */
function round(a: U64, input: U64): U64 {
  tmp.copy(input).mul(P2);
  return a.add(tmp).rotl(31).mul(P1);
}

/** acc = (acc ^ round(0, val)) * P1 + P4. */
function mergeAccumulator(a: U64, val: U64): U64 {
  lane.set(0, 0);
  round(lane, val);
  return a.xor(lane).mul(P1).add(P4);
}

/**
 * Hashes data[0, length) with the given seed (a non-negative integer below 2^32, which covers
 * Envoy's seeds 0 and 1) and writes the result to `out`.
 */
export function xxHash64Into(data: Uint8Array, length: number, seed: number, out: U64): U64 {
  let p = 0;
  if (length >= 32) {
    v1.set(0, seed).add(P1).add(P2);
    v2.set(0, seed).add(P2);
    v3.set(0, seed);
    // seed - P1 mod 2^64 = seed + (2^64 - P1).
    v4.set(~P1.hi, ~P1.lo).addParts(0, 1).addParts(0, seed);
    const limit = length - 32;
    while (p <= limit) {
      round(v1, readLane(data, p, lane));
      round(v2, readLane(data, p + 8, lane));
      round(v3, readLane(data, p + 16, lane));
      round(v4, readLane(data, p + 24, lane));
      p += 32;
    }
    acc.copy(v1).rotl(1);
    acc.add(tmp.copy(v2).rotl(7));
    acc.add(tmp.copy(v3).rotl(12));
    acc.add(tmp.copy(v4).rotl(18));
    // mergeAccumulator clobbers `lane`, so copy each v first.
    mergeAccumulator(acc, v1);
    mergeAccumulator(acc, v2);
    mergeAccumulator(acc, v3);
    mergeAccumulator(acc, v4);
  } else {
    acc.set(0, seed).add(P5);
  }

  acc.addParts(Math.floor(length / 4294967296), length >>> 0);

  while (p + 8 <= length) {
    readLane(data, p, v1);
    v2.set(0, 0);
    round(v2, v1);
    acc.xor(v2).rotl(27).mul(P1).add(P4);
    p += 8;
  }
  if (p + 4 <= length) {
    const word = (data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)) >>> 0;
    v1.set(0, word).mul(P1);
    acc.xor(v1).rotl(23).mul(P2).add(P3);
    p += 4;
  }
  while (p < length) {
    v1.set(0, data[p]).mul(P5);
    acc.xor(v1).rotl(11).mul(P1);
    p++;
  }

  acc.xorShiftRight(33).mul(P2).xorShiftRight(29).mul(P3).xorShiftRight(32);
  return out.copy(acc);
}

const encoder = new TextEncoder();

/** XXH64 of a string's UTF-8 bytes as a bigint (control path, tests). */
export function xxHash64(input: string | Uint8Array, seed = 0): bigint {
  const data = typeof input === 'string' ? encoder.encode(input) : input;
  return xxHash64Into(data, data.length, seed, new U64()).toBigInt();
}
