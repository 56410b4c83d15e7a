import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startAdmin } from './fixtures.js';

let h: Harness;
beforeEach(async () => {
  h = await startAdmin();
});
afterEach(async () => {
  await h.admin.close();
});

async function get(path: string, method = 'GET'): Promise<{ status: number; body: string; type: string }> {
  const r = await fetch(h.base + path, { method });
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') ?? '' };
}

describe('admin: /stats', () => {
  it('prints the text format, sorted, histograms last', async () => {
    const r = await get('/stats');
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/plain; charset=UTF-8');
    const lines = r.body.trimEnd().split('\n');
    expect(lines).toContain('cluster.backend.upstream_rq_total: 9');
    expect(lines).toContain('cluster.backend.upstream_cx_active: 2');
    expect(lines).toContain('http.ingress_http.downstream_rq_total: 7');
    expect(lines).toContain('cluster.aaa_empty.upstream_rq_time: No recorded values');
    expect(lines.at(-1)).toMatch(/^cluster\.backend\.upstream_rq_time: P0\(nan,/);
  });

  it('filters with a regex, honours usedonly, and 400s a bad regex', async () => {
    const r = await get(`/stats?filter=${encodeURIComponent('^cluster\\.backend\\.upstream_rq_(2|5)')}`);
    expect(r.body).toBe(
      'cluster.backend.upstream_rq_200: 1\ncluster.backend.upstream_rq_2xx: 1\ncluster.backend.upstream_rq_503: 1\ncluster.backend.upstream_rq_5xx: 1\n',
    );
    const used = await get('/stats?usedonly&filter=aaa_empty');
    expect(used.body).toBe('');
    const bad = await get(`/stats?filter=${encodeURIComponent('(unclosed')}`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatch(/^Invalid re2 regex/);
    // JS-only syntax that RE2 rejects (lookahead, backreferences) is a bad regex here too.
    expect((await get(`/stats?filter=${encodeURIComponent('upstream(?=_rq)')}`)).status).toBe(400);
    expect((await get(`/stats?filter=${encodeURIComponent('(a)\\1')}`)).status).toBe(400);
    expect((await get('/stats?type=Bogus')).status).toBe(400);
    expect((await get('/stats?format=xml')).status).toBe(400);
  });

  it('limits by type', async () => {
    const r = await get('/stats?type=Gauges&filter=backend');
    expect(
      r.body
        .trimEnd()
        .split('\n')
        .every((l) => !l.includes('upstream_rq_total')),
    ).toBe(true);
    expect(r.body).toContain('cluster.backend.upstream_cx_active: 2\n');
  });

  it('returns JSON in Envoy shape', async () => {
    const r = await get('/stats?format=json&filter=' + encodeURIComponent('backend\\.upstream_rq_t(i|o)'));
    expect(r.type).toBe('application/json');
    const j = JSON.parse(r.body);
    expect(j.stats[0]).toEqual({ name: 'cluster.backend.upstream_rq_timeout', value: 0 });
    expect(j.stats[1]).toEqual({ name: 'cluster.backend.upstream_rq_total', value: 9 });
    expect(j.stats[2].histograms.computed_quantiles[0].name).toBe('cluster.backend.upstream_rq_time');
  });

  it('serves Prometheus at /stats/prometheus and /stats?format=prometheus', async () => {
    const a = await get('/stats/prometheus');
    expect(a.status).toBe(200);
    expect(a.body).toContain('# TYPE envoy_cluster_upstream_rq_total counter\n');
    expect(a.body).toContain('envoy_cluster_upstream_rq_total{envoy_cluster_name="backend"} 9\n');
    expect(a.body).toContain(
      'envoy_cluster_upstream_rq{envoy_response_code="503",envoy_cluster_name="backend"} 1\n',
    );
    expect(a.body).toContain(
      'envoy_listener_downstream_cx_total{envoy_listener_address="127.0.0.1_10000"} 3\n',
    );
    expect(a.body).toContain(
      'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="25"} 1\n',
    );
    expect(a.body).toContain('envoy_cluster_upstream_rq_time_count{envoy_cluster_name="backend"} 1\n');
    const b = await get('/stats?format=prometheus');
    expect(b.body).toBe(a.body);
    const f = await get('/stats/prometheus?filter=http\\.');
    expect(f.body).toBe(
      '# TYPE envoy_http_downstream_rq_total counter\nenvoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="ingress_http"} 7\n',
    );
    expect((await get('/stats/prometheus?filter=[')).status).toBe(400);
  });

  it('resets counters on POST /reset_counters', async () => {
    expect((await get('/reset_counters', 'POST')).body).toBe('OK\n');
    expect((await get('/stats?filter=upstream_rq_total')).body).toBe(
      'cluster.aaa_empty.upstream_rq_total: 0\ncluster.backend.upstream_rq_total: 0\n',
    );
    // Gauges are state, not history: they keep their value.
    expect((await get('/stats?filter=backend.upstream_cx_active')).body).toBe(
      'cluster.backend.upstream_cx_active: 2\n',
    );
  });
});

describe('admin: /clusters', () => {
  it('prints the Envoy text format', async () => {
    const body = (await get('/clusters')).body;
    const lines = body.trimEnd().split('\n');
    // Clusters sorted by name.
    expect(lines[0]).toBe('aaa_empty::observability_name::aaa_empty');
    expect(lines).toContain('aaa_empty::default_priority::max_connections::1024');
    expect(lines).toContain('aaa_empty::high_priority::max_retries::3');
    expect(lines).toContain('aaa_empty::added_via_api::false');
    expect(lines).toContain('backend::default_priority::max_connections::10');
    expect(lines).toContain('backend::default_priority::max_pending_requests::20');
    expect(lines).toContain('backend::default_priority::max_requests::30');
    expect(lines).toContain('backend::default_priority::max_retries::4');
    expect(lines).toContain('backend::added_via_api::true');
    const a = lines.filter((l) => l.startsWith('backend::127.0.0.1:8081::'));
    expect(a).toEqual([
      'backend::127.0.0.1:8081::cx_active::2',
      'backend::127.0.0.1:8081::cx_connect_fail::0',
      'backend::127.0.0.1:8081::cx_total::5',
      'backend::127.0.0.1:8081::rq_active::1',
      'backend::127.0.0.1:8081::rq_error::1',
      'backend::127.0.0.1:8081::rq_success::8',
      'backend::127.0.0.1:8081::rq_timeout::0',
      'backend::127.0.0.1:8081::rq_total::9',
      'backend::127.0.0.1:8081::hostname::backend-a',
      'backend::127.0.0.1:8081::health_flags::healthy',
      'backend::127.0.0.1:8081::weight::3',
      'backend::127.0.0.1:8081::region::',
      'backend::127.0.0.1:8081::zone::',
      'backend::127.0.0.1:8081::sub_zone::',
      'backend::127.0.0.1:8081::canary::false',
      'backend::127.0.0.1:8081::priority::0',
      'backend::127.0.0.1:8081::success_rate::88.5',
      'backend::127.0.0.1:8081::local_origin_success_rate::-1',
    ]);
    expect(lines).toContain('backend::[::1]:8082::health_flags::/failed_active_hc/failed_outlier_check');
    expect(lines).toContain('backend::[::1]:8082::region::eu');
    expect(lines).toContain('backend::[::1]:8082::zone::eu-1a');
    expect(lines).toContain('backend::[::1]:8082::sub_zone::rack7');
    expect(lines).toContain('backend::[::1]:8082::priority::1');
    expect(lines).toContain('backend::[::1]:8082::success_rate::-1');
  });

  it('reflects live host counters on each request', async () => {
    h.hosts[0].rqTotal = 42;
    expect((await get('/clusters')).body).toContain('backend::127.0.0.1:8081::rq_total::42\n');
  });

  it('returns Envoy JSON with ?format=json', async () => {
    const j = JSON.parse((await get('/clusters?format=json')).body);
    const backend = j.cluster_statuses.find((c: { name: string }) => c.name === 'backend');
    expect(backend.added_via_api).toBe(true);
    expect(backend.observability_name).toBe('backend');
    expect(backend.circuit_breakers.thresholds[0]).toEqual({
      max_connections: 10,
      max_pending_requests: 20,
      max_requests: 30,
      max_retries: 4,
    });
    expect(backend.circuit_breakers.thresholds[1].priority).toBe('HIGH');
    const [a, b] = backend.host_statuses;
    expect(a.address).toEqual({ socket_address: { address: '127.0.0.1', port_value: 8081 } });
    expect(a.stats).toContainEqual({ name: 'rq_total', value: '9' });
    expect(a.stats).toContainEqual({ type: 'GAUGE', name: 'cx_active', value: '2' });
    expect(a.health_status).toEqual({ eds_health_status: 'HEALTHY' });
    expect(a.success_rate).toEqual({ value: 88.5 });
    expect(a.weight).toBe(3);
    expect(b.health_status).toEqual({
      failed_active_health_check: true,
      failed_outlier_check: true,
      eds_health_status: 'HEALTHY',
    });
    expect(b.locality).toEqual({ region: 'eu', zone: 'eu-1a', sub_zone: 'rack7' });
    expect(b.success_rate).toBeUndefined();
    expect((await get('/clusters?format=yaml')).status).toBe(400);
  });
});

describe('admin: /config_dump', () => {
  it('returns the configs in Envoy shape', async () => {
    const r = await get('/config_dump');
    expect(r.type).toBe('application/json');
    const j = JSON.parse(r.body);
    expect(j.configs.map((c: Record<string, unknown>) => c['@type'])).toEqual([
      'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump',
      'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
      'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
      'type.googleapis.com/envoy.admin.v3.RoutesConfigDump',
    ]);
    expect(j.configs[0].bootstrap.node).toEqual({ id: 'node-1' });
    expect(j.configs[0].last_updated).toBe('2026-01-01T00:00:00.000Z');
    expect(j.configs[1].version_info).toBe('v7');
    expect(j.configs[1].static_clusters[0]).toEqual({
      cluster: {
        '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
        name: 'backend',
        connect_timeout: '0.25s',
      },
      last_updated: '2026-01-01T00:00:00.000Z',
    });
    expect(j.configs[1].dynamic_active_clusters[0]).toEqual({
      version_info: 'v7',
      cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: 'dyn' },
      last_updated: '2026-01-01T00:00:01.000Z',
    });
    expect(j.configs[2].static_listeners[0].listener['@type']).toBe(
      'type.googleapis.com/envoy.config.listener.v3.Listener',
    );
    expect(j.configs[3].static_route_configs[0].route_config).toEqual({
      '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
      name: 'local_route',
    });
  });

  it('selects one resource list with ?resource=', async () => {
    const j = JSON.parse((await get('/config_dump?resource=static_clusters')).body);
    expect(j.configs).toHaveLength(1);
    expect(j.configs[0]['@type']).toBe('type.googleapis.com/envoy.admin.v3.ClustersConfigDump.StaticCluster');
    expect(j.configs[0].cluster.name).toBe('backend');
    expect((await get('/config_dump?resource=bogus')).status).toBe(404);
    expect((await get('/config_dump?mask=x')).status).toBe(400);
  });
});
