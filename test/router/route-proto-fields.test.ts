import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseArgs } from '../../proxy/cli-options.js';
import { startProxy, validateConfig } from '../../proxy/main.js';
import type { RunningProxy } from '../../proxy/main-contract.js';
import { freePort } from '../e2e/fixtures.js';

// Route and router fields that the protos now carry (cluster_not_found_response_code, weighted
// host_rewrite_literal, typed_per_filter_config at every level, Router dynamic_stats and
// start_child_span), decoded from YAML by the real decoder and translated as at startup.

function options(yaml: string) {
  const parsed = parseArgs(['--config-yaml', yaml, '--drain-time-s', '0', '--log-level', 'error']);
  if (parsed.kind !== 'run') throw new Error(`bad args: ${parsed.kind}`);
  return parsed.options;
}

function bootstrap(o: {
  port?: number;
  upstream?: number;
  rc?: string;
  vh?: string;
  route?: string;
  action: string;
  router?: string;
}): string {
  return `
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
static_resources:
  listeners:
    - name: l
      address: { socket_address: { address: 127.0.0.1, port_value: ${o.port ?? 0} } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                '@type': type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ingress
                route_config:
                  validate_clusters: false
${o.rc ?? ''}
                  virtual_hosts:
                    - name: v
                      domains: ['*']
${o.vh ?? ''}
                      routes:
                        - match: { prefix: / }
${o.route ?? ''}
                          route:
${o.action}
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      '@type': type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
${o.router ?? ''}
  clusters:
    - name: up
      connect_timeout: 1s
      load_assignment:
        cluster_name: up
        endpoints:
          - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${o.upstream ?? 1} } } }
`;
}

async function validate(o: Parameters<typeof bootstrap>[0]): Promise<string> {
  return (await validateConfig(options(bootstrap(o)))).format();
}

const RC = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config';
const VH = `${RC}.virtual_hosts[0]`;
const R = `${VH}.routes[0]`;
const PER_FILTER = (indent: string) => `${indent}typed_per_filter_config:
${indent}  envoy.filters.http.fault:
${indent}    '@type': type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
${indent}    abort: { http_status: 503, percentage: { numerator: 100 } }`;
const OPTIONAL_PER_FILTER = (indent: string) => `${indent}typed_per_filter_config:
${indent}  envoy.filters.http.fault:
${indent}    '@type': type.googleapis.com/envoy.config.route.v3.FilterConfig
${indent}    is_optional: true
${indent}    config:
${indent}      '@type': type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
${indent}      abort: { http_status: 503, percentage: { numerator: 100 } }`;

describe('route proto fields through the real decoder', () => {
  it('accepts Router dynamic_stats true and start_child_span; refuses dynamic_stats false', async () => {
    const ok = await validate({
      action: '                            cluster: up',
      router: '                      dynamic_stats: true\n                      start_child_span: true',
    });
    expect(ok).toBe('');
    const off = await validate({
      action: '                            cluster: up',
      router: '                      dynamic_stats: false',
    });
    expect(off).toBe(
      'error: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.dynamic_stats: false is not supported by remora (cluster request stats are always recorded)',
    );
  });

  it('rejects typed_per_filter_config at each of the four levels, at its path', async () => {
    const text = await validate({
      rc: PER_FILTER('                  '),
      vh: PER_FILTER('                      '),
      route: PER_FILTER('                          '),
      action: `                            weighted_clusters:
                              clusters:
                                - name: up
                                  weight: 1
${PER_FILTER('                                  ')}`,
    });
    const msg =
      '["envoy.filters.http.fault"]: per-route config for filter \'envoy.filters.http.fault\' is not supported by remora';
    expect(text.split('\n').sort()).toEqual(
      [
        `error: ${RC}.typed_per_filter_config${msg}`,
        `error: ${VH}.typed_per_filter_config${msg}`,
        `error: ${R}.typed_per_filter_config${msg}`,
        `error: ${R}.route.weighted_clusters.clusters[0].typed_per_filter_config${msg}`,
      ].sort(),
    );
  });

  it('only warns for an optional FilterConfig', async () => {
    const text = await validate({
      route: OPTIONAL_PER_FILTER('                          '),
      action: '                            cluster: up',
    });
    expect(text).toBe(
      `warning: ${R}.typed_per_filter_config["envoy.filters.http.fault"]: optional per-route config for filter 'envoy.filters.http.fault' ignored: not supported by remora`,
    );
  });

  it('rejects an unknown cluster_not_found_response_code at the decoder', async () => {
    const text = await validate({
      action:
        '                            cluster: up\n                            cluster_not_found_response_code: TEAPOT',
    });
    expect(text).toContain(`${R}.route.cluster_not_found_response_code`);
  });
});

describe('route proto fields over real sockets', () => {
  let proxy: RunningProxy | undefined;
  const servers: http.Server[] = [];
  afterEach(async () => {
    await proxy?.shutdown('test');
    proxy = undefined;
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  function get(port: number): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/x', agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
  }

  it('answers cluster_not_found_response_code NOT_FOUND with 404 for a missing cluster', async () => {
    const port = await freePort();
    proxy = await startProxy(
      options(
        bootstrap({
          port,
          action:
            '                            cluster: missing\n                            cluster_not_found_response_code: NOT_FOUND',
        }),
      ),
    );
    expect((await get(port)).status).toBe(404);
  });

  it('rewrites Host to a weighted cluster host_rewrite_literal', async () => {
    const s = http.createServer((req, res) => res.end(req.headers.host ?? ''));
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const upstream = (s.address() as AddressInfo).port;
    const port = await freePort();
    proxy = await startProxy(
      options(
        bootstrap({
          port,
          upstream,
          action: `                            weighted_clusters:
                              clusters:
                                - name: up
                                  weight: 1
                                  host_rewrite_literal: rewritten.example`,
        }),
      ),
    );
    const r = await get(port);
    expect(r.status).toBe(200);
    expect(r.body).toBe('rewritten.example');
  });
});
