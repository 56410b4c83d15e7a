/**
 * track_cluster_stats.per_endpoint_stats: /stats and /stats/prometheus count picks per host under
 * Envoy's cluster.<name>.endpoint.<address>.* names; off by default; /config_dump shows the
 * cluster's policy and the option.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { endpoints, type LbProxy, lbTestScope, spread } from './lb-harness.js';

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

function statValue(text: string, name: string): number | undefined {
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}: `)) return Number(line.slice(name.length + 2));
  return undefined;
}

describe('per_endpoint_stats', () => {
  it('counts each host’s requests under cluster.<name>.endpoint.<address>.* in /stats and Prometheus', async () => {
    const ups = await upstreams(3);
    const p = await proxy({
      cluster: { lb_policy: 'LEAST_REQUEST', track_cluster_stats: { per_endpoint_stats: true } },
      endpoints: endpoints(ups.map((u) => ({ upstream: u }))),
    });
    const counts = await spread(p.port, 30, 3);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(30);
    const text = await admin(p, '/stats');
    let sum = 0;
    for (const u of ups) {
      const seg = u.address.replace(':', '_');
      const total = statValue(text, `cluster.backend.endpoint.${seg}.rq_total`);
      expect(total).toBe(counts.get(u.name) ?? 0);
      expect(statValue(text, `cluster.backend.endpoint.${seg}.rq_success`)).toBe(total);
      expect(statValue(text, `cluster.backend.endpoint.${seg}.healthy`)).toBe(1);
      expect(statValue(text, `cluster.backend.endpoint.${seg}.rq_active`)).toBe(0);
      expect(statValue(text, `cluster.backend.endpoint.${seg}.cx_connect_fail`)).toBe(0);
      sum += total ?? 0;
    }
    expect(sum).toBe(30);
    const filtered = await admin(p, '/stats?filter=endpoint.*rq_total');
    expect(filtered.trim().split('\n')).toHaveLength(3);

    const prom = await admin(p, '/stats/prometheus');
    const u0 = ups[0]!;
    const label = u0.address.replace(':', '_');
    expect(prom).toContain('# TYPE envoy_cluster_endpoint_rq_total counter');
    expect(prom).toContain(
      `envoy_cluster_endpoint_rq_total{envoy_cluster_name="backend",envoy_endpoint_address="${label}"} ${counts.get(u0.name) ?? 0}`,
    );

    // /config_dump shows the policy and the option, as decoded from the cluster.
    const dump = JSON.parse(await admin(p, '/config_dump')) as { configs: Array<Record<string, unknown>> };
    const clusters = dump.configs.find((c) => String(c['@type']).endsWith('ClustersConfigDump'));
    const text2 = JSON.stringify(clusters);
    expect(text2).toContain('"lb_policy":"LEAST_REQUEST"');
    expect(text2).toContain('"track_cluster_stats":{"per_endpoint_stats":true}');
  });

  it('is off by default: no endpoint stats, and the store is listed as is', async () => {
    const ups = await upstreams(2);
    const p = await proxy({
      cluster: { lb_policy: 'RING_HASH' },
      endpoints: endpoints(ups.map((u) => ({ upstream: u }))),
    });
    await spread(p.port, 4, 1);
    const text = await admin(p, '/stats');
    expect(text).not.toContain('.endpoint.');
    expect(statValue(text, 'cluster.backend.upstream_rq_total')).toBe(4);
    const dump = JSON.stringify(JSON.parse(await admin(p, '/config_dump')));
    expect(dump).toContain('"lb_policy":"RING_HASH"');
    expect(dump).not.toContain('track_cluster_stats');
  });

  it('rejects the track_cluster_stats histograms remora does not publish', async () => {
    await expect(
      proxy({ cluster: { track_cluster_stats: { timeout_budgets: true } }, endpoints: [] }),
    ).rejects.toThrow('track_cluster_stats.timeout_budgets: not supported by remora');
  });
});
