import { describe, expect, it } from 'vitest';
import { Issues } from '../../../../proxy/config/issues.js';
import type { ProtoObject } from '../../../../proxy/config/proto-object.js';
import { withCommonHashingConfig } from '../../../../proxy/extensions/load-balancing-policies/common/consistent-hashing-config.js';
import { murmurHash2_64 } from '../../../../proxy/extensions/load-balancing-policies/common/murmur2-64.js';
import { seededRng } from '../../../../proxy/extensions/load-balancing-policies/common/rng.js';
import { xxHash64 } from '../../../../proxy/extensions/load-balancing-policies/common/xxhash64.js';
import {
  type RingHashConfig,
  RingHashLbFactory,
  ringHashFactory,
} from '../../../../proxy/extensions/load-balancing-policies/ring_hash/factory.js';
import { Host } from '../../../../proxy/upstream/host.js';
import type { LoadBalancer } from '../../../../proxy/upstream/load-balancer.js';
import { assignKeys, countPicks, ctxWithHash, keyMovement, makeHosts, requestHash } from '../helpers.js';

const KEYS = 10_000;

function parse(config?: ProtoObject): RingHashConfig {
  const issues = new Issues();
  const c = ringHashFactory.parseConfig(config, 'clusters[0].ring_hash_lb_config', issues);
  expect(issues.format()).toBe('');
  return c;
}

function factory(seed: number): RingHashLbFactory {
  return new RingHashLbFactory({ rng: seededRng(seed) });
}

/** The host chosen for each of KEYS request keys. */
function assign(lb: LoadBalancer): (Host | null)[] {
  return assignKeys(lb, 'user-', KEYS);
}

function shares(picks: readonly (Host | null)[], hosts: readonly Host[]): number[] {
  return hosts.map((h) => picks.filter((p) => p === h).length / picks.length);
}

