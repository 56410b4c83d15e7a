import { isObject, readDurationMs, readObject, readUint, rejectUnknown } from '../config/fields.js';
import { type Issues, joinPath } from '../config/issues.js';
import { type ProtoObject, typeNameOf, typeUrlOf } from '../config/proto-object.js';
import type { Http2OptionsModel } from '../model/cluster.js';

/**
 * A Cluster's upstream protocol: the legacy cluster-level http_protocol_options /
 * http2_protocol_options / common_http_protocol_options, or typed_extension_protocol_options with
 * envoy.extensions.upstreams.http.v3.HttpProtocolOptions (explicit_http_config only), never both.
 */
const HTTP_PROTOCOL_OPTIONS_TYPE = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const H2_FIELDS = new Set([
  'max_concurrent_streams',
  'initial_stream_window_size',
  'initial_connection_window_size',
]);
const COMMON_HTTP_FIELDS = new Set(['idle_timeout', 'max_requests_per_connection']);
const HTTP_OPTIONS_FIELDS = new Set(['@type', 'explicit_http_config', 'common_http_protocol_options']);
const EXPLICIT_FIELDS = new Set(['http_protocol_options', 'http2_protocol_options']);

export interface ProtocolChoice {
  http2: Http2OptionsModel | null;
  idleTimeoutMs: number;
  maxRequestsPerConnection: number;
}

export function translateProtocolOptions(c: ProtoObject, path: string, issues: Issues): ProtocolChoice {
  const out: ProtocolChoice = { http2: null, idleTimeoutMs: 3_600_000, maxRequestsPerConnection: 0 };
  const legacyH2 = readObject(c, 'http2_protocol_options', path, issues);
  if (legacyH2) out.http2 = translateH2(legacyH2, joinPath(path, 'http2_protocol_options'), issues);
  const legacyH1 = readObject(c, 'http_protocol_options', path, issues);
  if (legacyH1) rejectUnknown(legacyH1, new Set(), joinPath(path, 'http_protocol_options'), issues);
  const legacyCommon = readObject(c, 'common_http_protocol_options', path, issues);
  if (legacyCommon) readCommon(legacyCommon, joinPath(path, 'common_http_protocol_options'), issues, out);

  const typed = readObject(c, 'typed_extension_protocol_options', path, issues);
  if (!typed) return out;
  const tp = joinPath(path, 'typed_extension_protocol_options');
  for (const key of Object.keys(typed)) {
    const kp = `${tp}["${key}"]`;
    const opts = typed[key];
    if (key !== HTTP_PROTOCOL_OPTIONS_TYPE) {
      issues.error(kp, 'unknown or unsupported protocol options');
      continue;
    }
    if (!isObject(opts)) {
      issues.error(kp, 'must be a message');
      continue;
    }
    const t = typeUrlOf(opts);
    if (t !== '' && typeNameOf(t) !== HTTP_PROTOCOL_OPTIONS_TYPE) {
      issues.error(joinPath(kp, '@type'), `must be ${HTTP_PROTOCOL_OPTIONS_TYPE}`);
      continue;
    }
    if (legacyH2 || legacyH1 || legacyCommon) {
      issues.error(kp, 'cannot be combined with the cluster-level http*_protocol_options fields');
    }
    rejectUnknown(opts, HTTP_OPTIONS_FIELDS, kp, issues);
    const common = readObject(opts, 'common_http_protocol_options', kp, issues);
    if (common) readCommon(common, joinPath(kp, 'common_http_protocol_options'), issues, out);
    const explicit = readObject(opts, 'explicit_http_config', kp, issues);
    const ep = joinPath(kp, 'explicit_http_config');
    if (!explicit) {
      issues.error(ep, 'is required (auto_config and use_downstream_protocol_config are not supported)');
      continue;
    }
    rejectUnknown(explicit, EXPLICIT_FIELDS, ep, issues);
    const h2 = readObject(explicit, 'http2_protocol_options', ep, issues);
    const h1 = readObject(explicit, 'http_protocol_options', ep, issues);
    if (h2 && h1) issues.error(ep, 'set only one of http_protocol_options and http2_protocol_options');
    if (h2) out.http2 = translateH2(h2, joinPath(ep, 'http2_protocol_options'), issues);
    else if (h1) rejectUnknown(h1, new Set(), joinPath(ep, 'http_protocol_options'), issues);
    else issues.error(ep, 'one of http_protocol_options and http2_protocol_options is required');
  }
  return out;
}

function translateH2(h2: ProtoObject, path: string, issues: Issues): Http2OptionsModel {
  rejectUnknown(h2, H2_FIELDS, path, issues);
  const maxConcurrentStreams = readUint(h2, 'max_concurrent_streams', path, issues, 2147483647, 2147483647);
  if (maxConcurrentStreams === 0)
    issues.error(joinPath(path, 'max_concurrent_streams'), 'must be at least 1');
  const initialStreamWindowSize = readUint(
    h2,
    'initial_stream_window_size',
    path,
    issues,
    268435456,
    2147483647,
  );
  const initialConnectionWindowSize = readUint(
    h2,
    'initial_connection_window_size',
    path,
    issues,
    268435456,
    2147483647,
  );
  for (const [k, v] of [
    ['initial_stream_window_size', initialStreamWindowSize],
    ['initial_connection_window_size', initialConnectionWindowSize],
  ] as const) {
    if (v < 65535) issues.error(joinPath(path, k), 'must be at least 65535');
  }
  return { maxConcurrentStreams, initialStreamWindowSize, initialConnectionWindowSize };
}

function readCommon(common: ProtoObject, path: string, issues: Issues, out: ProtocolChoice): void {
  rejectUnknown(common, COMMON_HTTP_FIELDS, path, issues);
  out.idleTimeoutMs = readDurationMs(common, 'idle_timeout', path, issues, out.idleTimeoutMs);
  out.maxRequestsPerConnection = readUint(common, 'max_requests_per_connection', path, issues, 0);
}
