import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { routerFilterFactory } from '../../proxy/extensions/filters/http/router/factory.js';
import {
  HCM_TYPE_URL,
  inlineRouteConfig,
} from '../../proxy/extensions/filters/network/http_connection_manager/config.js';
import type { HttpFilterFactory } from '../../proxy/http/filter.js';
import { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { translateListener } from '../../proxy/xds/listener.js';
import { RecordingServer, rawExchange, request } from '../helpers/http.js';
import { TestCluster, TestClusters } from '../helpers/test-upstream.js';

/** From Listener config to bytes on the wire, with the production route translator and compiler. */
describe('listener config end to end with the production router', () => {
  let a: RecordingServer;
  let b: RecordingServer;
  let clusters: TestClusters;
  let listener: Listener;
  let port: number;

  beforeEach(async () => {
    a = new RecordingServer();
    b = new RecordingServer();
    await a.listen();
    await b.listen();
    const stats = new StatsStore();
    clusters = new TestClusters()
      .add(new TestCluster(stats, 'a', [{ address: '127.0.0.1', port: a.port }]))
      .add(new TestCluster(stats, 'b', [{ address: '127.0.0.1', port: b.port }]));
    const hcm: ProtoObject = {
      '@type': HCM_TYPE_URL,
      stat_prefix: 'ingress',
      normalize_path: true,
      merge_slashes: true,
      use_remote_address: true,
      http_filters: [
        { name: 'envoy.filters.http.router', typed_config: { '@type': routerFilterFactory.typeUrl } },
      ],
      route_config: {
        name: 'local',
        virtual_hosts: [
          {
            name: 'all',
            domains: ['*'],
            response_headers_to_add: [{ header: { key: 'x-vh', value: 'all' } }],
            routes: [
              { match: { prefix: '/b/' }, route: { cluster: 'b', prefix_rewrite: '/rewritten/' } },
              { match: { prefix: '/old' }, redirect: { path_redirect: '/new' } },
              {
                match: { prefix: '/' },
                route: { cluster: 'a' },
                request_headers_to_add: [{ header: { key: 'x-route', value: 'default' } }],
              },
            ],
          },
        ],
      },
    };
    const issues = new Issues();
    const model = translateListener(
      {
        name: 'ingress',
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        filter_chains: [
          { filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] },
        ],
      },
      'listeners[0]',
      issues,
      {
        httpFilters: new Map<string, HttpFilterFactory>([
          [routerFilterFactory.typeUrl, routerFilterFactory as HttpFilterFactory],
        ]),
        routeConfig: inlineRouteConfig({ clusterExists: (n) => clusters.get(n) !== undefined }),
      },
    );
    expect(issues.format()).toBe('');
    listener = new Listener(model!, { stats, clusters });
    port = await listener.listen();
  });

  afterEach(async () => {
    listener.forceClose();
    clusters.destroy();
    await a.close();
    await b.close();
  });

  it('routes by prefix with rewrite and header mutations', async () => {
    const r = await request(port, { path: '/b/x?q=1' });
    expect(r.status).toBe(200);
    expect(r.headers['x-vh']).toBe('all');
    expect(b.seen[0].url).toBe('/rewritten/x?q=1');
    await request(port, { path: '/other' });
    expect(a.seen[0].headers['x-route']).toBe('default');
  });

  it('path traversal is normalised before matching and the normalised path goes upstream', async () => {
    for (const p of ['/a/../b/t1', '/%2e%2e/b/t2', '//b//t3', '/x/%2E%2E/b/./t4']) {
      const out = await rawExchange(port, `GET ${p} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
      expect(out).toMatch(/^HTTP\/1.1 200/);
    }
    expect(b.seen.map((s) => s.url)).toEqual([
      '/rewritten/t1',
      '/rewritten/t2',
      '/rewritten/t3',
      '/rewritten/t4',
    ]);
    expect(a.seen.length).toBe(0);
  });

  it('a malformed escape is refused with 400', async () => {
    const out = await rawExchange(port, 'GET /a%zz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1.1 400/);
    expect(a.seen.length + b.seen.length).toBe(0);
  });

  it('redirect action', async () => {
    const r = await request(port, { path: '/old' });
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe(`http://127.0.0.1:${port}/new`);
  });

  it('absolute-form request target', async () => {
    const out = await rawExchange(
      port,
      'GET http://example.com/b/abs HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1.1 200/);
    expect(b.seen[0].url).toBe('/rewritten/abs');
    expect(b.seen[0].headers.host).toBe('example.com');
  });

  it('validate_clusters rejects a route to an unknown cluster', () => {
    const issues = new Issues();
    const m = translateListener(
      {
        name: 'x',
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        filter_chains: [
          {
            filters: [
              {
                name: 'hcm',
                typed_config: {
                  '@type': HCM_TYPE_URL,
                  stat_prefix: 's',
                  http_filters: [{ name: 'r', typed_config: { '@type': routerFilterFactory.typeUrl } }],
                  route_config: {
                    virtual_hosts: [
                      {
                        name: 'v',
                        domains: ['*'],
                        routes: [{ match: { prefix: '/' }, route: { cluster: 'nope' } }],
                      },
                    ],
                  },
                },
              },
            ],
          },
        ],
      },
      'listeners[0]',
      issues,
      {
        httpFilters: new Map<string, HttpFilterFactory>([
          [routerFilterFactory.typeUrl, routerFilterFactory as HttpFilterFactory],
        ]),
        routeConfig: inlineRouteConfig({ clusterExists: (n) => clusters.get(n) !== undefined }),
      },
    );
    expect(m).toBeNull();
    expect(issues.format()).toContain('listeners[0].filter_chains[0].filters[0].typed_config.route_config');
  });
});
