/**
 * remora's protos against Envoy's official ones (from @grpc/grpc-js-xds/deps): every message,
 * field and enum value remora declares must exist in Envoy's API with the same number, type,
 * cardinality and oneof; and realistic resources encoded with one schema must decode with the
 * other to the same thing, both ways.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { decodeBinaryMessage } from '../../proxy/config/binary-decode.js';
import { encodeMessage } from '../../proxy/config/binary-encode.js';
import { Issues } from '../../proxy/config/issues.js';
import { decodeJsonMessage } from '../../proxy/config/json-decode.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { type MessageType, type Schema, schema } from '../../proxy/config/schema.js';
import { envoySchema, findInEnvoy, remoraProtoFiles } from './envoy-schema.js';
import { supportedFieldsMarkdown } from './supported-fields.js';

const FULL = fileURLToPath(new URL('../config/fixtures/full-bootstrap.yaml', import.meta.url));

let envoy: Schema;
let remora: Schema;
beforeAll(() => {
  envoy = envoySchema();
  remora = schema();
});

/** remora's own extensions (package remora.*) have no Envoy counterpart. */
const isRemoraOwn = (name: string): boolean => name.startsWith('remora.');

function allMessages(ns: protobuf.NamespaceBase, out: MessageType[] = []): MessageType[] {
  for (const n of ns.nestedArray) {
    if (n instanceof protobuf.Type) out.push(n);
    if (n instanceof protobuf.Namespace || n instanceof protobuf.Type) allMessages(n, out);
  }
  return out;
}

function allEnums(ns: protobuf.NamespaceBase, out: protobuf.Enum[] = []): protobuf.Enum[] {
  for (const n of ns.nestedArray) {
    if (n instanceof protobuf.Enum) out.push(n);
    if (n instanceof protobuf.Namespace || n instanceof protobuf.Type) allEnums(n, out);
  }
  return out;
}

function keyTypeOf(f: protobuf.Field): string {
  return f instanceof protobuf.MapField ? f.keyType : '';
}

function typeName(f: protobuf.Field): string {
  if (f.resolvedType !== null) return f.resolvedType.fullName;
  return f.type;
}

