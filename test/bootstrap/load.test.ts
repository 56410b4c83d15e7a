import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applyNodeOverrides } from '../../proxy/bootstrap/bootstrap.js';
import { loadBootstrap } from '../../proxy/bootstrap/load.js';

const FULL = fileURLToPath(new URL('../config/fixtures/full-bootstrap.yaml', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'remora-bootstrap-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const MINIMAL = `
node: { id: n1, cluster: c1 }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  clusters:
    - name: a
      connect_timeout: 1s
`;

describe('loadBootstrap', () => {
  it('loads every example bootstrap shipped in examples/', () => {
    for (const name of ['demo', 'grpc', 'http-basic', 'http2-upstream', 'strict-dns', 'tcp-proxy']) {
      const { bootstrap, issues } = loadBootstrap({ configPath: join(EXAMPLES, `${name}.yaml`) });
      expect(issues.format(), name).toBe('');
      expect(bootstrap?.staticListeners.length, name).toBeGreaterThan(0);
      expect(bootstrap?.staticClusters.length, name).toBeGreaterThan(0);
    }
  });

  it('returns the node, admin and static resources with their paths', () => {
    const { bootstrap, issues } = loadBootstrap({ configPath: FULL });
    expect(issues.format()).toBe('');
    const b = bootstrap!;
    expect(b.node).toEqual({
      id: 'sidecar~10.0.0.7~web-1.default~default.svc.cluster.local',
      cluster: 'web',
      metadata: expect.objectContaining({ istio_version: '1.22' }),
      locality: { region: 'eu-west-1', zone: 'eu-west-1a', subZone: 'rack7' },
    });
    expect(b.admin).toEqual({ address: '127.0.0.1', port: 9901, accessLogPath: '/dev/null', accessLog: [] });
    expect(b.staticListeners.map((l) => [l.path, l.resource.name])).toEqual([
      ['static_resources.listeners[0]', 'ingress_http'],
      ['static_resources.listeners[1]', 'tcp_passthrough'],
    ]);
    expect(b.staticClusters.map((c) => c.path)).toEqual(
      [0, 1, 2, 3, 4, 5, 6].map((i) => `static_resources.clusters[${i}]`),
    );
    expect(b.staticClusters[0].resource.connect_timeout).toBe(250);
    expect(b.dynamicResources?.ads_config).toMatchObject({ api_type: 'GRPC', transport_api_version: 'V3' });
    expect(b.proto.node).toMatchObject({ user_agent_name: 'remora' });
  });

  it('reads .json as JSON, and other extensions as JSON first, then YAML', () => {
    const json = JSON.stringify(parse(readFileSync(FULL, 'utf8')));
    const fromYaml = loadBootstrap({ configPath: FULL }).bootstrap;
    expect(loadBootstrap({ configPath: file('b.json', json) }).bootstrap?.proto).toEqual(fromYaml?.proto);
    expect(loadBootstrap({ configPath: file('b.conf', json) }).bootstrap?.proto).toEqual(fromYaml?.proto);
    expect(loadBootstrap({ configPath: file('b.yml', MINIMAL) }).bootstrap?.node.id).toBe('n1');
    expect(loadBootstrap({ configPath: file('bootstrap', MINIMAL) }).bootstrap?.node.id).toBe('n1');
  });

  it('reports a JSON syntax error in a .json file with its line and column', () => {
    const p = file('bad.json', '{\n  "node": {"id": "x",}\n}\n');
    const { bootstrap, issues } = loadBootstrap({ configPath: p });
    expect(bootstrap).toBeNull();
    expect(issues.list).toHaveLength(1);
    expect(issues.list[0].path).toBe(`${p}:2:22`);
    expect(issues.list[0].message).toMatch(/^invalid JSON: /);
  });

  it('reports YAML syntax errors with line and column', () => {
    const p = file('bad.yaml', 'node:\n  id: a\n cluster: b\nadmin: [1, 2\n');
    const { bootstrap, issues } = loadBootstrap({ configPath: p });
    expect(bootstrap).toBeNull();
    expect(issues.list[0].path).toBe(`${p}:3:1`);
    expect(issues.list[0].message).toMatch(/^YAML syntax error: /);
    const dup = file('dup.yaml', 'node: { id: a }\nnode: { id: b }\n');
    expect(loadBootstrap({ configPath: dup }).issues.format()).toBe(
      `error: ${dup}:2:1: YAML syntax error: Map keys must be unique`,
    );
  });

  it.each([
    ['empty.yaml', '', 'the bootstrap is empty'],
    ['blank.yaml', '  \n\n', 'the bootstrap is empty'],
    ['comments.yaml', '# nothing here\n', 'the bootstrap is empty (only comments)'],
    [
      'list.yaml',
      '- node: {}\n',
      'the bootstrap must be a mapping of fields (node, admin, static_resources, ...), not a list',
    ],
    [
      'scalar.json',
      '42',
      'the bootstrap must be a mapping of fields (node, admin, static_resources, ...), not a number',
    ],
    ['two.yaml', 'node: {}\n---\nadmin: {}\n', 'holds 2 YAML documents; a bootstrap is exactly one'],
  ])('rejects %s clearly', (name, text, message) => {
    const p = file(name, text);
    const { bootstrap, issues } = loadBootstrap({ configPath: p });
    expect(bootstrap).toBeNull();
    expect(issues.format()).toBe(`error: ${p}: ${message}`);
  });

  it('reports a file that does not exist, a directory and an unreadable file', () => {
    const missing = join(dir, 'nope.yaml');
    expect(loadBootstrap({ configPath: missing }).issues.format()).toBe(
      `error: ${missing}: cannot read config file: no such file`,
    );
    const sub = join(dir, 'sub.yaml');
    mkdirSync(sub);
    expect(loadBootstrap({ configPath: sub }).issues.format()).toBe(
      `error: ${sub}: cannot read config file: it is a directory`,
    );
    if (process.getuid?.() !== 0) {
      const locked = file('locked.yaml', MINIMAL);
      chmodSync(locked, 0o000);
      expect(loadBootstrap({ configPath: locked }).issues.format()).toBe(
        `error: ${locked}: cannot read config file: permission denied`,
      );
    }
  });

  it('stops a YAML alias bomb instead of expanding it', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdefgh'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`),
    ].join('\n');
    const p = file('bomb.yaml', `${bomb}\n`);
    const { bootstrap, issues } = loadBootstrap({ configPath: p });
    expect(bootstrap).toBeNull();
    expect(issues.list[0].path).toBe(p);
    expect(issues.list[0].message).toMatch(/^YAML: .*alias/i);
  });

  it('reports every decode error with its field path, and nothing is returned', () => {
    const p = file(
      'bad-fields.yaml',
      `
node: { id: 1 }
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 9901 } }, profile_path: /tmp }
static_resources:
  clusters:
    - name: a
      connect_timeout: 5
      lb_policy: FASTEST
`,
    );
    const { bootstrap, issues } = loadBootstrap({ configPath: p });
    expect(bootstrap).toBeNull();
    expect(issues.list.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'node.id: expected a string, got number 1',
      "admin.profile_path: unknown field 'profile_path' in envoy.config.bootstrap.v3.Admin (remora does not support it)",
      'static_resources.clusters[0].connect_timeout: expected a duration such as "5s" or "0.25s", got number 5',
      'static_resources.clusters[0].lb_policy: unknown value "FASTEST" for enum envoy.config.cluster.v3.Cluster.LbPolicy (expected one of ROUND_ROBIN, LEAST_REQUEST, RING_HASH, RANDOM, MAGLEV, CLUSTER_PROVIDED, LOAD_BALANCING_POLICY_CONFIG)',
    ]);
  });

  it('turns unknown fields into warnings with allowUnknownFields, and still loads', () => {
    const p = file('extra.yaml', `${MINIMAL}\nlayered_runtime: { layers: [] }\nstats_flush_interval: 5s\n`);
    expect(loadBootstrap({ configPath: p }).bootstrap).toBeNull();
    const { bootstrap, issues } = loadBootstrap({ configPath: p, allowUnknownFields: true });
    expect(bootstrap?.node.id).toBe('n1');
    expect(issues.list.map((i) => [i.severity, i.path])).toEqual([
      ['warning', 'layered_runtime'],
      ['warning', 'stats_flush_interval'],
    ]);
  });

  it('rejects duplicate listener and cluster names, naming both places', () => {
    const p = file('dups.yaml', `${MINIMAL}    - name: b\n    - name: a\n`);
    expect(loadBootstrap({ configPath: p }).issues.format()).toBe(
      "error: static_resources.clusters[2].name: duplicate cluster name 'a' (also at static_resources.clusters[0])",
    );
  });

  it.each([
    [
      'address: localhost, port_value: 9901',
      "admin.address.socket_address.address: 'localhost' is not an IP address (admin binds to an IP, not a name)",
    ],
    [
      'address: "::1", port_value: 70000',
      'admin.address.socket_address.port_value: 70000 is not a TCP port (0-65535)',
    ],
    [
      'address: 127.0.0.1, protocol: UDP',
      'admin.address.socket_address.protocol: the admin interface is TCP only',
    ],
    ['port_value: 1', 'admin.address.socket_address.address: an IP address is required'],
  ])('validates the admin address: %s', (sa, message) => {
    const { bootstrap, issues } = loadBootstrap({
      configYaml: `admin: { address: { socket_address: { ${sa} } } }`,
    });
    expect(bootstrap).toBeNull();
    expect(issues.format()).toBe(`error: ${message}`);
  });

  it('runs without admin when admin has no address (with a warning), or when admin is absent', () => {
    const noAddress = loadBootstrap({ configYaml: 'admin: { access_log_path: /dev/null }' });
    expect(noAddress.bootstrap?.admin).toBeNull();
    expect(noAddress.issues.format()).toBe(
      'warning: admin: admin has no address, so the admin interface is not started',
    );
    const none = loadBootstrap({ configYaml: 'node: { id: x }' });
    expect(none.bootstrap?.admin).toBeNull();
    expect(none.bootstrap?.node).toEqual({
      id: 'x',
      cluster: '',
      metadata: {},
      locality: { region: '', zone: '', subZone: '' },
    });
    expect(none.bootstrap?.dynamicResources).toBeNull();
  });

  it('requires a source', () => {
    expect(loadBootstrap({}).issues.format()).toBe(
      'error: : no bootstrap given: set --config-path (-c) or --config-yaml',
    );
  });
});

