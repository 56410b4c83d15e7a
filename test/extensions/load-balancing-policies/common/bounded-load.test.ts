import { describe, expect, it } from 'vitest';
import { Issues } from '../../../../proxy/config/issues.js';
import type { ProtoObject } from '../../../../proxy/config/proto-object.js';
import { seededRng } from '../../../../proxy/extensions/load-balancing-policies/common/rng.js';
import { MaglevLbFactory } from '../../../../proxy/extensions/load-balancing-policies/maglev/factory.js';
import { RingHashLbFactory } from '../../../../proxy/extensions/load-balancing-policies/ring_hash/factory.js';
import type { Host } from '../../../../proxy/upstream/host.js';
import type { LbPolicyFactory, LoadBalancer } from '../../../../proxy/upstream/load-balancer.js';
import { ctxWithHash, makeHosts, requestHash } from '../helpers.js';

const policies: [string, () => LbPolicyFactory<unknown>][] = [
  ['ring hash', () => new RingHashLbFactory({ rng: seededRng(1) })],
  ['maglev', () => new MaglevLbFactory({ rng: seededRng(1) })],
];

function build(
  make: () => LbPolicyFactory<unknown>,
  hosts: readonly Host[],
  config: ProtoObject,
): LoadBalancer {
  const f = make();
  const issues = new Issues();
  const c = f.parseConfig(config, 'lb', issues);
  expect(issues.format()).toBe('');
  return f.create(hosts, c, null);
}

describe.each(policies)('%s with hash_balance_factor (bounded loads)', (_name, make) => {
  it('caps the host a hot key maps to at factor/100 of the average, overflowing elsewhere', () => {
    const hosts = makeHosts(4);
    const lb = build(make, hosts, { consistent_hashing_lb_config: { hash_balance_factor: 150 } });
    const hot = ctxWithHash(requestHash('hot-key'));
    const home = lb.chooseHost(hot)!;
    // 200 requests for one key, each held open (the router counts Host.rqActive).
    for (let i = 0; i < 200; i++) lb.chooseHost(hot)!.rqActive++;
    // A host takes a request while its active count is within its slots, ceil(ceil((active + 1)
    // × 1.5) / 4): the last pick (199 active) allows 75, so at most 76 end up on one host.
    expect(home.rqActive).toBeLessThanOrEqual(76);
    expect(home.rqActive).toBeGreaterThanOrEqual(70);
    for (const h of hosts) expect(h.rqActive).toBeLessThanOrEqual(76);
    expect(hosts.reduce((a, h) => a + h.rqActive, 0)).toBe(200);
  });

  it('sends a key to its own host while that host is under its cap', () => {
    const hosts = makeHosts(4);
    const bounded = build(make, hosts, { consistent_hashing_lb_config: { hash_balance_factor: 125 } });
    const plain = build(make, hosts, {});
    for (let i = 0; i < 200; i++) {
      const ctx = ctxWithHash(requestHash(`k${i}`));
      expect(bounded.chooseHost(ctx)).toBe(plain.chooseHost(ctx));
    }
  });

  it('overflows the same key to the same host on another proxy', () => {
    const a = makeHosts(6);
    const b = makeHosts(6).reverse();
    const config = { consistent_hashing_lb_config: { hash_balance_factor: 100 } };
    const lbA = build(make, a, config);
    const lbB = build(make, b, config);
    const hot = ctxWithHash(requestHash('hot'));
    const home = lbA.chooseHost(hot)!;
    // Load the key's home host on both proxies; the overflow target must agree.
    home.rqActive = 10;
    b.find((h) => h.key === home.key)!.rqActive = 10;
    const overflowA = lbA.chooseHost(hot)!;
    expect(overflowA.key).not.toBe(home.key);
    expect(lbB.chooseHost(hot)!.key).toBe(overflowA.key);
  });

  it('finds the one host under its cap whatever the key', () => {
    const hosts = makeHosts(3);
    hosts.forEach((h, i) => {
      h.rqActive = [9, 4, 9][i];
    });
    const lb = build(make, hosts, { consistent_hashing_lb_config: { hash_balance_factor: 100 } });
    // 22 active: each host's cap is ceil(23 / 3) = 8, so only host 1 may take more.
    for (let i = 0; i < 20; i++) expect(lb.chooseHost(ctxWithHash(requestHash(`x${i}`)))).toBe(hosts[1]);
    hosts[1].rqActive = 12; // 30 active: cap ceil(31 / 3) = 11 → now hosts 0 and 2 are under
    for (let i = 0; i < 20; i++) expect(lb.chooseHost(ctxWithHash(requestHash(`x${i}`)))).not.toBe(hosts[1]);
  });
});
