import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeBinaryAny, decodeBinaryMessage } from '../../proxy/config/binary-decode.js';
import { EncodeError, encodeAny, encodeMessage } from '../../proxy/config/binary-encode.js';
import { Issues } from '../../proxy/config/issues.js';
import { decodeJsonMessage } from '../../proxy/config/json-decode.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { lookupType, schema } from '../../proxy/config/schema.js';
import { fullBootstrapJson, testSchema } from './schema-fixtures.js';

const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';

function fromJson(type: string, value: unknown, s = schema()): ProtoObject {
  const issues = new Issues();
  const out = decodeJsonMessage(type, value, issues, '', { schema: s });
  expect(issues.format()).toBe('');
  return out!;
}

function fromBinary(
  type: string,
  bytes: Uint8Array,
  s = schema(),
): { out: ProtoObject | null; issues: Issues } {
  const issues = new Issues();
  return { out: decodeBinaryMessage(type, bytes, issues, '', { schema: s }), issues };
}

function roundTrip(type: string, po: ProtoObject, s = schema()): ProtoObject {
  const { out, issues } = fromBinary(type, encodeMessage(type, po, { schema: s }), s);
  expect(issues.format()).toBe('');
  return out!;
}

describe('JSON → ProtoObject → binary → ProtoObject', () => {
  it('gives back an equal object for a realistic Envoy bootstrap', () => {
    const po = fromJson(BOOTSTRAP, fullBootstrapJson());
    const bytes = encodeMessage(BOOTSTRAP, po);
    expect(bytes.length).toBeGreaterThan(3000);
    const { out, issues } = fromBinary(BOOTSTRAP, bytes);
    expect(issues.format()).toBe('');
    expect(out).toEqual(po);
    // And binary → ProtoObject → binary is byte-stable.
    expect(encodeMessage(BOOTSTRAP, out!).equals(bytes)).toBe(true);
  });

  it('round-trips every scalar type, extremes included', () => {
    const s = testSchema();
    const po = fromJson(
      'remora.test.v1.Scalars',
      {
        f_double: -0.1,
        f_float: 0.5,
        f_int32: -2147483648,
        f_int64: '-9007199254740991',
        f_uint32: 4294967295,
        f_uint64: '9007199254740991',
        f_sint32: -1,
        f_sint64: '-9007199254740991',
        f_fixed32: 4294967295,
        f_fixed64: 1,
        f_sfixed32: -2,
        f_sfixed64: '-3',
        f_bool: true,
        f_string: 'ü\u0000',
        f_bytes: 'AP8=',
        f_color: 'RED',
      },
      s,
    );
    expect(roundTrip('remora.test.v1.Scalars', po, s)).toEqual(po);
  });

  it('round-trips well-known types, maps, lists and oneofs', () => {
    const s = testSchema();
    const wk = fromJson(
      'remora.test.v1.WellKnown',
      {
        duration: '-1.000000001s',
        timestamp: '1969-12-31T23:59:59.5Z',
        double_value: 0,
        int64_value: '-5',
        uint64_value: '5',
        bool_value: false,
        string_value: '',
        bytes_value: '',
        struct: { a: [1, 'b', null, { c: false }], d: {} },
        value: 'v',
        list: [],
        empty: {},
        any: { '@type': 'type.googleapis.com/google.protobuf.Timestamp', value: '2000-01-01T00:00:00Z' },
        durations: ['1s', '0.001s'],
        anys: {
          x: {
            '@type': 'type.googleapis.com/remora.test.v1.Tree',
            label: 'root',
            children: [{ label: 'kid' }],
          },
        },
      },
      s,
    );
    expect(roundTrip('remora.test.v1.WellKnown', wk, s)).toEqual(wk);
    const c = fromJson(
      'remora.test.v1.Containers',
      {
        numbers: [0, -1],
        colors: ['COLOR_UNSPECIFIED', 'GREEN'],
        counts: { z: 0 },
        by_number: { '-3': '' },
        by_flag: { false: {} },
      },
      s,
    );
    expect(roundTrip('remora.test.v1.Containers', c, s)).toEqual(c);
    const choice = fromJson('remora.test.v1.Choice', { number: 0, right: '' }, s);
    expect(roundTrip('remora.test.v1.Choice', choice, s)).toEqual({ number: 0, right: '' });
  });
});

