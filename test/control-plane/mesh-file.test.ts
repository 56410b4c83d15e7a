import { describe, expect, it } from 'vitest';
import { parseMesh } from '../../control-plane/mesh-file.js';
import { buildSnapshot } from '../../control-plane/snapshot.js';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../control-plane/type-urls.js';
import { decodeBinaryMessage } from '../../proxy/config/binary-decode.js';
import { Issues } from '../../proxy/config/issues.js';

const GOOD = `
services:
  - name: web
    protocol: http2
    lb_policy: least_request
    endpoints:
      - {address: 127.0.0.1, port: 8080, locality: {region: r1, zone: a}, weight: 3}
      - {address: 127.0.0.2, port: 8080, locality: {region: r1, zone: a}}
      - {address: 127.0.0.3, port: 8080, priority: 1, health_status: draining}
  - name: echo
    grpc: true
    endpoints: [{address: 127.0.0.1, port: 9000}]
routes:
  - name: main
    rules:
      - prefix: /api
        split: [{service: web, weight: 9}, {service: echo, weight: 1}]
        timeout: 2s
        retries: {attempts: 2, on: 5xx, per_try_timeout: 500ms}
      - to: web
listeners:
  - {name: in, port: 10000, routes: main}
`;

function mustParse(text: string) {
  const r = parseMesh(text);
  if ('errors' in r) throw new Error(r.errors.join('\n'));
  return r.mesh;
}

function decode(type: string, bytes: Buffer) {
  const issues = new Issues();
  const out = decodeBinaryMessage(type, bytes, issues);
  expect(issues.format()).toBe('');
  return out;
}

