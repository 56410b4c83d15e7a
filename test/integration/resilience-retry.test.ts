import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { compileRouteConfig } from '../../proxy/router/compile.js';
import type { RouteTable } from '../../proxy/router/types.js';
import type { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { translateRouteConfiguration } from '../../proxy/xds/route-configuration.js';
import { request } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { realClusters } from '../helpers/real-clusters.js';
import { type Backend, startBackends } from '../upstream/health/backends.js';

/** A route table through the real translator and compiler. */
function routes(route: ProtoObject, vhost: ProtoObject = {}): RouteTable {
  const issues = new Issues();
  const m = translateRouteConfiguration(
    {
      name: 'r',
      virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route }], ...vhost }],
    },
    'route_config',
    issues,
  );
  if (m === null || !issues.ok) throw new Error(issues.format());
  return compileRouteConfig(m);
}

describe('retries through the proxy', () => {
  let backends: Backend[] = [];
  let manager: ClusterManager | null = null;
  let listener: Listener | null = null;

  afterEach(async () => {
    listener?.forceClose();
    listener = null;
    manager?.shutdown();
    manager = null;
    for (const b of backends) await b.close();
    backends = [];
  });

  async function setup(route: ProtoObject, n = 3, cluster: ProtoObject = {}, vhost: ProtoObject = {}) {
    backends = await startBackends(n);
    const stats = new StatsStore();
    manager = realClusters(stats, [{ name: 'svc', ports: backends.map((b) => b.port), extra: cluster }]);
    const started = await startHttpListener(
      hcmConfig(routes({ cluster: 'svc', ...route }, vhost)),
      manager,
      stats,
    );
    listener = started.listener;
    return { port: started.port, stats };
  }

  it('a 503 is retried on another host (previous_hosts) and succeeds', async () => {
    const { port, stats } = await setup({
      retry_policy: {
        retry_on: '5xx',
        num_retries: 2,
        retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
        host_selection_retry_max_attempts: 5,
      },
    });
    backends[0].mode = '503';
    for (let i = 0; i < 9; i++) {
      const r = await request(port, { path: '/' });
      expect(r.status).toBe(200);
      expect(r.body.toString()).not.toBe('b0');
    }
    expect(backends[0].hits).toBeGreaterThan(0);
    expect(stats.counter('cluster.svc.upstream_rq_retry').value).toBe(backends[0].hits);
    expect(stats.counter('cluster.svc.upstream_rq_retry_success').value).toBe(backends[0].hits);
    // Without include_request_attempt_count no try carries x-envoy-attempt-count.
    for (const b of backends) expect(b.attempts.every((x) => x === '')).toBe(true);
  });

  it('a POST body is replayed intact on retry, with x-envoy-attempt-count', async () => {
    const { port } = await setup(
      {
        retry_policy: {
          retry_on: 'reset,connect-failure',
          num_retries: 3,
          retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
          host_selection_retry_max_attempts: 5,
        },
      },
      2,
      {},
      { include_request_attempt_count: true, include_attempt_count_in_response: true },
    );
    backends[0].mode = 'reset';
    let body = '';
    for (let i = 0; body.length < 40_000; i++) body += `${i},`;
    const counts: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await request(port, { method: 'POST', path: '/up', body });
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('b1');
      counts.push(String(r.headers['x-envoy-attempt-count']));
    }
    // include_attempt_count_in_response: the client sees how many tries it took.
    expect(counts.filter((c) => c === '2').length).toBe(backends[0].hits);
    expect(counts.filter((c) => c === '1').length).toBe(4 - backends[0].hits);
    expect(backends[1].bodies.length).toBe(4);
    for (const seen of backends[1].bodies) expect(seen === body).toBe(true);
    expect(backends[0].hits).toBeGreaterThan(0);
    // include_request_attempt_count: every try carries its number.
    expect(backends[0].attempts.every((a) => a === '1')).toBe(true);
    expect(backends[1].attempts.filter((a) => a === '2').length).toBe(backends[0].hits);
  });

  it('a body larger than the buffer limit is not retried (never replayed half)', async () => {
    const { port, stats } = await setup({ retry_policy: { retry_on: '5xx', num_retries: 3 } }, 1);
    backends[0].mode = '503';
    const r = await request(port, { method: 'POST', path: '/big', body: Buffer.alloc(200_000, 1) });
    expect(r.status).toBe(503);
    expect(backends[0].hits).toBe(1);
    expect(stats.counter('cluster.svc.upstream_rq_retry').value).toBe(0);
  });

  it('num_retries is the limit; the last answer goes to the client', async () => {
    const { port, stats } = await setup({ retry_policy: { retry_on: 'gateway-error', num_retries: 2 } }, 1);
    backends[0].mode = '503';
    const r = await request(port, { path: '/' });
    expect(r.status).toBe(503);
    expect(r.body.toString()).toBe('fail');
    expect(backends[0].hits).toBe(3);
    expect(stats.counter('cluster.svc.upstream_rq_retry_limit_exceeded').value).toBe(1);
    // 500 is not a gateway error: not retried.
    backends[0].mode = '500';
    expect((await request(port, { path: '/' })).status).toBe(500);
    expect(backends[0].hits).toBe(4);
  });

  it('the virtual host retry_policy applies to routes without one', async () => {
    const { port } = await setup({}, 2, {}, { retry_policy: { retry_on: '5xx', num_retries: 1 } });
    backends[0].mode = '503';
    for (let i = 0; i < 4; i++) expect((await request(port, { path: '/' })).status).toBe(200);
  });

  it('per-try timeout: a hanging host is abandoned and the retry answers; without retries, 504 UT', async () => {
    const { port, stats } = await setup(
      {
        timeout: 5000,
        retry_policy: {
          retry_on: '5xx',
          num_retries: 1,
          per_try_timeout: 150,
          retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
          host_selection_retry_max_attempts: 5,
        },
      },
      2,
    );
    backends[0].mode = 'hang';
    for (let i = 0; i < 2; i++) expect((await request(port, { path: '/' })).status).toBe(200);
    expect(stats.counter('cluster.svc.upstream_rq_per_try_timeout').value).toBe(backends[0].hits);
    expect(backends[0].hits).toBeGreaterThan(0);
    backends[1].mode = 'hang';
    const t0 = performance.now();
    const r = await request(port, { path: '/' });
    expect(r.status).toBe(504);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('route timeout fires with 504 and counts upstream_rq_timeout', async () => {
    const { port, stats } = await setup({ timeout: 200 }, 1);
    backends[0].mode = 'hang';
    const r = await request(port, { path: '/' });
    expect(r.status).toBe(504);
    expect(stats.counter('cluster.svc.upstream_rq_timeout').value).toBe(1);
  });

  it('the retry budget caps retries during an outage', async () => {
    const { port, stats } = await setup(
      { retry_policy: { retry_on: '5xx', num_retries: 5, retry_back_off: { base_interval: 50 } } },
      1,
      {
        circuit_breakers: {
          thresholds: [{ retry_budget: { budget_percent: { value: 10 }, min_retry_concurrency: 2 } }],
        },
      },
    );
    backends[0].mode = '503';
    // 20 concurrent requests, each willing to retry 5 times: at most 2 retries may be open at once.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    const all = await Promise.all(Array.from({ length: 20 }, () => request(port, { path: '/', agent })));
    agent.destroy();
    expect(all.every((r) => r.status === 503)).toBe(true);
    expect(stats.counter('cluster.svc.upstream_rq_retry_overflow').value).toBeGreaterThan(0);
    // Without a budget 20 × 5 = 100 retries would hit the backend.
    expect(backends[0].hits).toBeLessThan(20 + 40);
    expect(stats.gauge('cluster.svc.circuit_breakers.default.rq_retry_open').value).toBe(0);
  });

  it('x-envoy-retry-on / x-envoy-max-retries from a trusted client turn retries on per request', async () => {
    const { port, stats } = await setup({}, 1);
    backends[0].mode = '503';
    const r = await request(port, {
      path: '/',
      headers: { 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '2' },
    });
    expect(r.status).toBe(503);
    expect(backends[0].hits).toBe(3);
    expect(stats.counter('cluster.svc.upstream_rq_retry').value).toBe(2);
    // Without the headers: one try.
    await request(port, { path: '/' });
    expect(backends[0].hits).toBe(4);
  });

  it('rejects a bad retry policy with field paths', () => {
    let text = '';
    try {
      routes({
        cluster: 'svc',
        retry_policy: {
          retry_on: '5xx,bogus',
          retriable_status_codes: [42],
          retry_back_off: { base_interval: 100, max_interval: 10 },
          retry_host_predicate: [{ name: 'x.other' }],
        },
      });
    } catch (e) {
      text = (e as Error).message;
    }
    const p = 'route_config.virtual_hosts[0].routes[0].route.retry_policy';
    expect(text).toContain(`${p}.retry_on: unknown retry condition(s): bogus`);
    expect(text).toContain(`${p}.retriable_status_codes[0]: must be an HTTP status code`);
    expect(text).toContain(`${p}.retry_back_off.max_interval: must not be smaller than base_interval`);
    expect(text).toContain(`${p}.retry_host_predicate[0]: retry host predicate x.other is not supported`);
  });
});
