import { describe, expect, it } from 'vitest';
import { StatsStore } from '../../proxy/observability/stats.js';
import { formatStatsText, statsJson } from '../../proxy/observability/stats-format.js';
import { PrometheusFormatter } from '../../proxy/observability/stats-prometheus.js';
import { extractTags } from '../../proxy/observability/tag-extractor.js';

function sampleStore(): StatsStore {
  const s = new StatsStore();
  s.counter('cluster.backend.upstream_rq_total').inc(3);
  s.counter('cluster.backend.upstream_rq_2xx').inc(2);
  s.counter('cluster.backend.upstream_rq_503').inc(1);
  s.counter('cluster.backend.upstream_cx_total');
  s.gauge('cluster.backend.upstream_cx_active').set(2);
  s.counter('http.ingress_http.downstream_rq_total').inc(5);
  s.counter('listener.0.0.0.0_10000.downstream_cx_total').inc(4);
  s.counter('listener.0.0.0.0_10000.http.ingress_http.downstream_rq_2xx').inc(4);
  const h = s.histogram('cluster.backend.upstream_rq_time');
  h.record(3);
  h.record(20);
  s.histogram('cluster.other.upstream_rq_time');
  return s;
}

describe('text format', () => {
  it('prints name: value sorted, counters and gauges together, then histograms', () => {
    const text = formatStatsText(sampleStore());
    const lines = text.trimEnd().split('\n');
    const scalars = lines.filter((l) => !l.includes('upstream_rq_time'));
    expect(scalars).toEqual([...scalars].sort());
    expect(lines).toContain('cluster.backend.upstream_cx_active: 2');
    expect(lines).toContain('cluster.backend.upstream_rq_total: 3');
    expect(lines.at(-1)).toBe('cluster.other.upstream_rq_time: No recorded values');
    const h = lines.find((l) => l.startsWith('cluster.backend.upstream_rq_time: '));
    expect(h).toMatch(
      /^cluster\.backend\.upstream_rq_time: P0\(nan,[\d.]+\) P25\(nan,[\d.]+\) P50\(nan,[\d.]+\) P75\(nan,[\d.]+\) P90\(nan,[\d.]+\) P95\(nan,[\d.]+\) P99\(nan,[\d.]+\) P99\.5\(nan,[\d.]+\) P99\.9\(nan,[\d.]+\) P100\(nan,20\.0\)$/,
    );
    expect(text.endsWith('\n')).toBe(true);
  });

  it('filters by regex (partial match) and usedonly', () => {
    const s = sampleStore();
    expect(formatStatsText(s, { filter: /rq_total$/, usedOnly: false, type: 'All' })).toBe(
      'cluster.backend.upstream_rq_total: 3\nhttp.ingress_http.downstream_rq_total: 5\n',
    );
    const used = formatStatsText(s, { filter: /^cluster\./, usedOnly: true, type: 'All' });
    expect(used).not.toContain('upstream_cx_total');
    expect(used).not.toContain('cluster.other.upstream_rq_time');
    expect(used).toContain('cluster.backend.upstream_rq_time: P0');
    expect(formatStatsText(s, { filter: /nothing-matches/, usedOnly: false, type: 'All' })).toBe('');
  });
});

describe('json format', () => {
  it('has Envoy shape with histograms last', () => {
    const j = statsJson(sampleStore(), { filter: /backend/, usedOnly: false, type: 'All' });
    expect(j.stats[0]).toEqual({ name: 'cluster.backend.upstream_cx_active', value: 2 });
    const last = j.stats.at(-1) as {
      histograms: { supported_quantiles: number[]; computed_quantiles: unknown[] };
    };
    expect(last.histograms.supported_quantiles).toEqual([0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100]);
    expect(last.histograms.computed_quantiles).toHaveLength(1);
    const q = last.histograms.computed_quantiles[0] as {
      name: string;
      values: Array<{ interval: null; cumulative: number }>;
    };
    expect(q.name).toBe('cluster.backend.upstream_rq_time');
    expect(q.values).toHaveLength(10);
    expect(q.values[9]).toEqual({ interval: null, cumulative: 20 });
    expect(q.values[0]).toEqual({ interval: null, cumulative: 3 });
  });
  it('omits the histograms element when none match', () => {
    const j = statsJson(sampleStore(), { filter: /downstream/, usedOnly: false, type: 'All' });
    expect(j.stats.every((e) => 'name' in e)).toBe(true);
  });
});

