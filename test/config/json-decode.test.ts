import { describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import { decodeJsonMessage } from '../../proxy/config/json-decode.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { fullBootstrapJson, testSchema } from './schema-fixtures.js';

const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
const CLUSTER = 'envoy.config.cluster.v3.Cluster';

function decode(
  type: string,
  value: unknown,
  allowUnknownFields = false,
): { out: ProtoObject | null; issues: Issues } {
  const issues = new Issues();
  const out = decodeJsonMessage(type, value, issues, '', { allowUnknownFields });
  return { out, issues };
}

function decodeTest(type: string, value: unknown): { out: ProtoObject | null; issues: Issues } {
  const issues = new Issues();
  const out = decodeJsonMessage(`remora.test.v1.${type}`, value, issues, '', { schema: testSchema() });
  return { out, issues };
}

/** The single issue's "path: message" for compact assertions. */
function only(issues: Issues): string {
  expect(issues.list).toHaveLength(1);
  return `${issues.list[0].path}: ${issues.list[0].message}`;
}

type Obj = Record<string, unknown>;
const at = (v: unknown, ...keys: (string | number)[]): unknown =>
  keys.reduce<unknown>((o, k) => (o as Obj | unknown[] | undefined)?.[k as never], v);

describe('decodeJsonMessage on a realistic bootstrap', () => {
  const { out, issues } = decode(BOOTSTRAP, fullBootstrapJson());

  it('accepts every field of the fixture without a single issue', () => {
    expect(issues.format()).toBe('');
    expect(out).not.toBeNull();
  });

  it('turns durations into milliseconds, including fractional and zero ones', () => {
    const hcm = at(out, 'static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config');
    expect(at(hcm, 'stream_idle_timeout')).toBe(300_000);
    expect(at(hcm, 'delayed_close_timeout')).toBe(100);
    // A Duration is a message: an explicit 0s is kept, it means "disabled" for request_timeout.
    expect(at(hcm, 'request_timeout')).toBe(0);
    const catchall = at(hcm, 'route_config', 'virtual_hosts', 1, 'routes', 0, 'route');
    expect(at(catchall, 'timeout')).toBe(1);
    expect(at(out, 'static_resources', 'clusters', 0, 'connect_timeout')).toBe(250);
  });

  it('unpacks Any by @type and keeps the type URL', () => {
    const filter = at(
      out,
      'static_resources',
      'listeners',
      0,
      'filter_chains',
      0,
      'filters',
      0,
      'typed_config',
    ) as Obj;
    expect(filter['@type']).toBe(
      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    );
    expect(filter.codec_type).toBeUndefined(); // AUTO is the enum default: not set
    expect(filter.path_with_escaped_slashes_action).toBe('UNESCAPE_AND_REDIRECT');
    const router = at(filter, 'http_filters', 0, 'typed_config');
    expect(router).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
      suppress_envoy_headers: true,
    });
  });

  it('unwraps wrapper types and reads int64 given as a string', () => {
    const rh = at(out, 'static_resources', 'clusters', 1, 'ring_hash_lb_config') as Obj;
    expect(rh).toEqual({
      minimum_ring_size: 1024,
      maximum_ring_size: 8_388_608,
      hash_function: 'MURMUR_HASH_2',
    });
    const retry = at(
      out,
      'static_resources',
      'listeners',
      0,
      'filter_chains',
      0,
      'filters',
      0,
      'typed_config',
      'route_config',
      'virtual_hosts',
      0,
      'retry_policy',
    ) as Obj;
    expect(retry.num_retries).toBe(2);
    expect(retry.host_selection_retry_max_attempts).toBe(3);
    expect(retry.retriable_status_codes).toEqual([503, 504]);
    // BoolValue false is a value (unlike a plain bool false): it is kept.
    const vh = at(
      out,
      'static_resources',
      'listeners',
      0,
      'filter_chains',
      0,
      'filters',
      0,
      'typed_config',
      'route_config',
      'virtual_hosts',
      0,
    ) as Obj;
    expect(at(vh, 'response_headers_to_add', 0, 'append')).toBe(false);
    expect(at(vh, 'routes', 0, 'match', 'case_sensitive')).toBe(false);
  });

  it('keeps Struct metadata as plain JSON, nulls included', () => {
    expect(at(out, 'node', 'metadata')).toEqual({
      istio_version: '1.22',
      labels: { app: 'web', version: 'v2' },
      weight: 3.5,
      canary: false,
      nothing: null,
      ports: [80, 443],
    });
  });

  it('decodes base64 bytes into a Buffer', () => {
    const body = at(
      out,
      'static_resources',
      'listeners',
      0,
      'filter_chains',
      0,
      'filters',
      0,
      'typed_config',
      'route_config',
      'virtual_hosts',
      0,
      'routes',
      4,
      'direct_response',
      'body',
      'inline_bytes',
    );
    expect(Buffer.isBuffer(body)).toBe(true);
    expect((body as Buffer).toString()).toBe("I'm a teapot");
  });

  it('unpacks an xds.type.v3.TypedStruct into the message it names', () => {
    const policies = at(out, 'static_resources', 'clusters', 2, 'load_balancing_policy', 'policies') as Obj[];
    expect(at(policies, 0, 'typed_extension_config', 'typed_config')).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest',
      choice_count: 3,
      active_request_bias: { default_value: 1.5, runtime_key: 'lb.bias' },
      selection_method: 'FULL_SCAN',
      locality_lb_config: { locality_weighted_lb_config: {} },
    });
    expect(at(policies, 1, 'typed_extension_config')).toEqual({
      name: 'envoy.load_balancing_policies.round_robin',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
        slow_start_config: { slow_start_window: 30_000 },
      },
    });
  });

  it('keeps a map of Any keyed by extension name', () => {
    const opts = at(out, 'static_resources', 'clusters', 2, 'typed_extension_protocol_options') as Obj;
    expect(Object.keys(opts)).toEqual(['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']);
    expect(
      at(opts, 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions', 'explicit_http_config'),
    ).toEqual({
      http2_protocol_options: { connection_keepalive: { interval: 30_000, timeout: 5_000 } },
    });
  });
});

