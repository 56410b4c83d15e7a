import type { Issues } from '../../../../config/issues.js';
import { joinPath } from '../../../../config/issues.js';
import type { ProtoObject } from '../../../../config/proto-object.js';
import type { Http2SettingsModel } from '../../../../model/listener.js';

/**
 * The connection manager's downstream protocol options. Each sub-field is either applied to the
 * downstream codec or an error at its path: none is accepted and ignored.
 */

/**
 * Http1ProtocolOptions (downstream). remora's HTTP/1 codec always accepts HTTP/1.0 requests and
 * always forwards HTTP/1 chunked trailers, so accept_http_10: true and enable_trailers: true
 * describe it and are accepted; their default false is not enforced (a documented difference from
 * Envoy, which answers HTTP/1.0 with 426 and drops trailers). default_host_for_http_10 (a Host for
 * HTTP/1.0 requests without one) is not implemented: refused.
 */
export function translateDownstreamHttp1(o: ProtoObject | undefined, path: string, issues: Issues): void {
  if (o === undefined) return;
  if (typeof o.default_host_for_http_10 === 'string' && o.default_host_for_http_10 !== '')
    issues.error(joinPath(path, 'default_host_for_http_10'), 'not supported by remora');
}

// RFC 9113 §6.5.2: windows up to 2^31-1; Envoy's lower bound for both windows is 65535.
const MAX_WINDOW = 2 ** 31 - 1;
const MIN_WINDOW = 65535;

function u32(
  o: ProtoObject,
  key: string,
  path: string,
  issues: Issues,
  min: number,
  max: number,
): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    issues.error(joinPath(path, key), `must be in ${min}..${max}`);
    return undefined;
  }
  return v;
}

/**
 * Http2ProtocolOptions (downstream) → the HTTP/2 settings remora's codec applies to each
 * session: hpack_table_size (SETTINGS_HEADER_TABLE_SIZE), max_concurrent_streams,
 * initial_stream_window_size and initial_connection_window_size. connection_keepalive (PING
 * keepalive) is refused.
 */
export function translateDownstreamHttp2(
  o: ProtoObject | undefined,
  path: string,
  issues: Issues,
): Http2SettingsModel | undefined {
  if (o === undefined) return undefined;
  if (o.connection_keepalive !== undefined)
    issues.error(joinPath(path, 'connection_keepalive'), 'not supported by remora');
  const out: {
    hpackTableSize?: number;
    maxConcurrentStreams?: number;
    initialStreamWindowSize?: number;
    initialConnectionWindowSize?: number;
  } = {};
  const hpack = u32(o, 'hpack_table_size', path, issues, 0, 2 ** 32 - 1);
  if (hpack !== undefined) out.hpackTableSize = hpack;
  const streams = u32(o, 'max_concurrent_streams', path, issues, 1, MAX_WINDOW);
  if (streams !== undefined) out.maxConcurrentStreams = streams;
  const sw = u32(o, 'initial_stream_window_size', path, issues, MIN_WINDOW, MAX_WINDOW);
  if (sw !== undefined) out.initialStreamWindowSize = sw;
  const cw = u32(o, 'initial_connection_window_size', path, issues, MIN_WINDOW, MAX_WINDOW);
  if (cw !== undefined) out.initialConnectionWindowSize = cw;
  return out;
}
