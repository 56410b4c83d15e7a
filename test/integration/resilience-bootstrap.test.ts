/**
 * The whole proxy (startProxy from a bootstrap): outlier detection, active health checks, a retry
 * budget, a route retry policy and the fault filter, all from Envoy-shaped config through the
 * real decoders and translators.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseArgs } from '../../proxy/cli-options.js';
import { startProxy } from '../../proxy/main.js';
import { request, waitFor } from '../helpers/http.js';
import { type Backend, startBackends } from '../upstream/health/backends.js';
import { freePort } from './lb-harness.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function bootstrap(listenerPort: number, ports: readonly number[]): string {
  return JSON.stringify({
    node: { id: 'resilience', cluster: 'test' },
    static_resources: {
      listeners: [
        {
          name: 'web',
          address: { socket_address: { address: '127.0.0.1', port_value: listenerPort } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'web',
                    route_config: {
                      virtual_hosts: [
                        {
                          name: 'all',
                          domains: ['*'],
                          retry_policy: {
                            retry_on: '5xx,reset,connect-failure',
                            num_retries: 2,
                            retry_back_off: { base_interval: '0.005s' },
                            retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
                            host_selection_retry_max_attempts: '4',
                          },
                          routes: [{ match: { prefix: '/' }, route: { cluster: 'svc', timeout: '3s' } }],
                        },
                      ],
                    },
                    http_filters: [
                      {
                        name: 'envoy.filters.http.fault',
                        typed_config: {
                          '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
                          abort: { header_abort: {}, percentage: { numerator: 100, denominator: 'HUNDRED' } },
                          max_active_faults: 100,
                        },
                      },
                      {
                        name: 'envoy.filters.http.router',
                        typed_config: {
                          '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                        },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: 'svc',
          type: 'STATIC',
          connect_timeout: '1s',
          load_assignment: {
            cluster_name: 'svc',
            endpoints: [
              {
                lb_endpoints: ports.map((p) => ({
                  endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } },
                })),
              },
            ],
          },
          outlier_detection: {
            consecutive_5xx: 3,
            interval: '0.1s',
            base_ejection_time: '30s',
            max_ejection_percent: 50,
            // Otherwise b0's passing health checks would un-eject it at once (Envoy's default).
            successful_active_health_check_uneject_host: false,
          },
          health_checks: [
            {
              timeout: '1s',
              interval: '0.05s',
              no_traffic_interval: '0.05s',
              unhealthy_threshold: 1,
              healthy_threshold: 1,
              http_health_check: { path: '/healthz', expected_statuses: [{ start: '200', end: '300' }] },
            },
          ],
          // Panic off: with b0 ejected and b2 failing checks only a third is healthy.
          common_lb_config: { healthy_panic_threshold: { value: 0 } },
          circuit_breakers: {
            thresholds: [
              {
                priority: 'DEFAULT',
                retry_budget: { budget_percent: { value: 50 }, min_retry_concurrency: 5 },
              },
            ],
          },
        },
      ],
    },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
  });
}

describe('resilience from a bootstrap', () => {
  it('health checks, outlier detection, retries and the fault filter work through startProxy', async () => {
    const backends: Backend[] = await startBackends(3);
    cleanups.push(async () => {
      for (const b of backends) await b.close();
    });
    for (const b of backends) b.pathStatus.set('/healthz', 200);
    // b2 fails its health check from the start: it never takes traffic.
    backends[2].pathStatus.set('/healthz', 503);
    const port = await freePort();
    const parsed = parseArgs([
      '--config-yaml',
      bootstrap(
        port,
        backends.map((b) => b.port),
      ),
      '--log-level',
      'error',
      '--drain-time-s',
      '0',
    ]);
    if (parsed.kind !== 'run') throw new Error(parsed.kind);
    const proxy = await startProxy(parsed.options);
    cleanups.push(() => proxy.shutdown('test'));
    let ready = false;
    for (let i = 0; i < 100 && !ready; i++) {
      const r = await request(port, { path: '/probe' }).catch(() => null);
      ready = r !== null && r.status === 200;
      if (!ready) await new Promise((res) => setTimeout(res, 20));
    }
    expect(ready).toBe(true);
    // Every host has had its first check once its probe count moved (b2 failed, b0 and b1 passed).
    const hcSeen = () => backends.every((b) => b.hcHits > 0);
    await waitFor(hcSeen, 3000, 'first health checks');
    const b2Before = backends[2].hits;
    backends[0].mode = '503';
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await request(port, { path: '/' })).status);
    // Every 503 from b0 is retried on b1; b2 is out by its health check.
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(backends[2].hits).toBe(b2Before);
    expect(backends[0].hits).toBeGreaterThan(0);
    expect(backends[0].hits).toBeLessThanOrEqual(4);
    // The fault filter aborts on request.
    const f = await request(port, { path: '/', headers: { 'x-envoy-fault-abort-request': '429' } });
    expect(f.status).toBe(429);
  });
});