describe('field names', () => {
  it('accepts lowerCamelCase JSON names and yields the same object as snake_case', () => {
    const snake = decode(CLUSTER, {
      name: 'a',
      connect_timeout: '1s',
      per_connection_buffer_limit_bytes: 10,
      lb_policy: 'RANDOM',
    });
    const camel = decode(CLUSTER, {
      name: 'a',
      connectTimeout: '1s',
      perConnectionBufferLimitBytes: 10,
      lbPolicy: 'RANDOM',
    });
    expect(snake.issues.list).toEqual([]);
    expect(camel.issues.list).toEqual([]);
    expect(camel.out).toEqual(snake.out);
    expect(camel.out).toEqual({
      name: 'a',
      connect_timeout: 1000,
      per_connection_buffer_limit_bytes: 10,
      lb_policy: 'RANDOM',
    });
  });

  it('rejects a field given under both of its names', () => {
    const { issues } = decode(CLUSTER, { connect_timeout: '1s', connectTimeout: '2s' });
    expect(only(issues)).toBe("connect_timeout: set twice, as 'connect_timeout' and as 'connectTimeout'");
  });

  it('reports an unknown field with its full path as an error', () => {
    const { out, issues } = decode(BOOTSTRAP, {
      static_resources: { clusters: [{ name: 'c0' }, { name: 'c1', upstream_bind_config: {} }] },
    });
    expect(only(issues)).toBe(
      "static_resources.clusters[1].upstream_bind_config: unknown field 'upstream_bind_config' in envoy.config.cluster.v3.Cluster (remora does not support it)",
    );
    expect(issues.ok).toBe(false);
    expect(at(out, 'static_resources', 'clusters', 1)).toEqual({ name: 'c1' });
  });

  it('downgrades unknown fields to warnings when asked (--allow-unknown-static-fields)', () => {
    const { out, issues } = decode(
      BOOTSTRAP,
      { node: { id: 'n', dynamic_parameters: {} }, layered_runtime: {} },
      true,
    );
    expect(issues.ok).toBe(true);
    expect(issues.list.map((i) => [i.severity, i.path])).toEqual([
      ['warning', 'node.dynamic_parameters'],
      ['warning', 'layered_runtime'],
    ]);
    expect(out).toEqual({ node: { id: 'n' } });
  });

  it('reports unknown fields inside an Any payload with the path through typed_config', () => {
    const { issues } = decode('envoy.config.listener.v3.Filter', {
      name: 'envoy.filters.network.tcp_proxy',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
        cluster: 'x',
        tunneling_config: { hostname: 'h' },
      },
    });
    expect(only(issues)).toMatch(
      /^typed_config\.tunneling_config: unknown field 'tunneling_config' in envoy\.extensions\.filters\.network\.tcp_proxy\.v3\.TcpProxy/,
    );
  });
});

