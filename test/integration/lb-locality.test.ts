/**
 * Locality-weighted balancing through the whole proxy: common_lb_config.locality_weighted_lb_config
 * with zones C/A/B weighted 90/5/5 in the ClusterLoadAssignment.
 */
import { describe, expect, it } from 'vitest';
import { endpoints, lbTestScope, spread, startLbProxy } from './lb-harness.js';

const { upstreams, proxy } = lbTestScope();

describe('locality-weighted load balancing', () => {
  it('a 90/5/5 split across zones C/A/B comes out 90/5/5', async () => {
    const [c, a, b] = await upstreams(3);
    const p = await proxy({
      cluster: { lb_policy: 'ROUND_ROBIN', common_lb_config: { locality_weighted_lb_config: {} } },
      endpoints: endpoints([
        { upstream: c, zone: 'C', localityWeight: 90 },
        { upstream: a, zone: 'A', localityWeight: 5 },
        { upstream: b, zone: 'B', localityWeight: 5 },
      ]),
    });
    const counts = await spread(p.port, 200, 1);
    // Smooth weighted round robin over localities is exact over each cycle of 20.
    expect(counts.get(c.name)).toBe(180);
    expect(counts.get(a.name)).toBe(10);
    expect(counts.get(b.name)).toBe(10);
  });

  it('inside a locality the cluster policy balances its hosts; a zone without weight gets nothing', async () => {
    const ups = await upstreams(5);
    const p = await proxy({
      cluster: { lb_policy: 'ROUND_ROBIN', common_lb_config: { locality_weighted_lb_config: {} } },
      endpoints: endpoints([
        { upstream: ups[0], zone: 'A', localityWeight: 3 },
        { upstream: ups[1], zone: 'A', localityWeight: 3 },
        { upstream: ups[2], zone: 'B', localityWeight: 1 },
        { upstream: ups[3], zone: 'B', localityWeight: 1 },
        { upstream: ups[4], zone: 'Z' },
      ]),
    });
    const counts = await spread(p.port, 160, 1);
    expect((counts.get('u0') ?? 0) + (counts.get('u1') ?? 0)).toBe(120);
    expect(counts.get('u0')).toBe(60);
    expect(counts.get('u2')).toBe(20);
    expect(counts.get('u3')).toBe(20);
    expect(counts.get('u4')).toBeUndefined();
  });

  it('without locality_weighted_lb_config the locality weights are ignored (plain round robin)', async () => {
    const [c, a, b] = await upstreams(3);
    const p = await proxy({
      cluster: { lb_policy: 'ROUND_ROBIN' },
      endpoints: endpoints([
        { upstream: c, zone: 'C', localityWeight: 90 },
        { upstream: a, zone: 'A', localityWeight: 5 },
        { upstream: b, zone: 'B', localityWeight: 5 },
      ]),
    });
    const counts = await spread(p.port, 90, 1);
    expect([counts.get('u0'), counts.get('u1'), counts.get('u2')]).toEqual([30, 30, 30]);
  });

  it('a bad healthy_panic_threshold is refused with its field path', async () => {
    const [c] = await upstreams(1);
    await expect(
      startLbProxy({
        cluster: { lb_policy: 'ROUND_ROBIN', common_lb_config: { healthy_panic_threshold: { value: 150 } } },
        endpoints: endpoints([{ upstream: c }]),
      }),
    ).rejects.toThrow(
      /clusters\[0\]\.common_lb_config\.healthy_panic_threshold\.value: must be a percentage/,
    );
  });
});
