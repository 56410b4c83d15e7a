/** The global load-balancing rule: per-locality weights from configured weights and reported load. */
import { describe, expect, it } from 'vitest';
import {
  decideLocalityWeights,
  type LocalityLoadInput,
  localityWeights,
  withMinimumShare,
} from '../../control-plane/lrs/index.js';

const loc = (
  key: string,
  weight: number,
  success: number,
  error: number,
  inProgress = 0,
): LocalityLoadInput => ({
  key,
  weight,
  success,
  error,
  inProgress,
});

describe('decideLocalityWeights', () => {
  it('keeps the configured split when every locality is healthy and evenly loaded', () => {
    const w = localityWeights([loc('a', 3, 300, 0, 3), loc('b', 1, 100, 0, 1)]);
    expect(w.get('a')).toBe(750);
    expect(w.get('b')).toBe(250);
  });

  it('shifts weight away from a failing locality, faster than its error rate', () => {
    const d = decideLocalityWeights([loc('a', 1, 100, 0), loc('b', 1, 50, 50)]);
    const [a, b] = d;
    expect(b.errorRate).toBeCloseTo(0.5);
    // (1 - (0.5 - 0.01) / 0.99)² ≈ 0.255 of its weight
    expect(b.health).toBeCloseTo(0.2552, 3);
    expect(a.share + b.share).toBeCloseTo(1);
    expect(b.share).toBeCloseTo(0.2552 / 1.2552, 3);
    expect(a.weight).toBeGreaterThan(3 * b.weight);
  });

  it('keeps the minimum share for a locality that fails everything', () => {
    const d = decideLocalityWeights([loc('a', 1, 100, 0), loc('b', 1, 0, 100), loc('c', 1, 100, 0)], {
      minShare: 0.1,
    });
    expect(d[1].health).toBe(0);
    expect(d[1].share).toBeCloseTo(0.1);
    expect(d[0].share).toBeCloseTo(0.45);
    expect(d[2].share).toBeCloseTo(0.45);
    expect(d.map((x) => x.weight)).toEqual([450, 100, 450]);
  });

  it('ignores errors below the tolerance and error rates from too few requests', () => {
    const noisy = decideLocalityWeights([loc('a', 1, 1000, 0), loc('b', 1, 995, 5)]);
    expect(noisy[1].health).toBe(1);
    expect(noisy[1].weight).toBe(500);
    const few = decideLocalityWeights([loc('a', 1, 10, 0), loc('b', 1, 0, 10)], { minRequests: 20 });
    expect(few[1].errorRate).toBe(0);
    expect(few.map((x) => x.weight)).toEqual([500, 500]);
  });

  it('takes weight from a locality holding more than its share of requests in flight', () => {
    // Same weights, same traffic; zone b holds three times the outstanding requests (slower).
    const d = decideLocalityWeights([loc('a', 1, 100, 0, 10), loc('b', 1, 100, 0, 30)]);
    expect(d[0].loadFactor).toBe(1);
    expect(d[1].loadFactor).toBeCloseTo(20 / 30);
    expect(d[1].share).toBeCloseTo(2 / 3 / (1 + 2 / 3));
    // Below minInFlight the level is not judged.
    const idle = decideLocalityWeights([loc('a', 1, 0, 0, 1), loc('b', 1, 0, 0, 5)]);
    expect(idle.map((x) => x.weight)).toEqual([500, 500]);
  });

  it('keeps the configured split when everything fails, and never enables a weight-0 locality', () => {
    const d = decideLocalityWeights([loc('a', 2, 0, 100), loc('b', 1, 0, 100), loc('off', 0, 100, 0)]);
    expect(d.map((x) => x.weight)).toEqual([667, 333, 0]);
    expect(d[2].share).toBe(0);
  });

  it('smooths towards the target when given the previous weights', () => {
    const previous = new Map([
      ['a', 500],
      ['b', 500],
    ]);
    const d = decideLocalityWeights([loc('a', 1, 100, 0), loc('b', 1, 0, 100)], { previous, smoothing: 0.5 });
    // target 0.95 / 0.05; halfway from 0.5 / 0.5
    expect(d[0].share).toBeCloseTo(0.725);
    expect(d[1].share).toBeCloseTo(0.275);
  });

  it('rejects invalid options', () => {
    expect(() => decideLocalityWeights([], { minShare: 1 })).toThrow(RangeError);
    expect(() => decideLocalityWeights([], { smoothing: 0 })).toThrow(RangeError);
    expect(() => decideLocalityWeights([], { errorTolerance: -1 })).toThrow(RangeError);
    expect(() => decideLocalityWeights([], { scale: 0 })).toThrow(RangeError);
    expect(decideLocalityWeights([])).toEqual([]);
  });
});

describe('withMinimumShare', () => {
  it('pins shares under the floor and redistributes the rest proportionally, repeatedly', () => {
    const s = withMinimumShare([100, 1, 2, 0], 0.1);
    expect(s.reduce((x, y) => x + y)).toBeCloseTo(1);
    expect(s.slice(1)).toEqual([0.1, 0.1, 0.1]);
    expect(s[0]).toBeCloseTo(0.7);
    expect(withMinimumShare([1, 0, 0, 0], 0.3)).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(withMinimumShare([0, 0], 0.05)).toEqual([0.5, 0.5]);
  });
});