describe('scalars', () => {
  it('decodes every scalar type from its proto3 JSON forms', () => {
    const { out, issues } = decodeTest('Scalars', {
      f_double: '1.5e3',
      f_float: 'Infinity',
      f_int32: -2147483648,
      f_int64: '-9007199254740991',
      f_uint32: '4294967295',
      f_uint64: 9007199254740991,
      f_sint32: -5,
      f_sint64: '-6',
      f_fixed32: 7,
      f_fixed64: '8',
      f_sfixed32: -9,
      f_sfixed64: -10,
      f_bool: true,
      f_string: 'héllo',
      f_bytes: '_-8=',
      f_color: 2,
    });
    expect(issues.format()).toBe('');
    expect(out).toEqual({
      f_double: 1500,
      f_float: Number.POSITIVE_INFINITY,
      f_int32: -2147483648,
      f_int64: -9007199254740991,
      f_uint32: 4294967295,
      f_uint64: 9007199254740991,
      f_sint32: -5,
      f_sint64: -6,
      f_fixed32: 7,
      f_fixed64: 8,
      f_sfixed32: -9,
      f_sfixed64: -10,
      f_bool: true,
      f_string: 'héllo',
      f_bytes: Buffer.from([0xff, 0xef]),
      f_color: 'GREEN',
    });
  });

  it('leaves out proto3 scalars at their default (they are not set) and treats null as not set', () => {
    const { out, issues } = decodeTest('Scalars', {
      f_int32: 0,
      f_string: '',
      f_bool: false,
      f_color: 'COLOR_UNSPECIFIED',
      f_bytes: '',
      f_double: null,
    });
    expect(issues.list).toEqual([]);
    expect(out).toEqual({});
  });

  it.each([
    [{ f_uint32: -1 }, 'f_uint32: -1 is out of range for uint32'],
    [{ f_uint32: 4294967296 }, 'f_uint32: 4294967296 is out of range for uint32'],
    [{ f_int32: '2147483648' }, 'f_int32: 2147483648 is out of range for int32'],
    [
      { f_int64: '9007199254740993' },
      'f_int64: 9007199254740993 is beyond 2^53, which remora cannot hold exactly',
    ],
    [{ f_uint64: '18446744073709551616' }, 'f_uint64: 18446744073709551616 is out of range for uint64'],
    [{ f_int32: 1.5 }, 'f_int32: expected an integer (int32), got number 1.5'],
    [{ f_int64: '12abc' }, 'f_int64: expected an integer (int64), got string "12abc"'],
    [{ f_float: 1e39 }, 'f_float: 1e+39 is out of range for float'],
    [{ f_double: 'lots' }, 'f_double: expected a number (double), got string "lots"'],
    [{ f_bool: 'true' }, 'f_bool: expected true or false, got string "true"'],
    [{ f_string: 42 }, 'f_string: expected a string, got number 42'],
    [{ f_string: { a: 1 } }, 'f_string: expected a string, got an object'],
    [{ f_bytes: 'not base64!' }, 'f_bytes: expected base64 bytes, got string "not base64!"'],
    [
      { f_color: 'BLUE' },
      'f_color: unknown value "BLUE" for enum remora.test.v1.Color (expected one of COLOR_UNSPECIFIED, RED, GREEN)',
    ],
    [{ f_color: 7 }, 'f_color: 7 is not a value of enum remora.test.v1.Color'],
    [{ f_color: true }, 'f_color: expected an enum name (remora.test.v1.Color), got boolean true'],
  ])('rejects %j', (input, expected) => {
    expect(only(decodeTest('Scalars', input).issues)).toBe(expected);
  });

  it('collects every error of a message instead of stopping at the first', () => {
    const { issues } = decodeTest('Scalars', { f_int32: 'x', f_bool: 1, f_color: 'NOPE', bogus: 1 });
    expect(issues.list.map((i) => i.path)).toEqual(['f_int32', 'f_bool', 'f_color', 'bogus']);
  });

  it('rejects a message where a scalar or a list is expected, and the reverse', () => {
    const { issues } = decode(CLUSTER, {
      name: ['a'],
      health_checks: { timeout: '1s' },
      load_assignment: 'x',
    });
    expect(issues.format()).toBe(
      [
        'error: name: expected a string, got a list',
        'error: health_checks: expected a list, got an object',
        'error: load_assignment: expected an object (envoy.config.endpoint.v3.ClusterLoadAssignment), got string "x"',
      ].join('\n'),
    );
  });
});