describe('decodeBinaryMessage', () => {
  it('decodes what protobufjs encodes from message objects: Any unpacked, enums named, durations in ms', () => {
    const Cluster = lookupType('envoy.config.cluster.v3.Cluster');
    const Hpo = lookupType('envoy.extensions.upstreams.http.v3.HttpProtocolOptions');
    const hpo = Hpo.encode(
      Hpo.fromObject({
        explicit_http_config: { http2_protocol_options: { max_concurrent_streams: { value: 7 } } },
      }),
    ).finish();
    const bytes = Cluster.encode(
      Cluster.fromObject({
        name: 'c',
        type: 1,
        connect_timeout: { seconds: 2, nanos: 5_000_000 },
        lb_policy: 0,
        typed_extension_protocol_options: {
          h: {
            type_url: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
            value: hpo,
          },
        },
        ring_hash_lb_config: {
          maximum_ring_size: { value: '9007199254740991' },
        },
      }),
    ).finish();
    const { out, issues } = fromBinary('envoy.config.cluster.v3.Cluster', bytes);
    expect(issues.format()).toBe('');
    expect(out).toEqual({
      name: 'c',
      type: 'STRICT_DNS',
      connect_timeout: 2005,
      typed_extension_protocol_options: {
        h: {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 7 } },
        },
      },
      ring_hash_lb_config: { maximum_ring_size: 9007199254740991 },
    });
  });

  it('ignores fields it does not know, as protobuf requires', () => {
    // Field 21 (upstream_bind_config) and 999 are not in remora's Cluster.
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 2).string('known');
    w.uint32((21 << 3) | 2).bytes(Buffer.from([0x0a, 0x00]));
    w.uint32((999 << 3) | 0).uint64(42);
    const { out, issues } = fromBinary('envoy.config.cluster.v3.Cluster', w.finish());
    expect(issues.list).toEqual([]);
    expect(out).toEqual({ name: 'known' });
  });

  it('reports bytes that are not a valid encoding', () => {
    const { out, issues } = fromBinary('envoy.config.cluster.v3.Cluster', Buffer.from([0x0a, 0x10, 0x61]));
    expect(out).toBeNull();
    expect(issues.list).toHaveLength(1);
    expect(issues.list[0].message).toMatch(/^cannot decode envoy\.config\.cluster\.v3\.Cluster: /);
  });

  it('reports an Any of a type remora does not know, with its path', () => {
    const Filter = lookupType('envoy.config.listener.v3.Filter');
    const bytes = Filter.encode(
      Filter.fromObject({
        name: 'rbac',
        typed_config: {
          type_url: 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC',
          value: Buffer.alloc(0),
        },
      }),
    ).finish();
    const { issues } = fromBinary('envoy.config.listener.v3.Filter', bytes);
    expect(issues.format()).toBe(
      "error: typed_config.@type: unknown type URL 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC' (remora does not support this type)",
    );
  });

  it('rejects int64 values beyond 2^53 and enum numbers remora does not know', () => {
    const s = testSchema();
    const Scalars = s.lookupType('remora.test.v1.Scalars');
    const w = protobuf.Writer.create();
    w.uint32((4 << 3) | 0).int64('9007199254740993');
    w.uint32((16 << 3) | 0).int32(9);
    const { issues } = fromBinary('remora.test.v1.Scalars', w.finish(), s);
    expect(issues.list.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'f_int64: 9007199254740993 is beyond 2^53, which remora cannot hold exactly',
      'f_color: 9 is not a value of enum remora.test.v1.Color known to remora',
    ]);
    expect(Scalars.fullName).toBe('.remora.test.v1.Scalars');
  });

  it('unpacks a TypedStruct sent in binary by the JSON rules', () => {
    const TypedStruct = lookupType('udpa.type.v1.TypedStruct');
    const ts = TypedStruct.encode(
      TypedStruct.fromObject({
        type_url: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
        value: { fields: { suppress_envoy_headers: { boolValue: true } } },
      }),
    ).finish();
    const issues = new Issues();
    const out = decodeBinaryAny(
      'type.googleapis.com/udpa.type.v1.TypedStruct',
      ts,
      issues,
      'http_filters[0].typed_config',
    );
    expect(issues.format()).toBe('');
    expect(out).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
      suppress_envoy_headers: true,
    });
  });

  it('decodes an Any payload directly, as the xDS client receives resources', () => {
    const cla = {
      cluster_name: 'svc',
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } } },
          ],
        },
      ],
    };
    const any = encodeAny({
      '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
      ...cla,
    });
    expect(any.type_url).toBe('type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment');
    const issues = new Issues();
    expect(decodeBinaryAny(any.type_url, any.value, issues)).toEqual({ '@type': any.type_url, ...cla });
    expect(issues.list).toEqual([]);
    const bad = new Issues();
    expect(decodeBinaryAny('type.googleapis.com/nope.V1', any.value, bad, 'resources[0]')).toBeNull();
    expect(bad.format()).toBe(
      "error: resources[0].@type: unknown type URL 'type.googleapis.com/nope.V1' (remora does not support this type)",
    );
  });
});

