import { describe, expect, it } from 'vitest';
import { Issues } from '../../../proxy/config/issues.js';
import { roundRobinFactory } from '../../../proxy/extensions/load-balancing-policies/round_robin/factory.js';
import { HealthFlag, Host } from '../../../proxy/upstream/host.js';
import type { LoadBalancer } from '../../../proxy/upstream/load-balancer.js';
import { buildPriorityLb, priorityLoad } from '../../../proxy/upstream/priority-load.js';

describe('priority load (Envoy overprovisioning 1.4)', () => {
  it('P0 keeps all traffic down to 100/1.4 ≈ 71% healthy, then spills proportionally', () => {
    expect(
      priorityLoad(
        [
          { healthy: 10, total: 10 },
          { healthy: 10, total: 10 },
        ],
        140,
      ),
    ).toEqual([100, 0]);
    expect(
      priorityLoad(
        [
          { healthy: 8, total: 10 },
          { healthy: 10, total: 10 },
        ],
        140,
      ),
    ).toEqual([100, 0]);
    const half = priorityLoad(
      [
        { healthy: 5, total: 10 },
        { healthy: 10, total: 10 },
      ],
      140,
    );
    expect(half[0]).toBeCloseTo(70, 6);
    expect(half[1]).toBeCloseTo(30, 6);
    expect(
      priorityLoad(
        [
          { healthy: 0, total: 10 },
          { healthy: 10, total: 10 },
        ],
        140,
      ),
    ).toEqual([0, 100]);
  });

  it('normalises when total health is below 100%', () => {
    // 20% × 1.4 = 28 and 20% × 1.4 = 28: normalised to 50/50.
    const l = priorityLoad(
      [
        { healthy: 2, total: 10 },
        { healthy: 2, total: 10 },
      ],
      140,
    );
    expect(l[0]).toBeCloseTo(50, 6);
    expect(l[1]).toBeCloseTo(50, 6);
    expect(
      priorityLoad(
        [
          { healthy: 0, total: 3 },
          { healthy: 0, total: 3 },
        ],
        140,
      ),
    ).toEqual([0, 0]);
  });

  it('the balancer moves traffic to P1 as P0 health falls (real round robin per level)', () => {
    const p0 = [0, 1, 2, 3].map((i) => new Host({ address: '10.0.0.1', port: 1000 + i, priority: 0 }));
    const p1 = [0, 1].map((i) => new Host({ address: '10.0.0.2', port: 2000 + i, priority: 1 }));
    const all = [...p0, ...p1];
    const create = (hs: readonly Host[], prev: LoadBalancer | null) =>
      roundRobinFactory.create(hs, roundRobinFactory.parseConfig(undefined, 'x', new Issues()), prev);
    const share = () => {
      const lb = buildPriorityLb(all, 140, 0.5, create, null)!;
      let toP1 = 0;
      for (let i = 0; i < 4000; i++) if (lb.chooseHost(null)?.priority === 1) toP1++;
      return toP1 / 4000;
    };
    expect(share()).toBe(0);
    p0[0].healthFlags |= HealthFlag.FailedOutlierCheck;
    p0[1].healthFlags |= HealthFlag.FailedActiveHc;
    // 2/4 healthy: health 70 → 30% spills (binomial ±5σ ≈ ±0.036).
    expect(Math.abs(share() - 0.3)).toBeLessThan(0.04);
    p0[2].healthFlags |= HealthFlag.FailedActiveHc;
    p0[3].healthFlags |= HealthFlag.FailedActiveHc;
    expect(share()).toBe(1);
    expect(buildPriorityLb(p0, 140, 0.5, create, null)).toBeNull();
  });
});
