import { describe, expect, it } from 'vitest';
import { Issues } from '../../../../proxy/config/issues.js';
import type { ProtoObject } from '../../../../proxy/config/proto-object.js';
import { seededRng } from '../../../../proxy/extensions/load-balancing-policies/common/rng.js';
import { xxHash64 } from '../../../../proxy/extensions/load-balancing-policies/common/xxhash64.js';
import {
  type MaglevConfig,
  MaglevLbFactory,
  maglevFactory,
} from '../../../../proxy/extensions/load-balancing-policies/maglev/factory.js';
import type { Host } from '../../../../proxy/upstream/host.js';
import type { LoadBalancer } from '../../../../proxy/upstream/load-balancer.js';
import { assignKeys, countPicks, ctxWithHash, keyMovement, makeHosts, requestHash } from '../helpers.js';

const KEYS = 10_000;

function parse(config?: ProtoObject): MaglevConfig {
  const issues = new Issues();
  const c = maglevFactory.parseConfig(config, 'clusters[0].maglev_lb_config', issues);
  expect(issues.format()).toBe('');
  return c;
}

function factory(seed: number): MaglevLbFactory {
  return new MaglevLbFactory({ rng: seededRng(seed) });
}

function assign(lb: LoadBalancer): (Host | null)[] {
  return assignKeys(lb, 'session-', KEYS);
}

function entriesPerHost(lb: ReturnType<MaglevLbFactory['create']>): Map<Host, number> {
  const m = new Map<Host, number>();
  for (let s = 0; s < lb.table.tableSize; s++) {
    const h = lb.table.hostAt(s);
    m.set(h, (m.get(h) ?? 0) + 1);
  }
  return m;
}