describe('--config-yaml', () => {
  it('is a bootstrap on its own, YAML or JSON', () => {
    expect(loadBootstrap({ configYaml: MINIMAL }).bootstrap?.staticClusters).toHaveLength(1);
    expect(loadBootstrap({ configYaml: '{"node": {"id": "j"}}' }).bootstrap?.node.id).toBe('j');
  });

  it('merges over the file as protobuf MergeFrom does', () => {
    const base = file(
      'base.yaml',
      `${MINIMAL}
  listeners:
    - name: l1
      address: { socket_address: { address: 0.0.0.0, port_value: 10000 } }
dynamic_resources:
  lds_config: { ads: {} }
`,
    );
    const over = `
node: { cluster: c2, metadata: { team: blue } }
admin: { address: { socket_address: { port_value: 9902 } } }
static_resources:
  clusters: [{ name: added, connect_timeout: 2s }]
dynamic_resources:
  lds_config: { api_config_source: { api_type: GRPC } }
`;
    const { bootstrap, issues } = loadBootstrap({ configPath: base, configYaml: over });
    expect(issues.format()).toBe('');
    const b = bootstrap!;
    // Scalars replaced, messages merged field by field.
    expect(b.node).toMatchObject({ id: 'n1', cluster: 'c2', metadata: { team: 'blue' } });
    expect(b.admin).toMatchObject({ address: '127.0.0.1', port: 9902 });
    // Repeated fields appended.
    expect(b.staticClusters.map((c) => [c.path, c.resource.name])).toEqual([
      ['static_resources.clusters[0]', 'a'],
      ['static_resources.clusters[1]', 'added'],
    ]);
    expect(b.staticListeners).toHaveLength(1);
    // Setting another member of a oneof clears the base's.
    expect(b.dynamicResources).toEqual({ lds_config: { api_config_source: { api_type: 'GRPC' } } });
  });

  it('merges Struct metadata by key and finds duplicates across both sources', () => {
    const base = file(
      'meta.yaml',
      MINIMAL.replace('node: { id: n1, cluster: c1 }', 'node: { id: n1, metadata: { a: 1, b: { x: 1 } } }'),
    );
    const merged = loadBootstrap({
      configPath: base,
      configYaml: 'node: { metadata: { b: { y: 2 }, c: 3 } }',
    });
    expect(merged.bootstrap?.node.metadata).toEqual({ a: 1, b: { y: 2 }, c: 3 });
    const dup = loadBootstrap({
      configPath: base,
      configYaml: 'static_resources: { clusters: [{ name: a }] }',
    });
    expect(dup.issues.format()).toBe(
      "error: static_resources.clusters[1].name: duplicate cluster name 'a' (also at static_resources.clusters[0])",
    );
  });

  it('says which problems come from --config-yaml', () => {
    const base = file('ok.yaml', MINIMAL);
    const { bootstrap, issues } = loadBootstrap({
      configPath: base,
      configYaml: 'node: { idd: x }\nadmin: [',
    });
    expect(bootstrap).toBeNull();
    expect(issues.list[0].path).toMatch(/^--config-yaml:2:\d+$/);
    const bad = loadBootstrap({ configPath: base, configYaml: 'node: { idd: x }' });
    expect(bad.issues.format()).toBe(
      "error: node.idd: unknown field 'idd' in envoy.config.core.v3.Node (remora does not support it) (in --config-yaml)",
    );
  });

  it('still reports the file and the flag problems together', () => {
    const base = file('bad.yaml', 'node: { id: 5 }\n');
    const { issues } = loadBootstrap({ configPath: base, configYaml: 'admin: 3' });
    expect(issues.list.map((i) => i.path)).toEqual(['node.id', 'admin']);
  });
});

describe('applyNodeOverrides', () => {
  it('applies --service-node/--service-cluster/--service-zone to the model and to the proto sent upstream', () => {
    const b = loadBootstrap({ configYaml: 'node: { id: a, cluster: b, locality: { region: r, zone: z } }' })
      .bootstrap!;
    const o = applyNodeOverrides(b, { serviceNode: 'n2', serviceZone: 'z2' });
    expect(o.node).toEqual({
      id: 'n2',
      cluster: 'b',
      metadata: {},
      locality: { region: 'r', zone: 'z2', subZone: '' },
    });
    expect(o.proto.node).toEqual({ id: 'n2', cluster: 'b', locality: { region: 'r', zone: 'z2' } });
    expect(b.node.id).toBe('a');
    expect(applyNodeOverrides(b, {})).toBe(b);
  });
});
