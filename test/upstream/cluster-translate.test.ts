import { describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { roundRobinFactory } from '../../proxy/extensions/load-balancing-policies/round_robin/factory.js';
import { clusterModelsEqual } from '../../proxy/model/cluster.js';
import type { LbPolicyFactory } from '../../proxy/upstream/load-balancer.js';
import { translateCluster } from '../../proxy/xds/cluster.js';

const lbPolicies = new Map<string, LbPolicyFactory>([['ROUND_ROBIN', roundRobinFactory as LbPolicyFactory]]);
const P = 'static_resources.clusters[0]';

function endpoint(address: string, port: number, extra: ProtoObject = {}): ProtoObject {
  return { endpoint: { address: { socket_address: { address, port_value: port } } }, ...extra };
}

function translate(c: ProtoObject) {
  const issues = new Issues();
  const model = translateCluster(c, P, issues, { lbPolicies });
  return { model, issues, text: issues.format() };
}

describe('Cluster translation', () => {
  it('fills Envoy defaults for a minimal STATIC cluster', () => {
    const { model, issues } = translate({
      name: 'web',
      load_assignment: { cluster_name: 'web', endpoints: [{ lb_endpoints: [endpoint('127.0.0.1', 8080)] }] },
    });
    expect(issues.list).toEqual([]);
    expect(model).toMatchObject({
      name: 'web',
      type: 'STATIC',
      connectTimeoutMs: 5000,
      lbPolicy: 'ROUND_ROBIN',
      dnsRefreshRateMs: 5000,
      dnsLookupFamily: 'AUTO',
      protocol: 'http1',
      http2: null,
      idleTimeoutMs: 3_600_000,
      maxRequestsPerConnection: 0,
    });
    expect(model!.lbFactory).toBe(roundRobinFactory);
    expect(model!.loadAssignment.localities[0].endpoints[0]).toEqual({
      address: '127.0.0.1',
      port: 8080,
      hostname: '',
      healthStatus: 'UNKNOWN',
      weight: 1,
    });
  });

  it('translates localities, weights, priorities, health and DNS settings', () => {
    const { model, issues } = translate({
      name: 'dns',
      type: 'STRICT_DNS',
      connect_timeout: 250,
      dns_refresh_rate: 1000,
      dns_lookup_family: 'V4_ONLY',
      respect_dns_ttl: true,
      dns_resolvers: [{ socket_address: { address: '127.0.0.1', port_value: 5353 } }],
      load_assignment: {
        cluster_name: 'dns',
        policy: { overprovisioning_factor: 200 },
        endpoints: [
          {
            locality: { region: 'eu', zone: 'a', sub_zone: 's' },
            load_balancing_weight: 7,
            priority: 1,
            lb_endpoints: [
              endpoint('svc.example', 80, { load_balancing_weight: 3, health_status: 'DRAINING' }),
              {
                endpoint: {
                  address: { socket_address: { address: 'b.example', port_value: 81 } },
                  hostname: 'b',
                },
              },
            ],
          },
        ],
      },
    });
    expect(issues.list).toEqual([]);
    expect(model!.connectTimeoutMs).toBe(250);
    expect(model!.dnsResolvers).toEqual([{ address: '127.0.0.1', port: 5353 }]);
    expect(model!.respectDnsTtl).toBe(true);
    const l = model!.loadAssignment.localities[0];
    expect(l.locality).toEqual({ region: 'eu', zone: 'a', subZone: 's' });
    expect(l.weight).toBe(7);
    expect(l.priority).toBe(1);
    expect(l.endpoints.map((e) => [e.address, e.weight, e.healthStatus, e.hostname])).toEqual([
      ['svc.example', 3, 'DRAINING', ''],
      ['b.example', 1, 'UNKNOWN', 'b'],
    ]);
    expect(model!.loadAssignment.overprovisioningFactor).toBe(200);
  });

  it('selects HTTP/2 from http2_protocol_options or typed_extension_protocol_options', () => {
    const legacy = translate({ name: 'a', http2_protocol_options: { max_concurrent_streams: 10 } });
    expect(legacy.issues.list).toEqual([]);
    expect(legacy.model!.protocol).toBe('http2');
    expect(legacy.model!.http2!.maxConcurrentStreams).toBe(10);
    const typed = translate({
      name: 'b',
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          explicit_http_config: { http2_protocol_options: {} },
          common_http_protocol_options: { idle_timeout: 30000, max_requests_per_connection: 100 },
        },
      },
    });
    expect(typed.issues.list).toEqual([]);
    expect(typed.model!.protocol).toBe('http2');
    expect(typed.model!.idleTimeoutMs).toBe(30000);
    expect(typed.model!.maxRequestsPerConnection).toBe(100);
    const h1 = translate({
      name: 'c',
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          explicit_http_config: { http_protocol_options: {} },
        },
      },
    });
    expect(h1.model!.protocol).toBe('http1');
  });

  it('accepts an EDS cluster with no hosts', () => {
    const { model, issues } = translate({
      name: 'e',
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {} } },
    });
    expect(issues.list).toEqual([]);
    expect(model!.type).toBe('EDS');
    expect(model!.edsServiceName).toBe('e');
    expect(model!.loadAssignment.localities).toEqual([]);
  });

  it('reports every problem with its field path', () => {
    const { model, text } = translate({
      type: 'LOGICAL_DNS',
      connect_timeout: 0,
      lb_policy: 'MAGLEV',
      dns_lookup_family: 'V5_ONLY',
      health_checks: [{}],
      outlier_detection: { max_ejection_percent: 101 },
      bogus_field: 1,
      load_assignment: {
        endpoints: [
          {
            lb_endpoints: [
              endpoint('a.example', 0),
              endpoint('b example', 80, { load_balancing_weight: 0 }),
              { endpoint: { address: { pipe: { path: '/x' } } } },
            ],
          },
        ],
      },
    });
    expect(model).toBeNull();
    for (const line of [
      `${P}.name: is required`,
      `${P}.connect_timeout: must be positive`,
      `${P}.lb_policy: lb_policy MAGLEV is not supported`,
      `${P}.dns_lookup_family: V5_ONLY is not supported`,
      `${P}.health_checks[0].timeout: is required`,
      `${P}.outlier_detection.max_ejection_percent: must be at most 100`,
      `${P}.bogus_field: unknown or unsupported field`,
      `${P}.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: must be between 1 and 65535`,
      `${P}.load_assignment.endpoints[0].lb_endpoints[1].endpoint.address.socket_address.address: b example is not a valid host name`,
      `${P}.load_assignment.endpoints[0].lb_endpoints[1].load_balancing_weight: must be at least 1`,
      `${P}.load_assignment.endpoints[0].lb_endpoints[2].endpoint.address.pipe: unknown or unsupported field`,
    ]) {
      expect(text).toContain(line);
    }
  });

  it('rejects a hostname in a STATIC cluster and LOGICAL_DNS with several endpoints', () => {
    const s = translate({
      name: 's',
      load_assignment: { endpoints: [{ lb_endpoints: [endpoint('db.local', 5432)] }] },
    });
    expect(s.text).toContain('socket_address.address: db.local is not an IP address');
    const l = translate({
      name: 'l',
      type: 'LOGICAL_DNS',
      load_assignment: {
        endpoints: [{ lb_endpoints: [endpoint('a.example', 1), endpoint('b.example', 1)] }],
      },
    });
    expect(l.text).toContain(`${P}.load_assignment: LOGICAL_DNS clusters must have exactly one endpoint`);
  });

  it('rejects bad protocol options and wrong value types', () => {
    const { text } = translate({
      name: 'x',
      connect_timeout: 'soon',
      http2_protocol_options: { initial_stream_window_size: 10, allow_connect: true },
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          auto_config: {},
        },
        'envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions': {},
      },
      eds_cluster_config: {},
    });
    expect(text).toContain(`${P}.connect_timeout: must be a non-negative duration`);
    expect(text).toContain(`${P}.http2_protocol_options.initial_stream_window_size: must be at least 65535`);
    expect(text).toContain(`${P}.http2_protocol_options.allow_connect: unknown or unsupported field`);
    expect(text).toContain('cannot be combined with the cluster-level http*_protocol_options fields');
    expect(text).toContain('HttpProtocolOptions"].auto_config: unknown or unsupported field');
    expect(text).toContain('TcpProtocolOptions"]: unknown or unsupported protocol options');
    expect(text).toContain(`${P}.eds_cluster_config: only applies when type is EDS`);
  });

  it('accepts a typed load_balancing_policy and rejects an unknown one', () => {
    const ok = translate({
      name: 't',
      load_balancing_policy: {
        policies: [
          {
            typed_extension_config: {
              name: 'x',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash',
              },
            },
          },
          {
            typed_extension_config: {
              name: 'rr',
              typed_config: {
                '@type':
                  'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
              },
            },
          },
        ],
      },
    });
    expect(ok.issues.list).toEqual([]);
    expect(ok.model!.lbFactory).toBe(roundRobinFactory);
    const bad = translate({
      name: 't',
      load_balancing_policy: {
        policies: [{ typed_extension_config: { typed_config: { '@type': 'type.googleapis.com/x.Y' } } }],
      },
    });
    expect(bad.text).toContain(
      `${P}.load_balancing_policy.policies: none of the policies is supported (x.Y)`,
    );
  });

  it('gives equal models for equal input and different ones otherwise', () => {
    const c = { name: 'w', load_assignment: { endpoints: [{ lb_endpoints: [endpoint('10.0.0.1', 80)] }] } };
    const a = translate(c).model!;
    const b = translate(structuredClone(c)).model!;
    expect(clusterModelsEqual(a, b)).toBe(true);
    const d = translate({ ...c, connect_timeout: 1000 }).model!;
    expect(clusterModelsEqual(a, d)).toBe(false);
  });
});
