import { randomBytes } from 'node:crypto';

/**
 * The random source every randomised policy draws from. Injected through the policy factories so
 * tests (and benchmarks) are reproducible from a seed; production uses a crypto-seeded instance.
 */
export interface Rng {
  /** A uniform unsigned 32-bit integer. */
  nextU32(): number;
  /** A uniform integer in [0, n), for 1 <= n <= 2^32. */
  nextInt(n: number): number;
  /** A uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number;
  /** A uniform integer in [0, 2^53): a stand-in request hash when the request has none. */
  next53(): number;
}

const TWO_POW_32 = 4294967296;
const INV_TWO_POW_32 = 1 / TWO_POW_32;
const INV_TWO_POW_53 = 1 / 9007199254740992;

/** Output k of the splitmix32 sequence started at x (state x + k·golden ratio, then mixed). */
function splitmix32(x: number, k: number): number {
  let z = (x + Math.imul(0x9e3779b9, k)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl32(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * xoshiro128** (Blackman and Vigna): four 32-bit words of state, so every step is plain int32
 * arithmetic (Math.imul, shifts) with no allocation; far faster than crypto and good enough for
 * load balancing, where the only requirement is an even spread.
 */
export class Xoshiro128 implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** Seeds the state from one number through splitmix32 so nearby seeds give unrelated streams. */
  constructor(seed: number) {
    this.s0 = 0;
    this.s1 = 0;
    this.s2 = 0;
    this.s3 = 0;
    this.reseed(seed);
  }

  /** Restarts the sequence from `seed`, so a hot path can reuse one generator per seed. */
  reseed(seed: number): void {
    const x = seed | 0;
    this.s0 = splitmix32(x, 1);
    this.s1 = splitmix32(x, 2);
    this.s2 = splitmix32(x, 3);
    this.s3 = splitmix32(x, 4);
    // An all-zero state would be a fixed point.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  nextU32(): number {
    const result = Math.imul(rotl32(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl32(this.s3, 11);
    return result;
  }

  nextInt(n: number): number {
    // Multiply-shift (Lemire) without the rejection step: the bias is below n / 2^32, far under
    // anything a load balancer could notice, and it keeps a pick to one draw.
    return Math.floor(this.nextU32() * n * INV_TWO_POW_32);
  }

  nextFloat(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) * INV_TWO_POW_53;
  }

  next53(): number {
    const hi = this.nextU32() >>> 11; // 21 bits
    const lo = this.nextU32();
    return hi * TWO_POW_32 + lo;
  }
}

/** A generator with a fixed seed: the same seed gives the same sequence, for tests and benchmarks. */
export function seededRng(seed: number): Rng {
  return new Xoshiro128(seed);
}

/** A generator seeded from the OS CSPRNG, so independent proxies do not pick in lockstep. */
export function defaultRng(): Rng {
  return new Xoshiro128(randomBytes(4).readUInt32LE(0));
}
