import { describe, expect, it } from 'vitest';
import { seededRng } from '../../../../proxy/extensions/load-balancing-policies/common/rng.js';
import { sortByPosition } from '../../../../proxy/extensions/load-balancing-policies/common/sort-positions.js';
import { mod64, top53 } from '../../../../proxy/extensions/load-balancing-policies/common/u64.js';
import { add, mul, R, rotl } from '../../../../proxy/extensions/load-balancing-policies/common/u64-ops.js';

const M64 = (1n << 64n) - 1n;
const big = (hi: number, lo: number) => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
const result = () => big(R[0], R[1]);

describe('64-bit helpers', () => {
  const rng = seededRng(99);
  const samples: [number, number, number, number][] = [
    [0, 0, 0, 0],
    [-1, -1, -1, -1],
    [0x7fffffff, 0xffffffff, 0x80000000, 1],
  ];
  for (let i = 0; i < 500; i++) samples.push([rng.nextU32(), rng.nextU32(), rng.nextU32(), rng.nextU32()]);

  it('mul, add and rotl agree with BigInt arithmetic mod 2^64', () => {
    for (const [ah, al, bh, bl] of samples) {
      const a = big(ah, al);
      const b = big(bh, bl);
      mul(ah | 0, al | 0, bh | 0, bl | 0);
      expect(result()).toBe((a * b) & M64);
      add(ah | 0, al | 0, bh | 0, bl | 0);
      expect(result()).toBe((a + b) & M64);
      const k = 1 + (bl % 31);
      rotl(ah | 0, al | 0, k);
      expect(result()).toBe(((a << BigInt(k)) | (a >> BigInt(64 - k))) & M64);
    }
  });

  it('top53 keeps the top 53 bits and mod64 is exact for Maglev table sizes', () => {
    for (const [hi, lo] of samples) {
      const v = big(hi, lo);
      expect(top53(hi >>> 0, lo >>> 0)).toBe(Number(v >> 11n));
      for (const m of [2, 13, 65537, 5000011])
        expect(mod64(hi >>> 0, lo >>> 0, m)).toBe(Number(v % BigInt(m)));
    }
  });
});

describe('sortByPosition', () => {
  it('sorts large rings (radix path) stably, moving values with their positions', () => {
    const rng = seededRng(5);
    const n = 20_000;
    const pos = new Float64Array(n);
    const val = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      // Some duplicates, to check stability.
      pos[i] = i % 100 === 0 ? 12345 : rng.next53();
      val[i] = i;
    }
    const expected = Array.from(pos, (p, i) => [p, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    sortByPosition(pos, val);
    expect(Array.from(pos)).toEqual(expected.map((e) => e[0]));
    expect(Array.from(val)).toEqual(expected.map((e) => e[1]));
  });
});