describe('well-known types', () => {
  it('decodes durations in both forms and timestamps in RFC 3339', () => {
    const { out, issues } = decodeTest('WellKnown', {
      duration: { seconds: '2', nanos: 500000000 },
      timestamp: '2024-02-29T23:59:59.250+01:00',
      durations: ['0s', '1.000000001s', '-1.5s', '315576000000s'],
    });
    expect(issues.format()).toBe('');
    expect(out).toEqual({
      duration: 2500,
      timestamp: Date.UTC(2024, 1, 29, 22, 59, 59, 250),
      durations: [0, 1000.000001, -1500, 315576000000000],
    });
  });

  it.each([
    [{ duration: '5' }, 'duration: expected a duration such as "5s" or "0.25s", got string "5"'],
    [{ duration: '5ms' }, 'duration: expected a duration such as "5s" or "0.25s", got string "5ms"'],
    [{ duration: 5 }, 'duration: expected a duration such as "5s" or "0.25s", got number 5'],
    [{ duration: '315576000001s' }, 'duration: duration is out of range (more than 10000 years)'],
    [{ duration: { seconds: 1, nanos: -1 } }, 'duration: seconds and nanos must have the same sign'],
    [{ duration: { minutes: 1 } }, "duration: unknown field 'minutes' in a duration"],
    [{ timestamp: '2023-02-29T00:00:00Z' }, 'timestamp: "2023-02-29T00:00:00Z" is not a valid date'],
    [
      { timestamp: '2024-01-01 00:00' },
      'timestamp: expected an RFC 3339 timestamp such as "2024-01-31T12:00:00Z", got string "2024-01-01 00:00"',
    ],
    [
      { uint32_value: { value: 3 } },
      "uint32_value: expected a bare uint32 (wrapper types are written without 'value:'), got an object",
    ],
    [{ bool_value: 'yes' }, 'bool_value: expected true or false, got string "yes"'],
    [{ struct: [1] }, 'struct: expected an object (google.protobuf.Struct), got a list'],
    [{ list: { a: 1 } }, 'list: expected a list (google.protobuf.ListValue), got an object'],
    [{ empty: { x: 1 } }, "empty.x: unknown field 'x' in google.protobuf.Empty (remora does not support it)"],
  ])('rejects %j', (input, expected) => {
    expect(only(decodeTest('WellKnown', input).issues)).toBe(expected);
  });

  it('unwraps every wrapper type to its bare value', () => {
    const { out, issues } = decodeTest('WellKnown', {
      double_value: 0,
      float_value: '2.5',
      int64_value: '-7',
      uint64_value: '7',
      int32_value: -3,
      uint32_value: 0,
      bool_value: false,
      string_value: '',
      bytes_value: 'AAE=',
    });
    expect(issues.format()).toBe('');
    // Wrappers have presence: a zero inside one is a value, so it is kept.
    expect(out).toEqual({
      double_value: 0,
      float_value: 2.5,
      int64_value: -7,
      uint64_value: 7,
      int32_value: -3,
      uint32_value: 0,
      bool_value: false,
      string_value: '',
      bytes_value: Buffer.from([0, 1]),
    });
  });

  it('accepts any JSON in Struct, Value and ListValue, and null as a Value', () => {
    const { out, issues } = decodeTest('WellKnown', {
      struct: { a: [1, 'two', { three: null }], b: true },
      value: null,
      list: [1, [2], {}],
      empty: {},
    });
    expect(issues.format()).toBe('');
    expect(out).toEqual({
      struct: { a: [1, 'two', { three: null }], b: true },
      value: null,
      list: [1, [2], {}],
      empty: {},
    });
  });

  it('rejects values that YAML can produce but JSON cannot hold', () => {
    const { issues } = decodeTest('WellKnown', {
      struct: { when: new Date(0), inf: Number.POSITIVE_INFINITY },
    });
    expect(issues.list.map((i) => i.path)).toEqual(['struct["when"]', 'struct["inf"]']);
  });
});