describe('mesh file', () => {
  it('builds the four resource types, each decodable with remora schema', () => {
    const snap = buildSnapshot(mustParse(GOOD));
    expect([...snap.resources(CLUSTER_TYPE).keys()]).toEqual(['web', 'echo']);
    expect([...snap.resources(LISTENER_TYPE).keys()]).toEqual(['echo', 'in']);
    expect([...snap.resources(ROUTE_TYPE).keys()]).toEqual(['echo', 'main']);
    const web = decode('envoy.config.cluster.v3.Cluster', snap.resources(CLUSTER_TYPE).get('web')!.any.value);
    expect(web).toMatchObject({
      name: 'web',
      type: 'EDS',
      lb_policy: 'LEAST_REQUEST',
      connect_timeout: 1000,
      eds_cluster_config: { eds_config: { ads: {} }, service_name: 'web' },
    });
    const cla = decode(
      'envoy.config.endpoint.v3.ClusterLoadAssignment',
      snap.resources(ENDPOINT_TYPE).get('web')!.any.value,
    );
    expect(cla).toMatchObject({
      cluster_name: 'web',
      endpoints: [
        { locality: { region: 'r1', zone: 'a' }, load_balancing_weight: 4, lb_endpoints: [{}, {}] },
        { priority: 1, lb_endpoints: [{ health_status: 'DRAINING' }] },
      ],
    });
    const route = decode(
      'envoy.config.route.v3.RouteConfiguration',
      snap.resources(ROUTE_TYPE).get('main')!.any.value,
    );
    expect(route).toMatchObject({
      virtual_hosts: [
        {
          domains: ['*'],
          routes: [
            {
              match: { prefix: '/api' },
              route: {
                weighted_clusters: {
                  clusters: [
                    { name: 'web', weight: 9 },
                    { name: 'echo', weight: 1 },
                  ],
                },
                timeout: 2000,
                retry_policy: { retry_on: '5xx', num_retries: 2, per_try_timeout: 500 },
              },
            },
            { match: { prefix: '/' }, route: { cluster: 'web' } },
          ],
        },
      ],
    });
    const api = decode(
      'envoy.config.listener.v3.Listener',
      snap.resources(LISTENER_TYPE).get('echo')!.any.value,
    );
    expect(api).toMatchObject({
      name: 'echo',
      api_listener: { api_listener: { rds: { route_config_name: 'echo' } } },
    });
    expect(snap.resources(LISTENER_TYPE).get('echo')!.apiListener).toBe(true);
  });

  it('keeps a resource version when only another resource changes', () => {
    const a = buildSnapshot(mustParse(GOOD));
    const b = buildSnapshot(mustParse(GOOD.replace('port: 9000', 'port: 9001')));
    expect(b.resources(ENDPOINT_TYPE).get('web')!.version).toBe(
      a.resources(ENDPOINT_TYPE).get('web')!.version,
    );
    expect(b.resources(ENDPOINT_TYPE).get('echo')!.version).not.toBe(
      a.resources(ENDPOINT_TYPE).get('echo')!.version,
    );
    expect(b.typeVersion(ENDPOINT_TYPE)).not.toBe(a.typeVersion(ENDPOINT_TYPE));
    expect(b.typeVersion(CLUSTER_TYPE)).toBe(a.typeVersion(CLUSTER_TYPE));
  });

  it('reports every error with its path', () => {
    const r = parseMesh(`
services:
  - name: x
    bogus: 1
    lb_policy: fastest
    endpoints: [{address: db.local, port: 0, priority: 2}]
  - name: x
    grpc: true
    lb_policy: random
routes: [{name: r, domains: [a.com, a.com], rules: [{to: nope, timeout: soon}, {prefix: api, split: [{service: x}, {service: x, weight: 2}]}]}]
listeners: [{name: l, port: 1, routes: zz}, {name: l2, port: 1, routes: r}]
nodes: [{id: n1, listeners: [missing]}]
`);
    expect('errors' in r).toBe(true);
    const errors = 'errors' in r ? r.errors : [];
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^services\[0\]\.bogus: unknown field/),
        'services[0].lb_policy: must be one of: round_robin, least_request, random, ring_hash, maglev',
        'services[0].endpoints[0].address: "db.local" is not an IPv4 or IPv6 address',
        'services[0].endpoints[0].port: must be an integer in 1..65535',
        'services[0].endpoints: priority 2 is used but priority 1 is not',
        'services[1].lb_policy: a gRPC service (grpc: true) must use round_robin or ring_hash',
        'services[1].name: duplicate name "x"',
        'routes[0].rules[0].to: unknown service "nope"',
        expect.stringMatching(/^routes\[0\]\.rules\[0\]\.timeout: must be a positive duration/),
        'routes[0].rules[1].prefix: must start with "/"',
        'routes[0].rules[1].split[0].weight: is required',
        'routes[0].rules[1].split[1].service: "x" is already in this split',
        'routes[0].domains[1]: duplicate domain "a.com"',
        'listeners[0].routes: unknown route table "zz"',
        'listeners[1].port: 0.0.0.0:1 is also used by listener "l"',
        'nodes[0].listeners[0]: unknown listener "missing"',
      ]),
    );
  });

  it('rejects YAML syntax errors and non-mappings without throwing', () => {
    expect(parseMesh('services: [')).toMatchObject({ errors: [expect.stringMatching(/^\(yaml\)/)] });
    expect(parseMesh('- 1\n- 2')).toEqual({ errors: ['(root): must be a mapping'] });
    expect(parseMesh('services: 3')).toEqual({ errors: ['services: must be a list'] });
    expect(parseMesh('')).toEqual({ mesh: { services: [], routes: [], listeners: [], nodes: [] } });
    expect(parseMesh('{"services": [')).toMatchObject({
      errors: expect.arrayContaining([expect.stringMatching(/^\(yaml\)/)]),
    });
  });

  it('reads a JSON mesh (the fast path for generated meshes) like its YAML form', () => {
    const json = JSON.stringify({
      services: [{ name: 'web', endpoints: [{ address: '10.0.0.1', port: 80, locality: { zone: 'a' } }] }],
      routes: [{ name: 'main', rules: [{ prefix: '/', to: 'web' }] }],
      listeners: [{ name: 'in', port: 10000, routes: 'main' }],
    });
    const yaml =
      'services:\n  - name: web\n    endpoints: [{address: 10.0.0.1, port: 80, locality: {zone: a}}]\nroutes: [{name: main, rules: [{prefix: /, to: web}]}]\nlisteners: [{name: in, port: 10000, routes: main}]\n';
    expect(parseMesh(json)).toEqual(parseMesh(yaml));
    expect('mesh' in parseMesh(json)).toBe(true);
  });
});
