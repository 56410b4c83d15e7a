import { describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { routerFilterFactory } from '../../proxy/extensions/filters/http/router/factory.js';
import { HCM_TYPE_URL } from '../../proxy/extensions/filters/network/http_connection_manager/config.js';
import { TCP_PROXY_TYPE_URL } from '../../proxy/extensions/filters/network/tcp_proxy/config.js';
import type { HttpFilterFactory } from '../../proxy/http/filter.js';
import { type ListenerTranslateDeps, translateListener } from '../../proxy/xds/listener.js';
import { testRouteTable } from '../helpers/test-upstream.js';

const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': routerFilterFactory.typeUrl } };

const deps: ListenerTranslateDeps = {
  httpFilters: new Map<string, HttpFilterFactory>([
    [routerFilterFactory.typeUrl, routerFilterFactory as HttpFilterFactory],
  ]),
  routeConfig: (rc, path, issues) => {
    if (rc.name === 'bad') {
      issues.error(`${path}.name`, 'bad route config');
      return null;
    }
    return testRouteTable([]);
  },
};

function hcm(over: ProtoObject = {}): ProtoObject {
  return {
    '@type': HCM_TYPE_URL,
    stat_prefix: 'ingress',
    route_config: { name: 'r' },
    http_filters: [ROUTER],
    ...over,
  };
}

function listener(typed: ProtoObject, over: ProtoObject = {}): ProtoObject {
  return {
    name: 'l',
    address: { socket_address: { address: '0.0.0.0', port_value: 10000 } },
    filter_chains: [{ filters: [{ name: 'x', typed_config: typed }] }],
    ...over,
  };
}

function run(l: ProtoObject) {
  const issues = new Issues();
  const m = translateListener(l, 'static_resources.listeners[0]', issues, deps);
  return { m, issues, text: issues.format() };
}

describe('translateListener', () => {
  it('translates an HCM listener with Envoy defaults', () => {
    const { m, text } = run(listener(hcm({ upgrade_configs: [{ upgrade_type: 'WebSocket' }] })));
    expect(text).toBe('');
    expect(m?.address).toBe('0.0.0.0');
    expect(m?.port).toBe(10000);
    expect(m?.perConnectionBufferLimitBytes).toBe(1024 * 1024);
    const f = m!.filterChains[0].filter;
    expect(f.kind).toBe('http_connection_manager');
    if (f.kind !== 'http_connection_manager') return;
    expect(f.config.codecType).toBe('AUTO');
    expect(f.config.maxRequestHeadersKb).toBe(60);
    expect(f.config.maxHeadersCount).toBe(100);
    expect(f.config.streamIdleTimeoutMs).toBe(300_000);
    expect(f.config.generateRequestId).toBe(true);
    expect(f.config.normalizePath).toBe(false);
    expect(f.config.useRemoteAddress).toBe(false);
    expect(f.config.serverName).toBe('remora');
    expect(f.config.upgradeTypes).toEqual(['websocket']);
    expect(f.config.httpFilters.map((h) => h.name)).toEqual(['envoy.filters.http.router']);
  });

  it('translates tcp_proxy', () => {
    const { m, text } = run(
      listener({ '@type': TCP_PROXY_TYPE_URL, stat_prefix: 't', cluster: 'c', idle_timeout: 5000 }),
    );
    expect(text).toBe('');
    const f = m!.filterChains[0].filter;
    expect(f.kind === 'tcp_proxy' && f.config.idleTimeoutMs).toBe(5000);
  });

  it('translates filter_chain_match', () => {
    const l = listener(hcm());
    (l.filter_chains as ProtoObject[])[0].filter_chain_match = {
      destination_port: 8080,
      source_prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }],
    };
    const { m, text } = run(l);
    expect(text).toBe('');
    expect(m!.filterChains[0].match.destinationPort).toBe(8080);
    expect(m!.filterChains[0].match.sourcePrefixRanges).toEqual([{ address: '10.0.0.0', prefixLen: 8 }]);
  });

  const BAD: ReadonlyArray<readonly [string, ProtoObject, string]> = [
    [
      'missing stat_prefix',
      listener(hcm({ stat_prefix: '' })),
      'filter_chains[0].filters[0].typed_config.stat_prefix: is required',
    ],
    [
      'rds',
      listener(hcm({ rds: { route_config_name: 'x' }, route_config: undefined })),
      'typed_config.rds: RDS is not supported yet',
    ],
    ['no route_config', listener(hcm({ route_config: undefined })), 'typed_config.route_config: is required'],
    [
      'route config errors propagate',
      listener(hcm({ route_config: { name: 'bad' } })),
      'typed_config.route_config.name: bad route config',
    ],
    [
      'unknown http filter',
      listener(
        hcm({ http_filters: [{ name: 'f', typed_config: { '@type': 'type.googleapis.com/x.Y' } }, ROUTER] }),
      ),
      'http_filters[0].typed_config: unknown HTTP filter type type.googleapis.com/x.Y',
    ],
    [
      'router not last',
      listener(hcm({ http_filters: [ROUTER, ROUTER] })),
      'http_filters[0]: envoy.filters.http.router must be the last HTTP filter',
    ],
    [
      'no http filters',
      listener(hcm({ http_filters: [] })),
      'typed_config.http_filters: must end with envoy.filters.http.router',
    ],
    [
      'negative duration',
      listener(hcm({ stream_idle_timeout: -1 })),
      'typed_config.stream_idle_timeout: must be a non-negative duration',
    ],
    [
      'h2c upgrade',
      listener(hcm({ upgrade_configs: [{ upgrade_type: 'h2c' }] })),
      'upgrade_configs[0].upgrade_type: h2c upgrades are not supported',
    ],
    [
      'CRLF in server_name',
      listener(hcm({ server_name: 'a\r\nb' })),
      'typed_config.server_name: must not contain CR, LF or NUL',
    ],
    [
      'max_request_headers_kb 0',
      listener(hcm({ max_request_headers_kb: 0 })),
      'max_request_headers_kb: must be in 1..8192',
    ],
    [
      'bad port',
      listener(hcm(), { address: { socket_address: { address: '0.0.0.0', port_value: 70000 } } }),
      'socket_address.port_value: must be in 0..65535',
    ],
    [
      'bad address',
      listener(hcm(), { address: { socket_address: { address: 'localhost', port_value: 1 } } }),
      'socket_address.address: "localhost" is not an IP address',
    ],
    [
      'no filter chains',
      listener(hcm(), { filter_chains: [] }),
      'static_resources.listeners[0].filter_chains: at least one filter chain is required',
    ],
    [
      'unknown network filter',
      listener({ '@type': 'type.googleapis.com/x.Net' }),
      'unknown network filter type type.googleapis.com/x.Net',
    ],
    [
      'tls',
      listener(hcm(), {
        filter_chains: [{ transport_socket: {}, filters: [{ name: 'x', typed_config: hcm() }] }],
      }),
      'transport_socket: TLS is not supported yet',
    ],
    [
      'tcp_proxy without cluster',
      listener({ '@type': TCP_PROXY_TYPE_URL, stat_prefix: 't' }),
      'one of cluster or weighted_clusters is required',
    ],
    [
      'tcp_proxy with both',
      listener({
        '@type': TCP_PROXY_TYPE_URL,
        stat_prefix: 't',
        cluster: 'a',
        weighted_clusters: { clusters: [{ name: 'b', weight: 1 }] },
      }),
      'only one of cluster or weighted_clusters may be set',
    ],
    [
      'router unknown field',
      listener(
        hcm({
          http_filters: [
            { name: 'r', typed_config: { '@type': routerFilterFactory.typeUrl, upstream_log: [] } },
          ],
        }),
      ),
      'typed_config.upstream_log: field not supported by remora',
    ],
  ];

  for (const [name, l, expected] of BAD) {
    it(`rejects ${name}`, () => {
      const { m, issues, text } = run(l);
      expect(m).toBeNull();
      expect(issues.ok).toBe(false);
      expect(text).toContain(expected);
    });
  }
});
