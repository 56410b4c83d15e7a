import { describe, expect, it } from 'vitest';
import { Backoff, DEFAULT_BACKOFF } from '../../control-client/index.js';

describe('Backoff', () => {
  it("uses gRPC's defaults: 1 s initial, x1.6, capped at 120 s", () => {
    expect(DEFAULT_BACKOFF).toEqual({ initialMs: 1000, multiplier: 1.6, jitter: 0.2, maxMs: 120_000 });
    const b = new Backoff({}, () => 0.5); // 0.5 = no jitter
    const seq = Array.from({ length: 14 }, () => b.next());
    expect(seq.slice(0, 4)).toEqual([1000, 1600, 2560, 4096]);
    expect(seq.at(-1)).toBe(120_000);
    expect(Math.max(...seq)).toBe(120_000);
  });

  it('jitters within ±20% and resets to the initial delay', () => {
    const low = new Backoff({ initialMs: 100 }, () => 0);
    const high = new Backoff({ initialMs: 100 }, () => 0.999999);
    expect(low.next()).toBe(80);
    expect(high.next()).toBe(120);
    expect(low.next()).toBe(128);
    low.reset();
    expect(low.next()).toBe(80);
  });
});
