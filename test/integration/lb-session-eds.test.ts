/**
 * The stateful session cookie against a host set that changes over xDS: the whole proxy takes
 * its cluster and endpoints from a control plane (ADS), a client pinned by its cookie stays on
 * its host until EDS removes that host, then moves to another one and gets a new cookie.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseArgs } from '../../proxy/cli-options.js';
import { startProxy } from '../../proxy/main.js';
import { assignment, CDS, EDS, edsCluster, TestControlPlane, until } from '../xds/dynamic-harness.js';
import { freePort, get, type Reply, startUpstreams } from './lb-harness.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function bootstrap(xdsPort: number, listenerPort: number): string {
  return JSON.stringify({
    node: { id: 'lb-session', cluster: 'test' },
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
                      // The cluster comes over CDS after startup.
                      validate_clusters: false,
                      virtual_hosts: [
                        {
                          name: 'all',
                          domains: ['*'],
                          routes: [{ match: { prefix: '/' }, route: { cluster: 'svc' } }],
                        },
                      ],
                    },
                    http_filters: [
                      {
                        name: 'envoy.filters.http.stateful_session',
                        typed_config: {
                          '@type':
                            'type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSession',
                          session_state: {
                            name: 'envoy.http.stateful_session.cookie',
                            typed_config: {
                              '@type':
                                'type.googleapis.com/envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState',
                              cookie: { name: 'session', ttl: '60s' },
                            },
                          },
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
          name: 'xds',
          type: 'STATIC',
          connect_timeout: '1s',
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
          load_assignment: {
            cluster_name: 'xds',
            endpoints: [
              {
                lb_endpoints: [
                  {
                    endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: xdsPort } } },
                  },
                ],
              },
            ],
          },
        },
      ],
    },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: 'xds' } }],
      },
      cds_config: { ads: {}, resource_api_version: 'V3' },
    },
  });
}

function cookieOf(r: Reply): string {
  const line = (r.headers['set-cookie'] ?? [])[0] ?? '';
  const m = /^session="([^"]*)"/.exec(line);
  if (m === null) throw new Error(`no session cookie in ${JSON.stringify(r.headers['set-cookie'])}`);
  return m[1];
}

describe('stateful session over EDS', () => {
  it('sticks to the cookie host, then falls back and re-pins when EDS removes it', async () => {
    const ups = await startUpstreams([0, 0, 0]);
    cleanups.push(() => Promise.all(ups.map((u) => u.close())));
    const cp = new TestControlPlane();
    await cp.start();
    cleanups.push(() => cp.kill());
    cp.set(CDS, 'svc', edsCluster('svc', { lb_policy: 'ROUND_ROBIN' }));
    cp.set(
      EDS,
      'svc',
      assignment(
        'svc',
        ups.map((u) => u.port),
      ),
    );
    const port = await freePort();
    const parsed = parseArgs([
      '--config-yaml',
      bootstrap(cp.port, port),
      '--drain-time-s',
      '0',
      '--log-level',
      'error',
    ]);
    if (parsed.kind !== 'run') throw new Error(parsed.kind);
    const proxy = await startProxy(parsed.options);
    cleanups.push(() => proxy.shutdown('test'));

    // The cluster arrives over ADS and the listener opens once clusters are initialised: poll
    // (bounded) until a request goes through.
    let first: Reply | null = null;
    for (let i = 0; i < 500 && first === null; i++) {
      const r = await get(port).catch(() => null);
      if (r !== null && r.status === 200) first = r;
      else await new Promise((res) => setTimeout(res, 10));
    }
    expect(first?.status).toBe(200);
    const pinned = first!.upstream;
    const cookie = cookieOf(first!);
    for (let i = 0; i < 6; i++) {
      expect((await get(port, { headers: { cookie: `session=${cookie}` } })).upstream).toBe(pinned);
    }

    // EDS drops the pinned host.
    const rest = ups.filter((u) => u.name !== pinned);
    cp.set(
      EDS,
      'svc',
      assignment(
        'svc',
        rest.map((u) => u.port),
      ),
    );
    cp.push(EDS);
    let moved: Reply | null = null;
    await until(() => cp.acks.filter((a) => a.typeUrl === EDS).length >= 2, 5000, 'second EDS ACK');
    for (let i = 0; i < 100 && moved === null; i++) {
      const r = await get(port, { headers: { cookie: `session=${cookie}` } });
      if (r.upstream !== pinned) moved = r;
      else await new Promise((res) => setTimeout(res, 10));
    }
    expect(moved?.status).toBe(200);
    const newCookie = cookieOf(moved!);
    expect(Buffer.from(newCookie, 'base64').toString()).toBe(
      rest.find((u) => u.name === moved!.upstream)!.address,
    );
    for (let i = 0; i < 4; i++) {
      expect((await get(port, { headers: { cookie: `session=${newCookie}` } })).upstream).toBe(
        moved!.upstream,
      );
    }
  });
});
