import { describe, expect, it } from 'vitest';
import { Issues } from '../../../proxy/config/issues.js';
import { StatsStore } from '../../../proxy/observability/stats.js';
import { Host } from '../../../proxy/upstream/host.js';
import { translateOutlierDetection } from '../../../proxy/upstream/outlier/config.js';
import { OutlierDetector } from '../../../proxy/upstream/outlier/detector.js';

function make(cfg: Record<string, unknown>, n: number, random?: () => number) {
  const issues = new Issues();
  const model = translateOutlierDetection({ interval: 3_600_000, ...cfg }, 'od', issues);
  expect(issues.ok).toBe(true);
  const hosts = Array.from({ length: n }, (_, i) => new Host({ address: '127.0.0.1', port: 1000 + i }));
  let refreshes = 0;
  const stats = new StatsStore();
  const d = new OutlierDetector(
    model,
    'c',
    { allHosts: () => hosts, refreshHealth: () => refreshes++ },
    stats,
    random,
  );
  return { d, hosts, stats, refreshes: () => refreshes };
}

describe('outlier detector', () => {
  it('success rate: ejects the host below mean - stdev_factor * stdev once enough hosts have volume', () => {
    const { d, hosts, stats } = make({ success_rate_minimum_hosts: 5, success_rate_request_volume: 10 }, 6);
    for (let i = 0; i < 6; i++) {
      for (let k = 0; k < 100; k++) hosts[i].outlier!.putHttpStatus(i === 3 && k % 2 === 0 ? 500 : 200);
    }
    d.sweep();
    expect(hosts[3].healthy).toBe(false);
    expect(hosts.filter((h) => h.healthy).length).toBe(5);
    expect(stats.counter('cluster.c.outlier_detection.ejections_enforced_success_rate').value).toBe(1);
    expect(d.successRate(hosts[0].key)).toBe(100);
    d.stop();
  });

  it('success rate needs success_rate_minimum_hosts hosts with request volume', () => {
    const { d, hosts } = make(
      { consecutive_5xx: 1000, success_rate_minimum_hosts: 5, success_rate_request_volume: 10 },
      4,
    );
    for (let i = 0; i < 4; i++)
      for (let k = 0; k < 50; k++) hosts[i].outlier!.putHttpStatus(i === 0 ? 500 : 200);
    d.sweep();
    expect(hosts.every((h) => h.healthy)).toBe(true);
    d.stop();
  });

  it('failure percentage: detected by default (enforcing 0), ejected when enforced', () => {
    const base = {
      failure_percentage_minimum_hosts: 3,
      failure_percentage_request_volume: 10,
      failure_percentage_threshold: 50,
    };
    const a = make(base, 3);
    for (let k = 0; k < 20; k++) a.hosts[1].outlier!.putHttpStatus(503);
    for (let k = 0; k < 20; k++) a.hosts[0].outlier!.putHttpStatus(200);
    for (let k = 0; k < 20; k++) a.hosts[2].outlier!.putHttpStatus(200);
    // consecutive_5xx (5) would eject first; count it apart from the failure-percentage sweep.
    a.d.sweep();
    expect(a.stats.counter('cluster.c.outlier_detection.ejections_detected_failure_percentage').value).toBe(
      0,
    );
    a.d.stop();
    const b = make(
      { ...base, consecutive_5xx: 1000, enforcing_failure_percentage: 100, max_ejection_percent: 100 },
      3,
    );
    for (let k = 0; k < 20; k++) b.hosts[1].outlier!.putHttpStatus(503);
    for (let k = 0; k < 20; k++) b.hosts[0].outlier!.putHttpStatus(200);
    for (let k = 0; k < 20; k++) b.hosts[2].outlier!.putHttpStatus(200);
    b.d.sweep();
    expect(b.hosts[1].healthy).toBe(false);
    expect(b.stats.counter('cluster.c.outlier_detection.ejections_enforced_failure_percentage').value).toBe(
      1,
    );
    b.d.stop();
  });

  it('enforcing_consecutive_5xx is a probability: 0 only detects', () => {
    const { d, hosts, stats } = make({ consecutive_5xx: 2, enforcing_consecutive_5xx: 0 }, 3);
    hosts[0].outlier!.putHttpStatus(500);
    hosts[0].outlier!.putHttpStatus(500);
    expect(hosts[0].healthy).toBe(true);
    expect(stats.counter('cluster.c.outlier_detection.ejections_detected_consecutive_5xx').value).toBe(1);
    expect(stats.counter('cluster.c.outlier_detection.ejections_enforced_consecutive_5xx').value).toBe(0);
    d.stop();
  });

  it('a success between errors resets the streak; a non-gateway 5xx resets the gateway streak', () => {
    const { d, hosts, stats } = make({ consecutive_5xx: 3, consecutive_gateway_failure: 2 }, 3);
    const m = hosts[0].outlier!;
    m.putHttpStatus(500);
    m.putHttpStatus(500);
    m.putHttpStatus(200);
    m.putHttpStatus(500);
    m.putHttpStatus(500);
    expect(hosts[0].healthy).toBe(true);
    m.putHttpStatus(502);
    m.putHttpStatus(500);
    m.putHttpStatus(502);
    expect(
      stats.counter('cluster.c.outlier_detection.ejections_detected_consecutive_gateway_failure').value,
    ).toBe(0);
    d.stop();
  });

  it('an active health check pass un-ejects (successful_active_health_check_uneject_host)', () => {
    const { d, hosts, stats } = make({ consecutive_5xx: 1 }, 3);
    hosts[2].outlier!.putLocalFailure('connect_failed');
    expect(hosts[2].healthy).toBe(false);
    d.onActiveHealthCheckSuccess(hosts[2]);
    expect(hosts[2].healthy).toBe(true);
    expect(stats.gauge('cluster.c.outlier_detection.ejections_active').value).toBe(0);
    d.stop();
    expect(hosts[2].outlier).toBeNull();
  });

  it('rejects bad config with field paths', () => {
    const issues = new Issues();
    translateOutlierDetection(
      { interval: 0, enforcing_success_rate: 150, base_ejection_time: 1000, max_ejection_time: 10, bogus: 1 },
      'c.outlier_detection',
      issues,
    );
    const t = issues.format();
    expect(t).toContain('c.outlier_detection.interval: must be positive');
    expect(t).toContain('c.outlier_detection.enforcing_success_rate: must be at most 100');
    expect(t).toContain('c.outlier_detection.max_ejection_time: must not be smaller than base_ejection_time');
    expect(t).toContain('c.outlier_detection.bogus');
  });
});