describe('Any', () => {
  const filter = (typed_config: unknown) =>
    decode('envoy.config.listener.v3.Filter', { name: 'f', typed_config });

  it('names an unknown type URL in the error', () => {
    const { issues } = filter({
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC',
      rules: {},
    });
    expect(only(issues)).toBe(
      "typed_config.@type: unknown type URL 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC' (remora does not support this type)",
    );
  });

  it('requires @type', () => {
    expect(only(filter({ cluster: 'x' }).issues)).toBe(
      "typed_config.@type: missing '@type' (every typed_config names its type)",
    );
    expect(only(filter('x').issues)).toBe(
      'typed_config: expected an object with \'@type\' (google.protobuf.Any), got string "x"',
    );
  });

  it('accepts the older udpa.type.v1.TypedStruct form too', () => {
    const { out, issues } = filter({
      '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
      type_url: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
      value: { stat_prefix: 'tcp', cluster: 'db', idle_timeout: '10s' },
    });
    expect(issues.format()).toBe('');
    expect(out?.typed_config).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
      stat_prefix: 'tcp',
      cluster: 'db',
      idle_timeout: 10_000,
    });
  });

  it('checks the payload of a TypedStruct against the type it names', () => {
    const { issues } = filter({
      '@type': 'type.googleapis.com/xds.type.v3.TypedStruct',
      type_url: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
      value: { cluster: 3 },
    });
    expect(only(issues)).toBe('typed_config.value.cluster: expected a string, got number 3');
    const unknown = filter({
      '@type': 'type.googleapis.com/xds.type.v3.TypedStruct',
      type_url: 'type.googleapis.com/x.Y',
    });
    expect(only(unknown.issues)).toBe(
      "typed_config.type_url: unknown type URL 'type.googleapis.com/x.Y' (remora does not support this type)",
    );
  });

  it('holds well-known types under "value", as proto3 JSON puts them', () => {
    const { out, issues } = decodeTest('WellKnown', {
      any: { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1.5s' },
      anys: {
        a: { '@type': 'type.googleapis.com/remora.test.v1.Choice', text: 'x' },
        b: { '@type': 'type.googleapis.com/google.protobuf.Struct', value: { k: 1 } },
      },
    });
    expect(issues.format()).toBe('');
    expect(out).toEqual({
      any: { '@type': 'type.googleapis.com/google.protobuf.Duration', value: 1500 },
      anys: {
        a: { '@type': 'type.googleapis.com/remora.test.v1.Choice', text: 'x' },
        b: { '@type': 'type.googleapis.com/google.protobuf.Struct', value: { k: 1 } },
      },
    });
  });
});