describe('maglev', () => {
  it('gives the same host for the same key in independently built instances', () => {
    const a = assign(factory(1).create(makeHosts(7), parse(), null));
    const b = assign(factory(9).create(makeHosts(7).reverse(), parse(), null));
    expect(a.map((h) => h!.key)).toEqual(b.map((h) => h!.key));
  });

  it('fills the table evenly: equal hosts differ by at most one entry', () => {
    const lb = factory(1).create(makeHosts(7), parse(), null);
    const counts = [...entriesPerHost(lb).values()];
    expect(counts.reduce((a, b) => a + b, 0)).toBe(65537);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(lb.table.minEntriesPerHost).toBe(Math.min(...counts));
    expect(lb.table.maxEntriesPerHost).toBe(Math.max(...counts));
  });

  it('moves only about 1/N of the keys when one of N hosts is removed', () => {
    const n = 10;
    const hosts = makeHosts(n);
    const before = assign(factory(1).create(hosts, parse(), null));
    const removed = hosts[3];
    const after = assign(
      factory(1).create(
        hosts.filter((h) => h !== removed),
        parse(),
        null,
      ),
    );
    const { moved, movedFromOthers } = keyMovement(before, after, removed);
    expect(moved / KEYS).toBeGreaterThan(0.5 / n);
    expect(moved / KEYS).toBeLessThan(1.5 / n);
    // Maglev trades a little disruption for balance; the paper reports a few percent.
    expect(movedFromOthers / KEYS).toBeLessThan(0.03);
  });

  it('respects weights: 2:1 weights give about 2:1 table entries and keys', () => {
    const hosts = makeHosts(2, [2, 1]);
    const lb = factory(1).create(hosts, parse(), null);
    const entries = entriesPerHost(lb);
    expect(Math.abs(entries.get(hosts[0])! - (2 * 65537) / 3)).toBeLessThanOrEqual(1);
    const picks = assign(lb);
    const a = picks.filter((h) => h === hosts[0]).length;
    expect(a / (KEYS - a)).toBeGreaterThan(1.85);
    expect(a / (KEYS - a)).toBeLessThan(2.15);
  });

  it('maps a hash to table[hash mod table_size], with offset/skip from xxHash64 seeds 0 and 1', () => {
    const [host] = makeHosts(1);
    const other = makeHosts(2)[1];
    const lb = factory(1).create([host, other], parse({ table_size: 13 }), null);
    // Host 10.0.0.1:8080 claims its first preference in round 1: slot xxHash64(key) mod 13.
    const first = Number(xxHash64(host.key) % 13n);
    expect(lb.table.hostAt(first)).toBe(host);
    for (const k of [0, 5, 13 * 1000 + first, 2 ** 52 + 7]) {
      expect(lb.chooseHost(ctxWithHash(k))).toBe(lb.table.hostAt(k % 13));
    }
  });

  it('picks at random without a hash key and re-hashes away from hosts already tried', () => {
    const hosts = makeHosts(4);
    const lb = factory(2).create(hosts, parse(), null);
    for (const c of countPicks(lb, hosts, 4000, ctxWithHash(undefined))) expect(c).toBeGreaterThan(800);
    let differed = 0;
    for (let i = 0; i < 100; i++) {
      const k = requestHash(`k${i}`);
      const first = lb.chooseHost(ctxWithHash(k))!;
      if (lb.chooseHost(ctxWithHash(k, [first])) !== first) differed++;
    }
    // Each retry re-hash lands on another host 3 times in 4; with 3 re-hashes nearly always.
    expect(differed).toBeGreaterThan(95);
    expect(factory(1).create([], parse(), null).chooseHost(ctxWithHash(1))).toBeNull();
  });

  it('reuses the previous table when the hosts keep their keys and weights', () => {
    const f = factory(1);
    const first = f.create(makeHosts(5), parse(), null);
    const again = makeHosts(5);
    const second = f.create(again, parse(), first);
    expect(second.table.table).toBe(first.table.table);
    const k = requestHash('y');
    expect(second.chooseHost(ctxWithHash(k))).toBe(
      again.find((h) => h.key === first.chooseHost(ctxWithHash(k))!.key),
    );
    expect(f.create(makeHosts(4), parse(), second).table.table).not.toBe(first.table.table);
    expect(f.create(again, parse({ table_size: 65521 }), second).table.table).not.toBe(first.table.table);
  });

  it('treats a malformed hash key as no key instead of failing', () => {
    const hosts = makeHosts(3);
    const lb = factory(1).create(hosts, parse(), null);
    for (const bad of [-1, 2 ** 60, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(hosts).toContain(lb.chooseHost(ctxWithHash(bad)));
    }
  });

  it('rebuilds for 10,000 hosts quickly', () => {
    const t0 = performance.now();
    const lb = factory(1).create(makeHosts(10_000), parse(), null);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(lb.table.minEntriesPerHost).toBeGreaterThanOrEqual(6);
  });
});

describe('maglev config', () => {
  it('has Envoy defaults and names', () => {
    expect(parse()).toEqual({ tableSize: 65537, useHostnameForHashing: false, hashBalanceFactor: 0 });
    expect(parse({ table_size: 5000011 }).tableSize).toBe(5000011);
    expect(maglevFactory.lbPolicyEnum).toBe('MAGLEV');
    expect(maglevFactory.typeUrl).toBe(
      'type.googleapis.com/envoy.extensions.load_balancing_policies.maglev.v3.Maglev',
    );
  });

  it('rejects a table size that is not prime or too large', () => {
    const p = 'static_resources.clusters[2].maglev_lb_config';
    const cases: [ProtoObject, string][] = [
      [{ table_size: 65536 }, `error: ${p}.table_size: must be a prime number, got 65536`],
      [{ table_size: 1 }, `error: ${p}.table_size: must be a prime number, got 1`],
      [{ table_size: 5000012 }, `error: ${p}.table_size: must be at most 5000011, got 5000012`],
      [{ table_size: -7 }, `error: ${p}.table_size: must be a non-negative integer`],
    ];
    for (const [config, message] of cases) {
      const issues = new Issues();
      maglevFactory.parseConfig(config, p, issues);
      expect(issues.format()).toBe(message);
    }
  });
});
