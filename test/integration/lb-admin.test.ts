/**
 * /clusters shows what the balancer works with: each host's weight, locality, active requests
 * and, for peak EWMA, its current cost.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { endpoints, get, type LbProxy, lbTestScope, spread, type Upstream } from './lb-harness.js';

const { upstreams, proxy } = lbTestScope();

function admin(p: LbProxy, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: p.proxy.adminAddress?.port ?? 0, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe('/clusters for load balancing', () => {
  it('lists weight, locality and rq_active per host; no cost line for policies without one', async () => {
    const [a, b] = await upstreams([0, 0]);
    const p = await proxy({
      cluster: { lb_policy: 'ROUND_ROBIN', common_lb_config: { locality_weighted_lb_config: {} } },
      endpoints: endpoints([
        { upstream: a, weight: 7, zone: 'zone-a', localityWeight: 1 },
        { upstream: b, weight: 2, zone: 'zone-b', localityWeight: 1 },
      ]),
    });
    await get(p.port);
    const text = await admin(p, '/clusters');
    expect(text).toContain(`backend::${a.address}::weight::7\n`);
    expect(text).toContain(`backend::${b.address}::weight::2\n`);
    expect(text).toContain(`backend::${a.address}::zone::zone-a\n`);
    expect(text).toContain(`backend::${b.address}::region::r1\n`);
    expect(text).toContain(`backend::${a.address}::rq_active::0\n`);
    expect(text).not.toContain('peak_ewma_cost_us');
    const j = JSON.parse(await admin(p, '/clusters?format=json')) as {
      cluster_statuses: Array<{
        name: string;
        host_statuses: Array<{ weight: number; locality: { zone?: string } }>;
      }>;
    };
    const backend = j.cluster_statuses.find((c) => c.name === 'backend')!;
    expect(backend.host_statuses.map((h) => [h.weight, h.locality.zone])).toEqual([
      [7, 'zone-a'],
      [2, 'zone-b'],
    ]);
  });

  it('peak EWMA: each host shows its cost, and the slow host costs more', async () => {
    const ups = await upstreams([0, 30]);
    const p = await proxy({
      cluster: {
        load_balancing_policy: {
          policies: [
            {
              typed_extension_config: {
                name: 'peak_ewma',
                typed_config: {
                  '@type':
                    'type.googleapis.com/remora.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma',
                  default_rtt: '0.001s',
                },
              },
            },
          ],
        },
      },
      endpoints: endpoints(ups.map((u) => ({ upstream: u }))),
    });
    // Two hosts: power of two choices compares both, so the slow one is measured at least once
    // (it starts tied at default_rtt) and then avoided.
    await spread(p.port, 20, 2);
    const text = await admin(p, '/clusters');
    const cost = (u: Upstream) => {
      const m = new RegExp(`backend::${u.address.replace(/\./g, '\\.')}::peak_ewma_cost_us::(\\d+)`).exec(
        text,
      );
      if (m === null) throw new Error(`no cost for ${u.address} in\n${text}`);
      return Number(m[1]);
    };
    expect(cost(ups[1])).toBeGreaterThan(cost(ups[0]));
    expect(cost(ups[1])).toBeGreaterThanOrEqual(20_000); // ~30 ms measured, in µs
  });
});
