import {
  asNumber,
  asObject,
  isObject,
  readArray,
  readBool,
  readDurationMs,
  readEnum,
  readMessages,
  readObject,
  readString,
  readUint,
  rejectUnknown,
} from '../../config/fields.js';
import { type Issues, joinPath } from '../../config/issues.js';
import type { ProtoObject, ProtoValue } from '../../config/proto-object.js';

/** envoy.config.core.v3.HealthCheck as the active checker uses it (durations in ms). */
export interface HealthCheckModel {
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly intervalJitterMs: number;
  readonly intervalJitterPercent: number;
  readonly initialJitterMs: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  readonly noTrafficIntervalMs: number;
  readonly noTrafficHealthyIntervalMs: number;
  readonly unhealthyIntervalMs: number;
  readonly unhealthyEdgeIntervalMs: number;
  readonly healthyEdgeIntervalMs: number;
  /** alt_port: probe this port instead of the host's; 0 = the host's port. */
  readonly altPort: number;
  readonly alwaysLogHealthCheckFailures: boolean;
  /** event_log_path: append JSON health events here ('' = none). */
  readonly eventLogPath: string;
  /** reuse_connection (default true): HTTP/1 checks keep one keep-alive connection per host. */
  readonly reuseConnection?: boolean;
  readonly check: HttpCheckModel | TcpCheckModel | GrpcCheckModel;
}

export interface HttpCheckModel {
  readonly kind: 'http';
  /** Host header; '' → the cluster name (Envoy's default). */
  readonly host: string;
  readonly path: string;
  readonly method: string;
  /** Half-open [start, end) status ranges; default [[200, 201]]. */
  readonly expectedStatuses: ReadonlyArray<readonly [number, number]>;
  readonly requestHeadersToAdd: ReadonlyArray<readonly [string, string]>;
  readonly requestHeadersToRemove: readonly string[];
  readonly http2: boolean;
}

export interface TcpCheckModel {
  readonly kind: 'tcp';
  /** Bytes to send after connecting, or null. */
  readonly send: Buffer | null;
  /** Blocks that must appear in the response, in order (not necessarily contiguous). */
  readonly receive: readonly Buffer[];
}

export interface GrpcCheckModel {
  readonly kind: 'grpc';
  readonly serviceName: string;
  /** :authority; '' → the cluster name. */
  readonly authority: string;
}

const FIELDS = new Set([
  'timeout',
  'interval',
  'interval_jitter',
  'interval_jitter_percent',
  'initial_jitter',
  'unhealthy_threshold',
  'healthy_threshold',
  'no_traffic_interval',
  'no_traffic_healthy_interval',
  'unhealthy_interval',
  'unhealthy_edge_interval',
  'healthy_edge_interval',
  'alt_port',
  'reuse_connection',
  'always_log_health_check_failures',
  'event_log_path',
  'http_health_check',
  'tcp_health_check',
  'grpc_health_check',
]);
const HTTP_FIELDS = new Set([
  'host',
  'path',
  'request_headers_to_add',
  'request_headers_to_remove',
  'expected_statuses',
  'codec_client_type',
  'method',
]);
const TCP_FIELDS = new Set(['send', 'receive']);
const GRPC_FIELDS = new Set(['service_name', 'authority']);
const METHODS = [
  'METHOD_UNSPECIFIED',
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'PATCH',
] as const;

export function translateHealthCheck(o: ProtoObject, path: string, issues: Issues): HealthCheckModel | null {
  const before = issues.errorCount;
  rejectUnknown(o, FIELDS, path, issues);
  const need = (k: string) => {
    if (o[k] === undefined || o[k] === null) issues.error(joinPath(path, k), 'is required');
  };
  for (const k of ['timeout', 'interval', 'unhealthy_threshold', 'healthy_threshold']) need(k);
  const d = (k: string, dflt: number) => readDurationMs(o, k, path, issues, dflt);
  const timeoutMs = d('timeout', 1000);
  const intervalMs = d('interval', 1000);
  if (o.timeout !== undefined && timeoutMs <= 0) issues.error(joinPath(path, 'timeout'), 'must be positive');
  if (o.interval !== undefined && intervalMs <= 0)
    issues.error(joinPath(path, 'interval'), 'must be positive');
  const noTrafficIntervalMs = d('no_traffic_interval', 60_000);
  const unhealthyIntervalMs = d('unhealthy_interval', intervalMs);
  const kinds = ['http_health_check', 'tcp_health_check', 'grpc_health_check'].filter((k) => o[k] != null);
  if (kinds.length !== 1) {
    issues.error(path, 'exactly one of http_health_check, tcp_health_check, grpc_health_check is required');
  }
  let check: HealthCheckModel['check'] | null = null;
  const which = kinds[0];
  const wp = joinPath(path, which ?? '');
  const body = which === undefined ? undefined : readObject(o, which, path, issues);
  if (body !== undefined && which === 'http_health_check') check = translateHttp(body, wp, issues);
  else if (body !== undefined && which === 'tcp_health_check') check = translateTcp(body, wp, issues);
  else if (body !== undefined && which === 'grpc_health_check') {
    rejectUnknown(body, GRPC_FIELDS, wp, issues);
    check = {
      kind: 'grpc',
      serviceName: readString(body, 'service_name', wp, issues),
      authority: readString(body, 'authority', wp, issues),
    };
  }
  const altPort = readUint(o, 'alt_port', path, issues, 0, 65535);
  const jitterPct = readUint(o, 'interval_jitter_percent', path, issues, 0);
  if (jitterPct > 100) issues.error(joinPath(path, 'interval_jitter_percent'), 'must be at most 100');
  const unhealthyThreshold = readUint(o, 'unhealthy_threshold', path, issues, 1);
  const healthyThreshold = readUint(o, 'healthy_threshold', path, issues, 1);
  if (unhealthyThreshold === 0) issues.error(joinPath(path, 'unhealthy_threshold'), 'must be at least 1');
  if (healthyThreshold === 0) issues.error(joinPath(path, 'healthy_threshold'), 'must be at least 1');
  const reuseConnection = readBool(o, 'reuse_connection', path, issues, true);
  if (issues.errorCount !== before || check === null) return null;
  return {
    timeoutMs,
    intervalMs,
    intervalJitterMs: d('interval_jitter', 0),
    intervalJitterPercent: jitterPct,
    initialJitterMs: d('initial_jitter', 0),
    unhealthyThreshold,
    healthyThreshold,
    noTrafficIntervalMs,
    noTrafficHealthyIntervalMs: d('no_traffic_healthy_interval', noTrafficIntervalMs),
    unhealthyIntervalMs,
    unhealthyEdgeIntervalMs: d('unhealthy_edge_interval', unhealthyIntervalMs),
    healthyEdgeIntervalMs: d('healthy_edge_interval', intervalMs),
    altPort,
    alwaysLogHealthCheckFailures: readBool(o, 'always_log_health_check_failures', path, issues),
    eventLogPath: readString(o, 'event_log_path', path, issues),
    reuseConnection,
    check,
  };
}