describe('encodeMessage', () => {
  it.each([
    [{ name: 'c', bogus: 1 }, "bogus: envoy.config.cluster.v3.Cluster has no field 'bogus'"],
    [{ name: 3 }, 'name: expected a string, got number 3'],
    [
      { type: 'STRICTER_DNS' },
      'type: string "STRICTER_DNS" is not a value of enum envoy.config.cluster.v3.Cluster.DiscoveryType',
    ],
    [{ connect_timeout: '1s' }, 'connect_timeout: expected a duration in milliseconds, got string "1s"'],
    [
      { per_connection_buffer_limit_bytes: -1 },
      'per_connection_buffer_limit_bytes: -1 is out of range for uint32',
    ],
    [{ health_checks: {} }, 'health_checks: expected a list, got an object'],
    [
      { typed_extension_protocol_options: { x: { a: 1 } } },
      'typed_extension_protocol_options["x"].@type: missing \'@type\'',
    ],
    [
      { ring_hash_lb_config: {}, maglev_lb_config: {} },
      ': only one of ring_hash_lb_config, maglev_lb_config may be set',
    ],
    [
      { metadata: { filter_metadata: { a: { b: Buffer.alloc(1) } } } },
      'metadata.filter_metadata["a"]["b"]: bytes cannot be held in a google.protobuf.Value',
    ],
  ])('rejects %j with the field path', (po, message) => {
    let caught: unknown;
    try {
      encodeMessage('envoy.config.cluster.v3.Cluster', po as ProtoObject);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EncodeError);
    expect((caught as Error).message).toBe(message.startsWith(':') ? `(root)${message}` : message);
  });

  it('encodes durations and timestamps with nanos carrying the right sign', () => {
    const s = testSchema();
    const WellKnown = s.lookupType('remora.test.v1.WellKnown');
    const bytes = encodeMessage(
      'remora.test.v1.WellKnown',
      { duration: -1500.5, timestamp: -500 },
      { schema: s },
    );
    const msg = WellKnown.toObject(WellKnown.decode(bytes), { longs: Number });
    expect(msg.duration).toEqual({ seconds: -1, nanos: -500_500_000 });
    expect(msg.timestamp).toEqual({ seconds: -1, nanos: 500_000_000 });
  });
});
