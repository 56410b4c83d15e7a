import type { OutgoingHttpHeaders } from 'node:http';
import { type Issues, joinPath } from '../config/issues.js';
import type { ProtoObject } from '../config/proto-object.js';
import { checkFields, readDurationMs, readMessage } from './proto-read.js';

/**
 * RouteAction.max_stream_duration.grpc_timeout_header_max / _offset (Envoy's successor of
 * max_grpc_timeout): for a gRPC request the route's timeout becomes the client's grpc-timeout
 * (infinite when the header is absent), capped by the maximum (0: no cap), minus the offset; the
 * header sent upstream carries the timeout that applies.
 */
export interface GrpcTimeoutModel {
  /** 0: no cap. */
  readonly maxMs: number;
  readonly offsetMs: number;
}

/** The max_stream_duration fields remora implements; spread into the action model. */
export function translateMaxStreamDuration(
  msg: ProtoObject,
  path: string,
  issues: Issues,
): { grpcTimeout?: GrpcTimeoutModel; maxStreamDurationMs?: number } {
  const m = readMessage(msg, 'max_stream_duration', path, issues);
  if (m === null) return {};
  const p = joinPath(path, 'max_stream_duration');
  checkFields(m, ['max_stream_duration', 'grpc_timeout_header_max', 'grpc_timeout_header_offset'], p, issues);
  const out: { grpcTimeout?: GrpcTimeoutModel; maxStreamDurationMs?: number } = {};
  // max_stream_duration: the whole stream's lifetime on this route (0 or unset: none; the
  // connection manager's own max_stream_duration is refused, so there is nothing to disable).
  const d = readDurationMs(m, 'max_stream_duration', p, issues, 0);
  if (d > 0) out.maxStreamDurationMs = d;
  if (m.grpc_timeout_header_max === undefined || m.grpc_timeout_header_max === null) return out;
  out.grpcTimeout = {
    maxMs: readDurationMs(m, 'grpc_timeout_header_max', p, issues, 0),
    offsetMs: readDurationMs(m, 'grpc_timeout_header_offset', p, issues, 0),
  };
  return out;
}

const UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000001,
};

/** A grpc-timeout value ("100m", "5S") in ms, or -1 when absent or malformed (gRPC: 1–8 digits + unit). */
export function parseGrpcTimeout(v: string | string[] | number | undefined): number {
  const s = Array.isArray(v) ? v[0] : v;
  if (typeof s !== 'string' || s.length < 2 || s.length > 9) return -1;
  const unit = UNIT_MS[s[s.length - 1]];
  const digits = s.slice(0, -1);
  if (unit === undefined || !/^[0-9]+$/.test(digits)) return -1;
  return Math.ceil(Number(digits) * unit);
}

/** grpc-timeout in the largest unit that keeps it exact within 8 digits (ms resolution). */
function formatGrpcTimeout(ms: number): string {
  if (ms < 100_000_000) return `${ms}m`;
  const s = Math.ceil(ms / 1000);
  if (s < 100_000_000) return `${s}S`;
  return `${Math.ceil(s / 60)}M`;
}

/**
 * The timeout for a gRPC request on a route with grpc_timeout_header_max, updating the
 * grpc-timeout header that goes upstream. 0 means no timeout.
 */
export function grpcRouteTimeoutMs(headers: OutgoingHttpHeaders, cfg: GrpcTimeoutModel): number {
  const client = parseGrpcTimeout(headers['grpc-timeout'] as string | string[] | undefined);
  let t = Math.max(client, 0);
  if (cfg.maxMs > 0 && (t === 0 || t > cfg.maxMs)) t = cfg.maxMs;
  if (t > 0 && cfg.offsetMs > 0) t = t > cfg.offsetMs ? t - cfg.offsetMs : 1;
  if (t > 0) headers['grpc-timeout'] = formatGrpcTimeout(t);
  return t;
}
