/**
 * Every load-balancing policy with real traffic: the whole proxy (startProxy) in front of three
 * real upstreams, counting which upstream answered each request.
 */
import { describe, expect, it } from 'vitest';
import { endpoints, get, lbTestScope, spread } from './lb-harness.js';

const { upstreams, proxy } = lbTestScope();

describe('load-balancing policies through the proxy', () => {
  it('ROUND_ROBIN with weights 3:1:1 gives 3 of every 5 to the heavy host, interleaved', async () => {
    const [a, b, c] = await upstreams([0, 0, 0]);
    const p = await proxy({
      cluster: { lb_policy: 'ROUND_ROBIN' },
      endpoints: endpoints([
        { upstream: a, weight: 3 },
        { upstream: b, weight: 1 },
        { upstream: c, weight: 1 },
      ]),
    });
    const seq: string[] = [];
    for (let i = 0; i < 50; i++) seq.push((await get(p.port)).upstream);
    const n = (x: string) => seq.filter((s) => s === x).length;
    expect(n('u0')).toBeGreaterThanOrEqual(29);
    expect(n('u0')).toBeLessThanOrEqual(31);
    expect(Math.abs(n('u1') - 10)).toBeLessThanOrEqual(1);
    expect(Math.abs(n('u2') - 10)).toBeLessThanOrEqual(1);
    // Interleaved: every full cycle of 5 holds 3/1/1, and the light hosts are never skipped
    // for longer than one cycle. (Envoy's EDF order, u0 u0 u1 u2 u0, can join two cycles' u0
    // picks into a run of 3 — the weight — but never more.)
    for (let start = 0; start + 5 <= seq.length; start += 5) {
      const w = seq.slice(start, start + 5);
      expect(w.filter((s) => s === 'u0').length, w.join(' ')).toBe(3);
    }
    let run = 1;
    let maxRun = 1;
    for (let i = 1; i < seq.length; i++) {
      run = seq[i] === seq[i - 1] ? run + 1 : 1;
      maxRun = Math.max(maxRun, run);
    }
    expect(maxRun, seq.join(' ')).toBeLessThanOrEqual(3);
  });

  it('RANDOM spreads over all three hosts', async () => {
    const ups = await upstreams([0, 0, 0]);
    const p = await proxy({
      cluster: { lb_policy: 'RANDOM' },
      endpoints: endpoints(ups.map((u) => ({ upstream: u }))),
    });
    const counts = await spread(p.port, 600, 4);
    // Expected 200 each; the bound is ~6 standard deviations (sd ≈ 11.5).
    for (const u of ups) {
      expect(counts.get(u.name) ?? 0).toBeGreaterThan(130);
      expect(counts.get(u.name) ?? 0).toBeLessThan(270);
    }
  });

  it('LEAST_REQUEST sends clearly less to a slow upstream', async () => {
    const ups = await upstreams([0, 0, 40]);
    const p = await proxy({
      cluster: { lb_policy: 'LEAST_REQUEST' },
      endpoints: endpoints(ups.map((u) => ({ upstream: u }))),
    });
    const counts = await spread(p.port, 300, 6);
    const slow = counts.get('u2') ?? 0;
    expect(slow).toBeLessThan(300 * 0.2);
    expect(counts.get('u0') ?? 0).toBeGreaterThan(slow * 2);
    expect(counts.get('u1') ?? 0).toBeGreaterThan(slow * 2);
  });

  it('peak EWMA learns the slow upstream from real latencies and routes around it', async () => {
    const ups = await upstreams([0, 0, 40]);
    const p = await proxy({
      cluster: {
        load_balancing_policy: {
          policies: [
            {
              typed_extension_config: {
                name: 'peak_ewma',
                typed_config: {
                  // Defaults (decay 10 s, default_rtt 30 ms), as linkerd2-proxy.
                  '@type':
                    'type.googleapis.com/remora.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma',
                },
              },
            },
          ],
        },
      },
      endpoints: endpoints(ups.map((u) => ({ upstream: u }))),
    });
    // One request at a time: no host ever has a request outstanding when the next is picked, so
    // only the measured latencies (the router's onRequestEnd reports) can tell the hosts apart;
    // without them every pick would be a coin toss (~1/3 each).
    const counts = await spread(p.port, 200, 1);
    const slow = counts.get('u2') ?? 0;
    expect(slow).toBeLessThan(200 * 0.1);
    expect((counts.get('u0') ?? 0) + (counts.get('u1') ?? 0)).toBe(200 - slow);
  });

  for (const policy of ['RING_HASH', 'MAGLEV'] as const) {
    it(`${policy}: the same header reaches the same upstream, and a second proxy agrees`, async () => {
      const ups = await upstreams([0, 0, 0]);
      const spec = {
        cluster: { lb_policy: policy },
        endpoints: endpoints(ups.map((u) => ({ upstream: u }))),
        route: { hash_policy: [{ header: { header_name: 'x-user' } }] },
      };
      const p1 = await proxy(spec);
      const p2 = await proxy(spec);
      const first = new Map<string, string>();
      for (let k = 0; k < 40; k++) {
        const headers = { 'x-user': `user-${k}` };
        const r = await get(p1.port, { headers });
        first.set(`user-${k}`, r.upstream);
        expect((await get(p1.port, { headers })).upstream).toBe(r.upstream);
        expect((await get(p2.port, { headers })).upstream).toBe(r.upstream);
      }
      // 40 keys over 3 hosts: every host owns some of them.
      expect(new Set(first.values()).size).toBe(3);
      // No key: random picks, still spread.
      const counts = await spread(p1.port, 90, 3);
      expect(counts.size).toBe(3);
    });
  }
});
