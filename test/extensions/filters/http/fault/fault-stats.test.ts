import { afterEach, describe, expect, it } from 'vitest';
import { Issues } from '../../../../../proxy/config/issues.js';
import { faultFilterFactory } from '../../../../../proxy/extensions/filters/http/fault/factory.js';
import { routerFilterFactory } from '../../../../../proxy/extensions/filters/http/router/factory.js';
import {
  inlineRouteConfig,
  translateHcm,
} from '../../../../../proxy/extensions/filters/network/http_connection_manager/config.js';
import type { HttpFilterFactory } from '../../../../../proxy/http/filter.js';
import type { Listener } from '../../../../../proxy/network/listener.js';
import { StatsStore } from '../../../../../proxy/observability/stats.js';
import type { ClusterManager } from '../../../../../proxy/upstream/cluster-manager.js';
import { request } from '../../../../helpers/http.js';
import { startHttpListener } from '../../../../helpers/proxy.js';
import { realClusters } from '../../../../helpers/real-clusters.js';
import { type Backend, startBackends } from '../../../../upstream/health/backends.js';

const FILTERS = new Map<string, HttpFilterFactory>([
  [faultFilterFactory.typeUrl, faultFilterFactory as HttpFilterFactory],
  [routerFilterFactory.typeUrl, routerFilterFactory as HttpFilterFactory],
]);

function hcm(fault: Record<string, unknown>) {
  return {
    stat_prefix: 'ingress',
    route_config: {
      virtual_hosts: [
        { name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'svc' } }] },
      ],
    },
    http_filters: [
      { name: 'envoy.filters.http.fault', typed_config: { '@type': faultFilterFactory.typeUrl, ...fault } },
      { name: 'envoy.filters.http.router', typed_config: { '@type': routerFilterFactory.typeUrl } },
    ],
  };
}

describe('fault filter stats in the store (http.<stat_prefix>.fault.*)', () => {
  let backends: Backend[] = [];
  let manager: ClusterManager | null = null;
  let listener: Listener | null = null;

  afterEach(async () => {
    listener?.forceClose();
    manager?.shutdown();
    for (const b of backends) await b.close();
    backends = [];
  });

  async function start(fault: Record<string, unknown>, stats: StatsStore) {
    backends = await startBackends(1);
    manager = realClusters(stats, [{ name: 'svc', ports: [backends[0].port] }]);
    const issues = new Issues();
    const cfg = translateHcm(hcm(fault), 'hcm', issues, {
      httpFilters: FILTERS,
      routeConfig: inlineRouteConfig(),
      stats,
    });
    expect(issues.format()).toBe('');
    const s = await startHttpListener(cfg!, manager, stats);
    listener = s.listener;
    return s.port;
  }

  it('aborts and delays count under the connection manager prefix; active_faults returns to 0', async () => {
    const stats = new StatsStore();
    const port = await start(
      {
        abort: { header_abort: {}, percentage: { numerator: 100 } },
        delay: { header_delay: {}, percentage: { numerator: 100 } },
        max_active_faults: 1,
      },
      stats,
    );
    const aborted = await request(port, { path: '/', headers: { 'x-envoy-fault-abort-request': '503' } });
    expect(aborted.status).toBe(503);
    const delayed = await request(port, { path: '/', headers: { 'x-envoy-fault-delay-request': '50' } });
    expect(delayed.status).toBe(200);
    expect(stats.counter('http.ingress.fault.aborts_injected').value).toBe(1);
    expect(stats.counter('http.ingress.fault.delays_injected').value).toBe(1);
    expect(stats.gauge('http.ingress.fault.active_faults').value).toBe(0);
    // A second fault while one is active overflows max_active_faults and passes through.
    const held = request(port, { path: '/', headers: { 'x-envoy-fault-delay-request': '300' } });
    const gauge = stats.gauge('http.ingress.fault.active_faults');
    const deadline = Date.now() + 2000;
    while (gauge.value !== 1 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(gauge.value).toBe(1);
    const through = await request(port, { path: '/', headers: { 'x-envoy-fault-abort-request': '503' } });
    expect(through.status).toBe(200);
    expect(stats.counter('http.ingress.fault.faults_overflow').value).toBe(1);
    expect((await held).status).toBe(200);
    expect(gauge.value).toBe(0);
  });

  it('without a stats store (config validation) the filter still parses and counts privately', () => {
    const issues = new Issues();
    const cfg = translateHcm(
      hcm({ abort: { http_status: 503, percentage: { numerator: 1 } } }),
      'hcm',
      issues,
      {
        httpFilters: FILTERS,
        routeConfig: inlineRouteConfig(),
      },
    );
    expect(issues.format()).toBe('');
    expect(cfg!.httpFilters.length).toBe(2);
  });
});