describe("remora's schema is a subset of Envoy's", () => {
  it("mirrors Envoy's file layout, so imports mean the same in both trees", () => {
    const missing = remoraProtoFiles().filter(
      (f) => !f.startsWith('remora/') && findInEnvoy(f) === undefined,
    );
    expect(missing).toEqual([]);
  });

  it('declares every field with Envoy’s name, number, type, cardinality and oneof', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const t of allMessages(remora.root)) {
      const name = t.fullName.slice(1);
      if (name.startsWith('google.protobuf.') || isRemoraOwn(name)) continue;
      let e: MessageType;
      try {
        e = envoy.lookupType(name);
      } catch {
        problems.push(`${name}: no such message in Envoy's API`);
        continue;
      }
      for (const f of t.fieldsArray) {
        checked++;
        const ef = e.fields[f.name];
        const where = `${name}.${f.name}`;
        if (ef === undefined) {
          problems.push(`${where}: no such field in Envoy's API`);
          continue;
        }
        if (ef.id !== f.id) problems.push(`${where}: number ${f.id}, Envoy has ${ef.id}`);
        if (typeName(ef) !== typeName(f))
          problems.push(`${where}: type ${typeName(f)}, Envoy has ${typeName(ef)}`);
        if (ef.repeated !== f.repeated || ef.map !== f.map) problems.push(`${where}: cardinality differs`);
        if (f.map && keyTypeOf(ef) !== keyTypeOf(f)) problems.push(`${where}: map key type differs`);
        const oneof = f.partOf?.name ?? '(none)';
        const envoyOneof = ef.partOf?.name ?? '(none)';
        if (oneof !== envoyOneof) problems.push(`${where}: oneof ${oneof}, Envoy has ${envoyOneof}`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(300);
  });

  it('gives every enum value Envoy’s number', () => {
    const problems: string[] = [];
    for (const en of allEnums(remora.root)) {
      const name = en.fullName.slice(1);
      if (name.startsWith('google.protobuf.') || isRemoraOwn(name)) continue;
      const ee = envoy.root.lookupEnum(name);
      for (const [k, v] of Object.entries(en.values)) {
        if (ee.values[k] !== v) problems.push(`$name.$k: $v, Envoy has $ee.values[k] ?? '(none)'`);
      }
    }
    expect(problems).toEqual([]);
  });
});

/** The corpus: realistic resources written as Envoy users write them (proto3 JSON / YAML). */
function corpus(): { name: string; type: string; json: unknown }[] {
  const bootstrap = parse(readFileSync(FULL, 'utf8')) as {
    static_resources: { listeners: unknown[]; clusters: unknown[] };
  };
  return [
    { name: 'bootstrap', type: 'envoy.config.bootstrap.v3.Bootstrap', json: bootstrap },
    {
      name: 'listener with HCM and inline routes',
      type: 'envoy.config.listener.v3.Listener',
      json: bootstrap.static_resources.listeners[0],
    },
    {
      name: 'tcp_proxy listener',
      type: 'envoy.config.listener.v3.Listener',
      json: bootstrap.static_resources.listeners[1],
    },
    {
      name: 'STRICT_DNS cluster with health checks',
      type: 'envoy.config.cluster.v3.Cluster',
      json: bootstrap.static_resources.clusters[0],
    },
    {
      name: 'cluster with http2_protocol_options',
      type: 'envoy.config.cluster.v3.Cluster',
      json: bootstrap.static_resources.clusters[1],
    },
    {
      name: 'cluster with typed_extension_protocol_options',
      type: 'envoy.config.cluster.v3.Cluster',
      json: bootstrap.static_resources.clusters[2],
    },
  ];
}

function fromJson(s: Schema, type: string, json: unknown): ProtoObject {
  const issues = new Issues();
  const out = decodeJsonMessage(type, json, issues, '', { schema: s });
  expect(issues.format()).toBe('');
  return out!;
}

function fromBinary(s: Schema, type: string, bytes: Uint8Array): ProtoObject {
  const issues = new Issues();
  const out = decodeBinaryMessage(type, bytes, issues, '', { schema: s });
  expect(issues.format()).toBe('');
  return out!;
}

describe('wire compatibility on a corpus of realistic resources', () => {
  for (const { name, type, json } of corpus()) {
    it(`$name: remora encodes, Envoy's schema decodes the same`, () => {
      const po = fromJson(remora, type, json);
      const bytes = encodeMessage(type, po, { schema: remora });
      expect(fromBinary(envoy, type, bytes)).toEqual(po);
    });

    it(`${name}: Envoy's schema encodes, remora decodes the same`, () => {
      const po = fromJson(envoy, type, json);
      const bytes = encodeMessage(type, po, { schema: envoy });
      expect(fromBinary(remora, type, bytes)).toEqual(po);
      // And the same JSON read through remora's schema is that object too.
      expect(fromJson(remora, type, json)).toEqual(po);
    });
  }

  it('decodes a cluster built with protobufjs on Envoy’s types alone, ignoring fields remora lacks', () => {
    const E = envoy.root;
    const Cluster = E.lookupType('envoy.config.cluster.v3.Cluster');
    const Hpo = E.lookupType('envoy.extensions.upstreams.http.v3.HttpProtocolOptions');
    const hpo = Hpo.encode(
      Hpo.fromObject({
        explicit_http_config: {
          http2_protocol_options: { max_concurrent_streams: { value: 64 }, allow_connect: true },
        },
        upstream_http_protocol_options: { auto_sni: true },
      }),
    ).finish();
    const msg = Cluster.fromObject({
      name: 'payments',
      type: 'STRICT_DNS',
      connect_timeout: { seconds: 1, nanos: 250_000_000 },
      lb_policy: 'LEAST_REQUEST',
      alt_stat_name: 'not-in-remora',
      upstream_bind_config: { source_address: { address: '10.0.0.1', port_value: 0 } },
      dns_refresh_rate: { seconds: 30 },
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          type_url: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          value: hpo,
        },
      },
      load_assignment: {
        cluster_name: 'payments',
        endpoints: [
          {
            locality: { zone: 'a' },
            lb_endpoints: [
              {
                endpoint: { address: { socket_address: { address: 'pay.internal', port_value: 443 } } },
                health_status: 'DRAINING',
                load_balancing_weight: { value: 5 },
              },
            ],
          },
        ],
      },
    });
    const decoded = fromBinary(remora, 'envoy.config.cluster.v3.Cluster', Cluster.encode(msg).finish());
    expect(decoded).toEqual({
      name: 'payments',
      type: 'STRICT_DNS',
      connect_timeout: 1250,
      lb_policy: 'LEAST_REQUEST',
      dns_refresh_rate: 30_000,
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 64 } },
        },
      },
      load_assignment: {
        cluster_name: 'payments',
        endpoints: [
          {
            locality: { zone: 'a' },
            lb_endpoints: [
              {
                endpoint: { address: { socket_address: { address: 'pay.internal', port_value: 443 } } },
                health_status: 'DRAINING',
                load_balancing_weight: 5,
              },
            ],
          },
        ],
      },
    });
  });

  it('encodes a listener that protobufjs decodes on Envoy’s types to the same values', () => {
    const po = fromJson(remora, 'envoy.config.listener.v3.Listener', corpus()[1].json);
    const bytes = encodeMessage('envoy.config.listener.v3.Listener', po);
    const Listener = envoy.root.lookupType('envoy.config.listener.v3.Listener');
    const msg = Listener.toObject(Listener.decode(bytes), { longs: Number, enums: String }) as Record<
      string,
      unknown
    >;
    expect(msg.name).toBe('ingress_http');
    expect(msg.drain_type).toBe('MODIFY_ONLY');
    expect(msg.traffic_direction).toBe('INBOUND');
    expect(msg.per_connection_buffer_limit_bytes).toEqual({ value: 32768 });
    const lft = msg.listener_filters_timeout as { seconds?: number; nanos: number };
    expect([lft.seconds ?? 0, lft.nanos]).toEqual([0, 500_000_000]);
    const filter = (
      msg.filter_chains as { filters: { typed_config: { type_url: string; value: Uint8Array } }[] }[]
    )[0].filters[0];
    const Hcm = envoy.root.lookupType(
      'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    );
    expect(filter.typed_config.type_url).toBe(`type.googleapis.com/${Hcm.fullName.slice(1)}`);
    const hcm = Hcm.toObject(Hcm.decode(filter.typed_config.value), {
      longs: Number,
      enums: String,
    }) as Record<string, unknown>;
    expect(hcm.stat_prefix).toBe('ingress_http');
    expect(hcm.path_with_escaped_slashes_action).toBe('UNESCAPE_AND_REDIRECT');
    expect(hcm.max_request_headers_kb).toEqual({ value: 96 });
    expect(hcm.merge_slashes).toBe(true);
    expect((hcm.route_config as { virtual_hosts: unknown[] }).virtual_hosts).toHaveLength(2);
  });
});

describe('proto/SUPPORTED.md', () => {
  it('lists, for every message, the fields remora supports and the ones it does not', async () => {
    // A changed .proto changes this table: regenerate with `npx vitest run test/proto -u`.
    await expect(supportedFieldsMarkdown(remora, envoy)).toMatchFileSnapshot('../../proto/SUPPORTED.md');
  });
});
