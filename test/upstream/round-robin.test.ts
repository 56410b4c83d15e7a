import { describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import { roundRobinFactory } from '../../proxy/extensions/load-balancing-policies/round_robin/factory.js';
import { Host } from '../../proxy/upstream/host.js';
import type { LoadBalancer } from '../../proxy/upstream/load-balancer.js';

function host(n: number, weight = 1): Host {
  return new Host({ address: `10.0.0.${n}`, port: 80, weight });
}

function picks(lb: LoadBalancer, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(lb.chooseHost(null)?.key ?? 'none');
  return out;
}

function tally(keys: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

describe('round robin', () => {
  it('gives a weight-3 host 3 of every 4 picks, interleaved', () => {
    const a = host(1, 3);
    const b = host(2, 1);
    const lb = roundRobinFactory.create([a, b], {}, null);
    const seq = picks(lb, 400);
    for (let w = 0; w < 100; w++) {
      const win = tally(seq.slice(w * 4, w * 4 + 4));
      expect(win.get(a.key)).toBe(3);
      expect(win.get(b.key)).toBe(1);
    }
    // Never more than 3 of a in a row (smooth, not bursty beyond its share).
    expect(seq.join(',')).not.toContain(Array(4).fill(a.key).join(','));
  });

  it('rotates evenly over equal weights', () => {
    const hosts = [host(1), host(2), host(3)];
    const lb = roundRobinFactory.create(hosts, {}, null);
    const seq = picks(lb, 300);
    for (let i = 3; i < seq.length; i++) expect(seq[i]).toBe(seq[i - 3]);
    expect([...tally(seq).values()]).toEqual([100, 100, 100]);
  });

  it('returns null with no hosts', () => {
    expect(roundRobinFactory.create([], {}, null).chooseHost(null)).toBeNull();
  });

  it('stays fair after a host is added and removed (equal weights)', () => {
    const [h1, h2, h3, h4] = [host(1), host(2), host(3), host(4)];
    let lb = roundRobinFactory.create([h1, h2, h3], {}, null);
    const before = picks(lb, 2);
    lb = roundRobinFactory.create([h1, h2, h3, h4], {}, lb);
    const after = picks(lb, 400);
    expect([...tally(after).values()]).toEqual([100, 100, 100, 100]);
    // The rotation continues where it was: the host after the last picked one comes next.
    const order = [h1, h2, h3].map((h) => h.key);
    const expectedNext = order[(order.indexOf(before[1]) + 1) % 3];
    expect(after[0]).toBe(expectedNext);
    lb = roundRobinFactory.create([h1, h3, h4], {}, lb);
    const removed = tally(picks(lb, 300));
    expect(removed.get(h2.key)).toBeUndefined();
    expect([...removed.values()]).toEqual([100, 100, 100]);
  });

  it('stays fair after add/remove with weights, and a new host does not jump the queue', () => {
    const a = host(1, 2);
    const b = host(2, 1);
    let lb = roundRobinFactory.create([a, b], {}, null);
    picks(lb, 7);
    const c = host(3, 1);
    lb = roundRobinFactory.create([a, b, c], {}, lb);
    const seq = picks(lb, 4000);
    const t = tally(seq);
    expect(t.get(a.key)).toBeGreaterThanOrEqual(1999);
    expect(t.get(a.key)).toBeLessThanOrEqual(2001);
    expect(t.get(b.key)).toBeGreaterThanOrEqual(999);
    expect(t.get(c.key)).toBeGreaterThanOrEqual(999);
    // Every window of 4 has 2 a's: no burst after the rebuild.
    for (let w = 1; w < 100; w++) expect(tally(seq.slice(w * 4, w * 4 + 4)).get(a.key)).toBe(2);
    lb = roundRobinFactory.create([a, c], {}, lb);
    const t2 = tally(picks(lb, 300));
    expect(t2.get(a.key)).toBe(200);
    expect(t2.get(c.key)).toBe(100);
  });

  it('avoids hosts a retry already tried', () => {
    const hosts = [host(1), host(2), host(3)];
    const lb = roundRobinFactory.create(hosts, {}, null);
    for (let i = 0; i < 20; i++) {
      const h = lb.chooseHost({ hashKey: undefined, previousHosts: [hosts[0]], downstreamAddress: '' });
      expect(h).not.toBe(hosts[0]);
    }
  });

  it('picks from 10,000 weighted hosts in logarithmic time', () => {
    const hosts = Array.from(
      { length: 10_000 },
      (_, i) => new Host({ address: '10.1.0.1', port: 1 + i, weight: 1 + (i % 5) }),
    );
    const lb = roundRobinFactory.create(hosts, {}, null);
    const t0 = performance.now();
    picks(lb, 100_000);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('rejects round_robin_lb_config fields it does not implement', () => {
    const issues = new Issues();
    roundRobinFactory.parseConfig({ slow_start_config: {}, bogus: 1 }, 'c.round_robin_lb_config', issues);
    expect(issues.format()).toContain('c.round_robin_lb_config.slow_start_config: not supported yet');
    expect(issues.format()).toContain('c.round_robin_lb_config.bogus: unknown or unsupported field');
  });
});