describe('ring hash', () => {
  it('gives the same host for the same key in independently built instances', () => {
    const hosts = makeHosts(8);
    // Another proxy: other random seed, the hosts as separate objects in another order.
    const otherHosts = makeHosts(8).reverse();
    const a = assign(factory(1).create(hosts, parse(), null));
    const b = assign(factory(2).create(otherHosts, parse(), null));
    expect(a.map((h) => h!.key)).toEqual(b.map((h) => h!.key));
  });

  function movedFraction(n: number, removedIndex: number): { moved: number; movedFromOthers: number } {
    const hosts = makeHosts(n);
    const before = assign(factory(1).create(hosts, parse(), null));
    const removed = hosts[removedIndex];
    const after = assign(
      factory(1).create(
        hosts.filter((h) => h !== removed),
        parse(),
        null,
      ),
    );
    const { moved, movedFromOthers } = keyMovement(before, after, removed);
    return { moved: moved / KEYS, movedFromOthers: movedFromOthers / KEYS };
  }

  it('moves only about 1/N of the keys when one of N hosts is removed', () => {
    // 100 hosts on the default 1024-entry minimum: 11 entries per host before and after, so only
    // the removed host's keys move.
    const { moved, movedFromOthers } = movedFraction(100, 37);
    expect(moved).toBeGreaterThan(0.5 / 100);
    expect(moved).toBeLessThan(1.5 / 100);
    expect(movedFromOthers).toBe(0);
  });

  it("with few hosts, Envoy's ring rescaling also shifts some keys between the survivors", () => {
    // 10 → 9 hosts: Envoy keeps the ring near minimum_ring_size, so each survivor goes from 103 to
    // 114 entries and the new entries take some keys from the others: about 2/N move in all.
    const { moved, movedFromOthers } = movedFraction(10, 4);
    expect(moved).toBeGreaterThan(0.5 / 10);
    expect(moved).toBeLessThan(2 / 10);
    expect(movedFromOthers).toBeLessThan(1 / 10);
  });

  it('respects weights: 2:1 weights give about 2:1 keys', () => {
    const hosts = makeHosts(2, [2, 1]);
    const small = factory(1).create(hosts, parse(), null);
    expect(small.size).toBe(1026); // ceil(1024 / 3) = 342 entries per weight unit
    expect(small.ring.minHashesPerHost).toBe(342);
    expect(small.ring.maxHashesPerHost).toBe(684);
    // A larger ring makes each host's share of the circle follow its entry count closely.
    const lb = factory(1).create(hosts, parse({ minimum_ring_size: 65536 }), null);
    const s = shares(assign(lb), hosts);
    expect(s[0] / s[1]).toBeGreaterThan(1.85);
    expect(s[0] / s[1]).toBeLessThan(2.15);
  });

  it('spreads keys over equal hosts', () => {
    const hosts = makeHosts(5);
    const s = shares(assign(factory(1).create(hosts, parse(), null)), hosts);
    for (const x of s) expect(Math.abs(x - 0.2)).toBeLessThan(0.04);
  });

  it('places host entries at the hash of "<ip:port>_<i>" as Envoy does (xxHash64 and MurmurHash2)', () => {
    const [host] = makeHosts(1);
    for (const [fn, hash] of [
      ['XX_HASH', (s: string) => xxHash64(s)],
      ['MURMUR_HASH_2', (s: string) => murmurHash2_64(s)],
    ] as const) {
      const lb = factory(1).create([host], parse({ hash_function: fn, minimum_ring_size: 8 }), null);
      const expected = Array.from({ length: 8 }, (_, i) => Number(hash(`10.0.0.1:8080_${i}`) >> 11n)).sort(
        (a, b) => a - b,
      );
      expect(Array.from(lb.ring.positions)).toEqual(expected);
      // A request hashing exactly onto an entry takes it; one just past the last wraps to the first.
      expect(lb.chooseHost(ctxWithHash(expected[3]))).toBe(host);
    }
  });

  it('looks up the first entry clockwise from the request hash', () => {
    const hosts = makeHosts(3);
    const lb = factory(1).create(hosts, parse({ minimum_ring_size: 3 }), null);
    const pos = Array.from(lb.ring.positions);
    expect(pos.length).toBe(3);
    const owner = (k: number) => lb.ring.hostAt(k);
    expect(lb.chooseHost(ctxWithHash(pos[0]))).toBe(owner(0));
    expect(lb.chooseHost(ctxWithHash(pos[0] + 1))).toBe(owner(1));
    expect(lb.chooseHost(ctxWithHash(pos[2] + 1))).toBe(owner(0));
    expect(lb.chooseHost(ctxWithHash(0))).toBe(owner(0));
  });

  it('finds the same entry as a plain binary search over the whole ring, for any ring size', () => {
    const rng = seededRng(11);
    for (const min of [1, 3, 100, 1024, 5000]) {
      const lb = factory(1).create(
        makeHosts(7, [1, 2, 3, 1, 1, 5, 2]),
        parse({ minimum_ring_size: min }),
        null,
      );
      const pos = lb.ring.positions;
      const probes = [0, pos[0], pos[pos.length - 1], pos[pos.length - 1] + 1, 2 ** 53 - 1];
      for (let i = 0; i < 2000; i++) probes.push(rng.next53());
      let mismatches = 0;
      for (const h of probes) {
        let lo = 0;
        let hi = pos.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (pos[mid] < h) lo = mid + 1;
          else hi = mid;
        }
        if (lb.ring.entryFor(h) !== (lo === pos.length ? 0 : lo)) mismatches++;
      }
      expect(mismatches).toBe(0);
    }
  });

  it('treats a malformed hash key as no key instead of failing', () => {
    const hosts = makeHosts(3);
    const lb = factory(1).create(hosts, parse(), null);
    for (const bad of [-1, 2 ** 60, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(hosts).toContain(lb.chooseHost(ctxWithHash(bad)));
    }
  });

  it('uses the hostname or the envoy.lb hash_key metadata as the host key when configured', () => {
    const a = new Host({ address: '10.1.0.1', port: 80, hostname: 'a.svc' });
    const b = new Host({ address: '10.1.0.2', port: 80, metadata: { 'envoy.lb': { hash_key: 'b-key' } } });
    const cfg = parse({
      minimum_ring_size: 4,
      consistent_hashing_lb_config: { use_hostname_for_hashing: true },
    });
    const lb = factory(1).create([a], cfg, null);
    expect(Array.from(lb.ring.positions)).toContain(Number(xxHash64('a.svc_0') >> 11n));
    const lb2 = factory(1).create([b], cfg, null);
    expect(Array.from(lb2.ring.positions)).toContain(Number(xxHash64('b-key_0') >> 11n));
  });

  it('sizes the ring from minimum_ring_size and caps it at maximum_ring_size', () => {
    const hosts = makeHosts(4);
    expect(factory(1).create(hosts, parse({ minimum_ring_size: 16 }), null).size).toBe(16);
    // Weights 1:100 would need ceil(1024 / 101) × 101 = 1111 entries; the maximum caps it.
    const skewed = makeHosts(2, [1, 100]);
    expect(factory(1).create(skewed, parse(), null).size).toBe(1111);
    // With minimum 400 the scale is ceil(400 / 101) × 101 = 404, over a maximum of 402.
    expect(
      factory(1).create(skewed, parse({ minimum_ring_size: 400, maximum_ring_size: 402 }), null).size,
    ).toBe(402);
  });

  it('picks at random without a hash key, and walks on past hosts already tried', () => {
    const hosts = makeHosts(4);
    const lb = factory(3).create(hosts, parse(), null);
    const counts = countPicks(lb, hosts, 4000, ctxWithHash(undefined));
    for (const c of counts) expect(c).toBeGreaterThan(700);
    const key = requestHash('sticky');
    const first = lb.chooseHost(ctxWithHash(key))!;
    const retry = lb.chooseHost(ctxWithHash(key, [first]));
    expect(retry).not.toBe(first);
    expect(factory(1).create([], parse(), null).chooseHost(ctxWithHash(key))).toBeNull();
  });

  it('reuses the previous ring when the hosts keep their keys and weights', () => {
    const f = factory(1);
    const first = f.create(makeHosts(5), parse(), null);
    // The same endpoints as new Host objects (a health flap or metadata change rebuilds them).
    const again = makeHosts(5);
    const second = f.create(again, parse(), first);
    expect(second.ring.positions).toBe(first.ring.positions);
    expect(second.chooseHost(ctxWithHash(requestHash('x')))).toBe(
      again.find((h) => h.key === first.chooseHost(ctxWithHash(requestHash('x')))!.key),
    );
    // A weight change or another ring size builds a new ring.
    expect(f.create(makeHosts(5, [1, 1, 1, 1, 2]), parse(), second).ring.positions).not.toBe(
      first.ring.positions,
    );
    expect(f.create(again, parse({ minimum_ring_size: 64 }), second).ring.positions).not.toBe(
      first.ring.positions,
    );
  });

  it('rebuilds for 10,000 hosts quickly', () => {
    const hosts = makeHosts(10_000);
    const t0 = performance.now();
    const lb = factory(1).create(hosts, parse(), null);
    const ms = performance.now() - t0;
    expect(lb.size).toBe(10_000);
    expect(ms).toBeLessThan(1000);
  });
});

