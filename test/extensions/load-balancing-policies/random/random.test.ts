import { describe, expect, it } from 'vitest';
import { Issues } from '../../../../proxy/config/issues.js';
import { seededRng } from '../../../../proxy/extensions/load-balancing-policies/common/rng.js';
import {
  RandomLbFactory,
  randomFactory,
} from '../../../../proxy/extensions/load-balancing-policies/random/factory.js';
import { chiSquare, chiSquareBound, countPicks, ctxWithHash, makeHosts, proportions } from '../helpers.js';

const PICKS = 60_000;

function factory(seed = 1): RandomLbFactory {
  return new RandomLbFactory({ rng: seededRng(seed) });
}

describe('random load balancer', () => {
  it('spreads equal-weight picks uniformly', () => {
    const hosts = makeHosts(5);
    const f = factory();
    const counts = countPicks(
      f.create(hosts, f.parseConfig(undefined, 'c', new Issues()), null),
      hosts,
      PICKS,
    );
    expect(chiSquare(counts, proportions([1, 1, 1, 1, 1]))).toBeLessThan(chiSquareBound(4));
  });

  it('picks in proportion to weight', () => {
    const weights = [1, 2, 3, 10];
    const hosts = makeHosts(4, weights);
    const f = factory(7);
    const counts = countPicks(
      f.create(hosts, f.parseConfig(undefined, 'c', new Issues()), null),
      hosts,
      PICKS,
    );
    expect(chiSquare(counts, proportions(weights))).toBeLessThan(chiSquareBound(3));
    // The claim is proportionality, not merely "different": uniform would fail the same test.
    expect(chiSquare(counts, proportions([1, 1, 1, 1]))).toBeGreaterThan(chiSquareBound(3));
  });

  it('is reproducible from a seed', () => {
    const hosts = makeHosts(10, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const seqA = [];
    const seqB = [];
    const a = factory(42).create(hosts, { kind: 'random' }, null);
    const b = factory(42).create(hosts, { kind: 'random' }, null);
    for (let i = 0; i < 100; i++) {
      seqA.push(a.chooseHost(null));
      seqB.push(b.chooseHost(null));
    }
    expect(seqA).toEqual(seqB);
    expect(new Set(seqA).size).toBeGreaterThan(5);
  });

  it('returns null with no hosts and the only host with one', () => {
    const f = factory();
    expect(f.create([], { kind: 'random' }, null).chooseHost(null)).toBeNull();
    const [h] = makeHosts(1);
    expect(f.create([h], { kind: 'random' }, null).chooseHost(null)).toBe(h);
  });

  it('avoids hosts the request already tried', () => {
    const hosts = makeHosts(3);
    const lb = factory(3).create(hosts, { kind: 'random' }, null);
    const counts = countPicks(lb, hosts, 3000, ctxWithHash(undefined, [hosts[0], hosts[1]]));
    // Up to 4 draws: the untried host is missed only with probability (2/3)^4 ≈ 0.2.
    expect(counts[2] / 3000).toBeGreaterThan(0.75);
  });

  it('registers as Envoy does and accepts the typed Random config', () => {
    expect(randomFactory.lbPolicyEnum).toBe('RANDOM');
    expect(randomFactory.typeUrl).toBe(
      'type.googleapis.com/envoy.extensions.load_balancing_policies.random.v3.Random',
    );
    const issues = new Issues();
    randomFactory.parseConfig(
      {
        '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.random.v3.Random',
        locality_lb_config: {},
      },
      'clusters[0].load_balancing_policy.policies[0].typed_extension_config.typed_config',
      issues,
    );
    expect(issues.ok).toBe(true);
    randomFactory.parseConfig({ locality_lb_config: 5 }, 'x', issues);
    expect(issues.format()).toContain('x.locality_lb_config: must be a message');
  });
});