describe('repeated, map and oneof', () => {
  it('decodes lists and maps with non-string keys', () => {
    const { out, issues } = decodeTest('Containers', {
      numbers: [1, '2', 3],
      colors: ['RED', 2],
      items: [{ f_int32: 1 }, {}],
      counts: { a: '5', b: 0 },
      by_number: { '-1': 'minus one', '7': 'seven' },
      by_flag: { true: { f_bool: true } },
      by_id: { '9007199254740991': 'RED' },
      names: [],
    });
    expect(issues.format()).toBe('');
    expect(out).toEqual({
      numbers: [1, 2, 3],
      colors: ['RED', 'GREEN'],
      items: [{ f_int32: 1 }, {}],
      counts: { a: 5, b: 0 },
      by_number: { '-1': 'minus one', '7': 'seven' },
      by_flag: { true: { f_bool: true } },
      by_id: { '9007199254740991': 'RED' },
    });
  });

  it('reports bad elements with their index or key', () => {
    const { issues } = decodeTest('Containers', {
      numbers: [1, null, 'x'],
      counts: { a: null },
      by_number: { one: 'x' },
      by_flag: { yes: {} },
      items: [{}, { f_color: 'PINK' }],
    });
    expect(issues.list.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'numbers[1]: list elements must not be null',
      'numbers[2]: expected an integer (int32), got string "x"',
      'counts["a"]: map values must not be null',
      'by_number["one"]: expected an integer (int32), got string "one"',
      'by_flag["yes"]: map key must be "true" or "false", got "yes"',
      'items[1].f_color: unknown value "PINK" for enum remora.test.v1.Color (expected one of COLOR_UNSPECIFIED, RED, GREEN)',
    ]);
  });

  it('rejects two members of one oneof, naming both', () => {
    const { issues } = decodeTest('Choice', { text: 'a', number: 2, left: 'l' });
    expect(only(issues)).toBe(": only one of 'text', 'number' may be set (they are alternatives of 'pick')");
    const route = decode('envoy.config.route.v3.RouteMatch', { prefix: '/', path: '/x' });
    expect(only(route.issues)).toBe(
      ": only one of 'prefix', 'path' may be set (they are alternatives of 'path_specifier')",
    );
  });

  it('keeps a oneof member at its default value, since being set is what selects it', () => {
    const { out, issues } = decode('envoy.config.route.v3.RouteMatch', { prefix: '' });
    expect(issues.list).toEqual([]);
    expect(out).toEqual({ prefix: '' });
    expect(decodeTest('Choice', { flag: false, number: null }).out).toEqual({ flag: false });
  });

  it('bounds recursion instead of overflowing the stack', () => {
    let tree: Obj = { label: 'leaf' };
    for (let i = 0; i < 150; i++) tree = { only: tree };
    const { issues } = decodeTest('Tree', tree);
    expect(issues.list).toHaveLength(1);
    expect(issues.list[0].message).toBe('nested more than 100 levels deep');
    let value: unknown = 1;
    for (let i = 0; i < 150; i++) value = [value];
    expect(decodeTest('WellKnown', { value }).issues.list[0].message).toBe(
      'nested more than 100 levels deep',
    );
  });

  it('returns null for a top-level value that is not an object', () => {
    const { out, issues } = decode(BOOTSTRAP, 'node: x');
    expect(out).toBeNull();
    expect(only(issues)).toBe(
      ': expected an object (envoy.config.bootstrap.v3.Bootstrap), got string "node: x"',
    );
  });
});