describe('ring hash config', () => {
  it('has Envoy defaults and names', () => {
    expect(parse()).toEqual({
      minRingSize: 1024,
      maxRingSize: 8388608,
      hashFunction: 'XX_HASH',
      useHostnameForHashing: false,
      hashBalanceFactor: 0,
    });
    expect(ringHashFactory.lbPolicyEnum).toBe('RING_HASH');
    expect(ringHashFactory.typeUrl).toBe(
      'type.googleapis.com/envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash',
    );
    expect(parse({ hash_function: 'DEFAULT_HASH' }).hashFunction).toBe('XX_HASH');
  });

  it('reports bad sizes and hash functions with their paths', () => {
    const p = 'static_resources.clusters[0].ring_hash_lb_config';
    const cases: [ProtoObject, string][] = [
      [
        { minimum_ring_size: 2048, maximum_ring_size: 1024 },
        `error: ${p}.minimum_ring_size: minimum_ring_size (2048) must not exceed maximum_ring_size (1024)`,
      ],
      [{ minimum_ring_size: 0 }, `error: ${p}.minimum_ring_size: must be at least 1, got 0`],
      [{ maximum_ring_size: 8388609 }, `error: ${p}.maximum_ring_size: must be at most 8388608, got 8388609`],
      [
        { hash_function: 'CRC32' },
        `error: ${p}.hash_function: must be one of DEFAULT_HASH, XX_HASH, MURMUR_HASH_2, got "CRC32"`,
      ],
      [{ minimum_ring_size: 1.5 }, `error: ${p}.minimum_ring_size: must be a non-negative integer`],
      [
        { consistent_hashing_lb_config: { hash_balance_factor: 99 } },
        `error: ${p}.consistent_hashing_lb_config.hash_balance_factor: must be at least 100, got 99`,
      ],
    ];
    for (const [config, message] of cases) {
      const issues = new Issues();
      ringHashFactory.parseConfig(config, p, issues);
      expect(issues.format()).toBe(message);
    }
  });

  it('folds common_lb_config.consistent_hashing_lb_config into the enum form', () => {
    const merged = withCommonHashingConfig(
      { minimum_ring_size: 64 },
      { consistent_hashing_lb_config: { use_hostname_for_hashing: true } },
    );
    expect(parse(merged)).toMatchObject({ minRingSize: 64, useHostnameForHashing: true });
    expect(withCommonHashingConfig(undefined, undefined)).toBeUndefined();
  });
});