describe('tag extraction', () => {
  it.each([
    ['cluster.backend.upstream_rq_total', 'cluster.upstream_rq_total', [['envoy.cluster_name', 'backend']]],
    [
      'cluster.backend.upstream_rq_503',
      'cluster.upstream_rq',
      [
        ['envoy.response_code', '503'],
        ['envoy.cluster_name', 'backend'],
      ],
    ],
    [
      'cluster.backend.upstream_rq_2xx',
      'cluster.upstream_rq_xx',
      [
        ['envoy.response_code_class', '2'],
        ['envoy.cluster_name', 'backend'],
      ],
    ],
    [
      'http.ingress_http.downstream_rq_total',
      'http.downstream_rq_total',
      [['envoy.http_conn_manager_prefix', 'ingress_http']],
    ],
    [
      'listener.0.0.0.0_10000.downstream_cx_total',
      'listener.downstream_cx_total',
      [['envoy.listener_address', '0.0.0.0_10000']],
    ],
    [
      'listener.[__1]_80.downstream_cx_total',
      'listener.downstream_cx_total',
      [['envoy.listener_address', '[__1]_80']],
    ],
    [
      'listener.0.0.0.0_10000.http.ingress_http.downstream_rq_2xx',
      'listener.http.downstream_rq_xx',
      [
        ['envoy.response_code_class', '2'],
        ['envoy.http_conn_manager_prefix', 'ingress_http'],
        ['envoy.listener_address', '0.0.0.0_10000'],
      ],
    ],
    ['listener.admin.downstream_cx_total', 'listener.admin.downstream_cx_total', []],
    ['tcp.egress.downstream_cx_total', 'tcp.downstream_cx_total', [['envoy.tcp_prefix', 'egress']]],
    ['server.uptime', 'server.uptime', []],
  ])('%s', (name, extracted, tags) => {
    const r = extractTags(name);
    expect(r.name).toBe(extracted);
    expect(r.tags.map((t) => [t.name, t.value])).toEqual(tags);
  });
});

describe('prometheus format', () => {
  it('uses envoy_ names, tags as labels, TYPE lines and histogram buckets', () => {
    const out = new PrometheusFormatter().format(sampleStore());
    const lines = out.trimEnd().split('\n');
    expect(lines).toContain('# TYPE envoy_cluster_upstream_rq_total counter');
    expect(lines).toContain('envoy_cluster_upstream_rq_total{envoy_cluster_name="backend"} 3');
    expect(lines).toContain(
      'envoy_cluster_upstream_rq{envoy_response_code="503",envoy_cluster_name="backend"} 1',
    );
    expect(lines).toContain(
      'envoy_cluster_upstream_rq_xx{envoy_response_code_class="2",envoy_cluster_name="backend"} 2',
    );
    expect(lines).toContain(
      'envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="ingress_http"} 5',
    );
    expect(lines).toContain('envoy_listener_downstream_cx_total{envoy_listener_address="0.0.0.0_10000"} 4');
    expect(lines).toContain('# TYPE envoy_cluster_upstream_cx_active gauge');
    expect(lines).toContain('# TYPE envoy_cluster_upstream_rq_time histogram');
    expect(lines).toContain('envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="1"} 0');
    expect(lines).toContain('envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="5"} 1');
    expect(lines).toContain('envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="25"} 2');
    expect(lines).toContain(
      'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="+Inf"} 2',
    );
    expect(lines).toContain('envoy_cluster_upstream_rq_time_sum{envoy_cluster_name="backend"} 23');
    expect(lines).toContain('envoy_cluster_upstream_rq_time_count{envoy_cluster_name="backend"} 2');
    expect(lines).toContain('envoy_cluster_upstream_rq_time_count{envoy_cluster_name="other"} 0');
    // One TYPE line per family even with two clusters in it.
    expect(lines.filter((l) => l === '# TYPE envoy_cluster_upstream_rq_time histogram')).toHaveLength(1);
    // Counters before gauges before histograms.
    const firstGauge = lines.findIndex((l) => l.endsWith(' gauge'));
    const lastCounter = lines.findLastIndex((l) => l.endsWith(' counter'));
    const firstHist = lines.findIndex((l) => l.endsWith(' histogram'));
    expect(lastCounter).toBeLessThan(firstGauge);
    expect(firstGauge).toBeLessThan(firstHist);
  });

  it('escapes label values', () => {
    const s = new StatsStore();
    s.counter('http.we"ird\\x.downstream_rq_total').inc();
    const out = new PrometheusFormatter().format(s);
    expect(out).toContain('envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="we\\"ird\\\\x"} 1');
  });
});

describe('histogram quantiles', () => {
  it('clamp to the recorded range', () => {
    const s = new StatsStore();
    const h = s.histogram('h');
    h.record(12);
    expect(h.quantile(0)).toBe(12);
    expect(h.quantile(0.5)).toBe(12);
    expect(h.quantile(1)).toBe(12);
    h.record(9_000_000);
    expect(h.quantile(1)).toBe(9_000_000);
    expect(h.min).toBe(12);
    expect(h.max).toBe(9_000_000);
  });
});
