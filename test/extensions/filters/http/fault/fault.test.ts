import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Issues } from '../../../../../proxy/config/issues.js';
import type { ProtoObject } from '../../../../../proxy/config/proto-object.js';
import type { FaultConfig } from '../../../../../proxy/extensions/filters/http/fault/config.js';
import { faultFilterFactory } from '../../../../../proxy/extensions/filters/http/fault/factory.js';
import type { Listener } from '../../../../../proxy/network/listener.js';
import { StatsStore } from '../../../../../proxy/observability/stats.js';
import type { ClusterManager } from '../../../../../proxy/upstream/cluster-manager.js';
import { h2request, request } from '../../../../helpers/http.js';
import { startHttpListener } from '../../../../helpers/proxy.js';
import { realClusters } from '../../../../helpers/real-clusters.js';
import { type Backend, startBackends } from '../../../../upstream/health/backends.js';
import { faultHcm } from './fault-hcm.js';

function parse(c: ProtoObject): FaultConfig {
  const issues = new Issues();
  const cfg = faultFilterFactory.parseConfig(c, 'fault', issues);
  if (!issues.ok) throw new Error(issues.format());
  return cfg;
}

describe('envoy.filters.http.fault', () => {
  let backends: Backend[] = [];
  let manager: ClusterManager | null = null;
  let listener: Listener | null = null;

  afterEach(async () => {
    listener?.forceClose();
    manager?.shutdown();
    for (const b of backends) await b.close();
    backends = [];
  });

  async function start(cfg: FaultConfig) {
    backends = await startBackends(1);
    const stats = new StatsStore();
    manager = realClusters(stats, [{ name: 'svc', ports: [backends[0].port] }]);
    const hcm = faultHcm(cfg);
    const s = await startHttpListener(hcm, manager, stats);
    listener = s.listener;
    return s.port;
  }

  it('aborts about 10% of requests at 10% (binomial bound), with FI', async () => {
    const cfg = parse({ abort: { http_status: 503, percentage: { numerator: 10 } } });
    const port = await start(cfg);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const n = 1000;
    let aborted = 0;
    for (let i = 0; i < n; i += 8) {
      const rs = await Promise.all(Array.from({ length: 8 }, () => request(port, { path: '/', agent })));
      for (const r of rs) if (r.status === 503) aborted++;
    }
    agent.destroy();
    // n·p = 100, σ ≈ 9.5: ±5σ.
    expect(aborted).toBeGreaterThanOrEqual(52);
    expect(aborted).toBeLessThanOrEqual(148);
    expect(cfg.stats.aborts_injected.value).toBe(aborted);
    expect(backends[0].hits).toBe(1000 - aborted);
    expect(cfg.stats.active_faults.value).toBe(0);
  });

  it('a fixed delay holds the request, then it goes upstream', async () => {
    const cfg = parse({ delay: { fixed_delay: 200, percentage: { numerator: 100 } } });
    const port = await start(cfg);
    const t0 = performance.now();
    const r = await request(port, { method: 'POST', path: '/d', body: 'payload' });
    expect(r.status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(backends[0].bodies).toEqual(['payload']);
    expect(cfg.stats.delays_injected.value).toBe(1);
  });

  it('header_abort and header_delay take the fault from the request headers', async () => {
    const cfg = parse({
      abort: { header_abort: {}, percentage: { numerator: 100 } },
      delay: { header_delay: {}, percentage: { numerator: 100 } },
    });
    const port = await start(cfg);
    expect(
      (await request(port, { path: '/', headers: { 'x-envoy-fault-abort-request': '418' } })).status,
    ).toBe(418);
    // No header: no fault.
    expect((await request(port, { path: '/' })).status).toBe(200);
    const t0 = performance.now();
    expect(
      (await request(port, { path: '/', headers: { 'x-envoy-fault-delay-request': '150' } })).status,
    ).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    // A header percentage of 0 turns the fault off for this request.
    const r = await request(port, {
      path: '/',
      headers: { 'x-envoy-fault-abort-request': '418', 'x-envoy-fault-abort-request-percentage': '0' },
    });
    expect(r.status).toBe(200);
  });

  it('a gRPC abort is a trailers-only response with the grpc-status', async () => {
    const cfg = parse({ abort: { grpc_status: 14, percentage: { numerator: 100 } } });
    const port = await start(cfg);
    const r = await h2request(port, {
      ':path': '/pkg.Svc/M',
      ':method': 'POST',
      'content-type': 'application/grpc',
    });
    expect(r.status).toBe(200);
    expect(r.headers['grpc-status']).toBe('14');
  });

  it('max_active_faults: a second concurrent request is not delayed', async () => {
    const cfg = parse({ delay: { fixed_delay: 400, percentage: { numerator: 100 } }, max_active_faults: 1 });
    const port = await start(cfg);
    const slow = request(port, { path: '/slow' });
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    expect((await request(port, { path: '/fast' })).status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(300);
    expect((await slow).status).toBe(200);
    expect(cfg.stats.faults_overflow.value).toBe(1);
  });

  it('headers restrict the fault to matching requests', async () => {
    const cfg = parse({
      abort: { http_status: 500, percentage: { numerator: 1_000_000, denominator: 'MILLION' } },
      headers: [{ name: 'x-chaos', exact_match: 'on' }],
    });
    const port = await start(cfg);
    expect((await request(port, { path: '/' })).status).toBe(200);
    expect((await request(port, { path: '/', headers: { 'x-chaos': 'on' } })).status).toBe(500);
  });

  it('rejects bad config with field paths', () => {
    const issues = new Issues();
    faultFilterFactory.parseConfig(
      {
        delay: { percentage: { numerator: 1, denominator: 'BILLION' } },
        abort: { http_status: 700 },
        max_active_faults: -1,
        response_rate_limit: {},
      },
      'f',
      issues,
    );
    const t = issues.format();
    expect(t).toContain('f.delay: one of fixed_delay, header_delay is required');
    expect(t).toContain('f.delay.percentage.denominator');
    expect(t).toContain('f.abort.http_status: must be in [200, 600)');
    expect(t).toContain('f.max_active_faults');
    expect(t).toContain('f.response_rate_limit: one of fixed_limit, header_limit is required');
  });
});