function translateHttp(h: ProtoObject, path: string, issues: Issues): HttpCheckModel {
  rejectUnknown(h, HTTP_FIELDS, path, issues);
  const p = readString(h, 'path', path, issues);
  if (p === '') issues.error(joinPath(path, 'path'), 'is required');
  else if (!p.startsWith('/') || hasSpaceOrControl(p))
    issues.error(joinPath(path, 'path'), 'must be an absolute path without spaces or control characters');
  const host = readString(h, 'host', path, issues);
  if (hasSpaceOrControl(host))
    issues.error(joinPath(path, 'host'), 'must not contain spaces or control characters');
  const method = readEnum(h, 'method', path, issues, METHODS, 'METHOD_UNSPECIFIED');
  const statuses: Array<readonly [number, number]> = [];
  for (const [r, rp] of readMessages(h, 'expected_statuses', path, issues)) {
    const start = asNumber(r.start, 0);
    const end = asNumber(r.end, 0);
    if (start < 100 || end > 600 || start >= end)
      issues.error(rp, 'must be a range [start, end) within [100, 600)');
    else statuses.push([start, end]);
  }
  const add: Array<readonly [string, string]> = [];
  const adds = readArray(h, 'request_headers_to_add', path, issues);
  for (let i = 0; i < adds.length; i++) {
    const ap = joinPath(joinPath(path, 'request_headers_to_add'), i);
    const hv = headerOf(adds[i]);
    if (hv === null) issues.error(joinPath(ap, 'header'), 'must have a valid key and value');
    else add.push(hv);
  }
  const remove = readArray(h, 'request_headers_to_remove', path, issues).filter(
    (v): v is string => typeof v === 'string',
  );
  const codec = readEnum(h, 'codec_client_type', path, issues, ['HTTP1', 'HTTP2'] as const, 'HTTP1');
  return {
    kind: 'http',
    host,
    path: p,
    method: method === 'METHOD_UNSPECIFIED' ? 'GET' : method,
    expectedStatuses: statuses.length > 0 ? statuses : [[200, 201]],
    requestHeadersToAdd: add,
    requestHeadersToRemove: remove.map((r) => r.toLowerCase()),
    http2: codec === 'HTTP2',
  };
}

function headerOf(v: ProtoValue): readonly [string, string] | null {
  const hdr = isObject(v) ? asObject(v.header) : undefined;
  if (hdr === undefined) return null;
  const k = hdr.key;
  const val = hdr.value ?? '';
  if (typeof k !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k) || typeof val !== 'string')
    return null;
  if (hasControl(val)) return null;
  return [k.toLowerCase(), val];
}

function translateTcp(t: ProtoObject, path: string, issues: Issues): TcpCheckModel {
  rejectUnknown(t, TCP_FIELDS, path, issues);
  const sendObj = readObject(t, 'send', path, issues);
  const send = sendObj === undefined ? null : payload(sendObj, joinPath(path, 'send'), issues);
  const receive: Buffer[] = [];
  for (const [r, rp] of readMessages(t, 'receive', path, issues)) {
    const b = payload(r, rp, issues);
    if (b !== null) receive.push(b);
  }
  return { kind: 'tcp', send, receive };
}

/** HealthCheck.Payload: `text` is hex, `binary` raw bytes. */
function payload(p: ProtoObject, path: string, issues: Issues): Buffer | null {
  rejectUnknown(p, new Set(['text', 'binary']), path, issues);
  if (Buffer.isBuffer(p.binary)) return p.binary;
  const text = p.text;
  if (typeof text === 'string') {
    if (text.length === 0 || text.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(text)) {
      issues.error(joinPath(path, 'text'), 'must be a non-empty hex string');
      return null;
    }
    return Buffer.from(text, 'hex');
  }
  issues.error(path, 'one of text, binary is required');
  return null;
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function hasSpaceOrControl(s: string): boolean {
  return s.includes(' ') || hasControl(s);
}
