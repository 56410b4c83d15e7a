import { describe, expect, it } from 'vitest';
import { TimerEntry, TimerWheel } from '../../proxy/http/timer-wheel.js';

describe('coarse timer wheel', () => {
  it('fires no earlier than the delay, cancels, and stops ticking when empty', async () => {
    const wheel = new TimerWheel(10, 64);
    const fired: Array<[number, number]> = [];
    const start = performance.now();
    const target = { onTimer: (kind: number) => fired.push([kind, performance.now() - start]) };
    const a = new TimerEntry(target, 1);
    const b = new TimerEntry(target, 2);
    const c = new TimerEntry(target, 3);
    wheel.schedule(a, 30);
    wheel.schedule(b, 50);
    wheel.schedule(c, 900); // beyond one turn of the wheel (640 ms)
    wheel.cancel(b);
    expect(wheel.scheduled).toBe(2);
    const deadline = Date.now() + 3000;
    while (fired.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(fired.map((f) => f[0])).toEqual([1, 3]);
    expect(fired[0][1]).toBeGreaterThanOrEqual(30);
    expect(fired[1][1]).toBeGreaterThanOrEqual(900);
    expect(wheel.scheduled).toBe(0);
  });

  it('rescheduling moves an entry', async () => {
    const wheel = new TimerWheel(10, 64);
    let n = 0;
    const e = new TimerEntry({ onTimer: () => n++ }, 0);
    wheel.schedule(e, 20);
    wheel.schedule(e, 60);
    expect(wheel.scheduled).toBe(1);
    const deadline = Date.now() + 2000;
    while (n === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(n).toBe(1);
  });
});
