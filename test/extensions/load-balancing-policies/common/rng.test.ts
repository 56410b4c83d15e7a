import { describe, expect, it } from 'vitest';
import { AliasTable } from '../../../../proxy/extensions/load-balancing-policies/common/alias-table.js';
import { defaultRng, seededRng } from '../../../../proxy/extensions/load-balancing-policies/common/rng.js';
import { chiSquare, chiSquareBound } from '../helpers.js';

describe('seeded PRNG', () => {
  it('repeats a sequence for a seed and differs across seeds', () => {
    const a = seededRng(1);
    const b = seededRng(1);
    const c = seededRng(2);
    const sa = Array.from({ length: 20 }, () => a.nextU32());
    expect(Array.from({ length: 20 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 20 }, () => c.nextU32())).not.toEqual(sa);
    expect(defaultRng().nextU32()).not.toBe(defaultRng().nextU32());
  });

  it('draws in range and uniformly', () => {
    const r = seededRng(3);
    const counts = new Array<number>(10).fill(0);
    let outOfRange = 0;
    for (let i = 0; i < 50_000; i++) {
      const k = r.nextInt(10);
      if (!(Number.isInteger(k) && k >= 0 && k < 10)) outOfRange++;
      else counts[k]++;
      const f = r.nextFloat();
      if (!(f >= 0 && f < 1)) outOfRange++;
      const h = r.next53();
      if (!(Number.isSafeInteger(h) && h >= 0)) outOfRange++;
    }
    expect(outOfRange).toBe(0);
    expect(chiSquare(counts, new Array(10).fill(0.1))).toBeLessThan(chiSquareBound(9));
  });
});

describe('alias table', () => {
  it('samples in proportion to very uneven weights', () => {
    const weights = [1, 1000, 10, 0.5, 300];
    const t = new AliasTable(weights);
    const r = seededRng(4);
    const counts = new Array<number>(weights.length).fill(0);
    for (let i = 0; i < 100_000; i++) counts[t.sample(r.nextFloat())]++;
    const total = weights.reduce((a, b) => a + b, 0);
    expect(
      chiSquare(
        counts,
        weights.map((w) => w / total),
      ),
    ).toBeLessThan(chiSquareBound(4));
  });
});
