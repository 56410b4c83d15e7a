import { isObject } from '../../config/fields.js';
import { type Issues, joinPath } from '../../config/issues.js';
import type { ProtoValue } from '../../config/proto-object.js';
import { ResponseFlag } from '../../http/response-flags.js';
import type { StreamInfo } from '../../http/stream-info.js';

/**
 * envoy.config.accesslog.v3.AccessLogFilter: decides per stream whether a logger writes a line.
 * Compiled once into a small tree of objects; evaluating is a few comparisons.
 *
 * Supported: status_code_filter, duration_filter, not_health_check_filter, response_flag_filter,
 * grpc_status_filter, and_filter, or_filter. header_filter is rejected ("not supported yet").
 * RuntimeUInt32 uses its default_value (remora has no runtime layer; runtime_key is ignored).
 */
export interface AccessLogFilter {
  evaluate(info: StreamInfo): boolean;
}

enum Op {
  Eq,
  Ge,
  Le,
}

function compare(op: Op, actual: number, value: number): boolean {
  return op === Op.Eq ? actual === value : op === Op.Ge ? actual >= value : actual <= value;
}

class StatusCodeFilter implements AccessLogFilter {
  constructor(
    private readonly op: Op,
    private readonly value: number,
  ) {}
  evaluate(info: StreamInfo): boolean {
    return compare(this.op, info.responseCode, this.value);
  }
}

class DurationFilter implements AccessLogFilter {
  constructor(
    private readonly op: Op,
    private readonly value: number,
  ) {}
  evaluate(info: StreamInfo): boolean {
    const d = info.durationMs();
    return d >= 0 && compare(this.op, Math.floor(d), this.value);
  }
}

/**
 * Envoy drops requests the health_check HTTP filter answered. remora has no health_check filter
 * yet, so no stream is a health check and this filter passes everything.
 */
class NotHealthCheckFilter implements AccessLogFilter {
  evaluate(): boolean {
    return true;
  }
}

class ResponseFlagFilter implements AccessLogFilter {
  /** 0 means "any flag". */
  constructor(private readonly mask: number) {}
  evaluate(info: StreamInfo): boolean {
    return this.mask === 0 ? info.responseFlags !== 0 : (info.responseFlags & this.mask) !== 0;
  }
}

const GRPC_STATUS_NAMES = [
  'OK',
  'CANCELED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** gRPC's HTTP → status mapping, used when a response carries no grpc-status (as Envoy does). */
function grpcFromHttp(code: number): number {
  switch (code) {
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;
    default:
      return 2;
  }
}

function grpcStatusOf(info: StreamInfo): number {
  const raw = info.responseTrailers['grpc-status'] ?? info.responseHeaders['grpc-status'];
  if (raw !== undefined) {
    const n = Number(Array.isArray(raw) ? raw[0] : raw);
    if (Number.isInteger(n) && n >= 0) return n;
  }
  return info.responseCode > 0 ? grpcFromHttp(info.responseCode) : 2;
}

class GrpcStatusFilter implements AccessLogFilter {
  constructor(
    private readonly statuses: ReadonlySet<number>,
    private readonly exclude: boolean,
  ) {}
  evaluate(info: StreamInfo): boolean {
    const found = this.statuses.has(grpcStatusOf(info));
    return this.exclude ? !found : found;
  }
}

class AndFilter implements AccessLogFilter {
  constructor(private readonly filters: readonly AccessLogFilter[]) {}
  evaluate(info: StreamInfo): boolean {
    for (const f of this.filters) if (!f.evaluate(info)) return false;
    return true;
  }
}

class OrFilter implements AccessLogFilter {
  constructor(private readonly filters: readonly AccessLogFilter[]) {}
  evaluate(info: StreamInfo): boolean {
    for (const f of this.filters) if (f.evaluate(info)) return true;
    return false;
  }
}

const FLAG_BY_SHORT_NAME: Readonly<Record<string, number>> = {
  LH: ResponseFlag.FailedLocalHealthCheck,
  UH: ResponseFlag.NoHealthyUpstream,
  UT: ResponseFlag.UpstreamRequestTimeout,
  LR: ResponseFlag.LocalReset,
  UR: ResponseFlag.UpstreamRemoteReset,
  UF: ResponseFlag.UpstreamConnectionFailure,
  UC: ResponseFlag.UpstreamConnectionTermination,
  UO: ResponseFlag.UpstreamOverflow,
  NR: ResponseFlag.NoRouteFound,
  DI: ResponseFlag.DelayInjected,
  FI: ResponseFlag.FaultInjected,
  RL: ResponseFlag.RateLimited,
  UAEX: ResponseFlag.UnauthorizedExternalService,
  RLSE: ResponseFlag.RateLimitServiceError,
  DC: ResponseFlag.DownstreamConnectionTermination,
  URX: ResponseFlag.UpstreamRetryLimitExceeded,
  SI: ResponseFlag.StreamIdleTimeout,
  IH: ResponseFlag.InvalidEnvoyRequestHeaders,
  DPE: ResponseFlag.DownstreamProtocolError,
  UMSDR: ResponseFlag.UpstreamMaxStreamDurationReached,
  NC: ResponseFlag.NoClusterFound,
  OM: ResponseFlag.OverloadManager,
  DF: ResponseFlag.DnsResolutionFailed,
  DO: ResponseFlag.DropOverload,
  DT: ResponseFlag.DurationTimeout,
  UPE: ResponseFlag.UpstreamProtocolError,
  NFCF: ResponseFlag.NoFilterConfigFound,
};

/** ComparisonFilter {op, value: RuntimeUInt32 {default_value, runtime_key}}. */
function comparison(v: ProtoValue | undefined, path: string, issues: Issues): [Op, number] | null {
  if (!isObject(v)) {
    issues.error(path, 'required: a comparison {op, value}');
    return null;
  }
  const opName = v.op ?? 'EQ';
  const op = opName === 'EQ' ? Op.Eq : opName === 'GE' ? Op.Ge : opName === 'LE' ? Op.Le : null;
  if (op === null) {
    issues.error(joinPath(path, 'op'), `unknown comparison "${String(opName)}"`);
    return null;
  }
  const value = isObject(v.value) ? (v.value.default_value ?? 0) : 0;
  if (typeof value !== 'number') {
    issues.error(joinPath(path, 'value.default_value'), 'must be a number');
    return null;
  }
  return [op, value];
}

function list(v: ProtoValue | undefined, path: string, issues: Issues): AccessLogFilter[] | null {
  if (!Array.isArray(v) || v.length < 2) {
    issues.error(path, 'needs at least two filters');
    return null;
  }
  const out: AccessLogFilter[] = [];
  for (let i = 0; i < v.length; i++) {
    const f = compileAccessLogFilter(v[i], joinPath(path, i), issues);
    if (f === null) return null;
    out.push(f);
  }
  return out;
}

/** AccessLogFilter → evaluator; null (with issues) when invalid or unsupported. */
export function compileAccessLogFilter(
  v: ProtoValue | undefined,
  path: string,
  issues: Issues,
): AccessLogFilter | null {
  if (!isObject(v)) {
    issues.error(path, 'must be an AccessLogFilter');
    return null;
  }
  const keys = Object.keys(v).filter((k) => v[k] !== undefined);
  if (keys.length !== 1) {
    issues.error(
      path,
      keys.length === 0 ? 'one filter type is required' : `only one of ${keys.join(', ')} may be set`,
    );
    return null;
  }
  const key = keys[0];
  const p = joinPath(path, key);
  const body = v[key];
  switch (key) {
    case 'status_code_filter':
    case 'duration_filter': {
      const c = comparison(isObject(body) ? body.comparison : undefined, joinPath(p, 'comparison'), issues);
      if (c === null) return null;
      return key === 'status_code_filter' ? new StatusCodeFilter(c[0], c[1]) : new DurationFilter(c[0], c[1]);
    }
    case 'not_health_check_filter':
      return new NotHealthCheckFilter();
    case 'response_flag_filter': {
      const flags = isObject(body) && Array.isArray(body.flags) ? body.flags : [];
      let mask = 0;
      for (let i = 0; i < flags.length; i++) {
        const bit = typeof flags[i] === 'string' ? FLAG_BY_SHORT_NAME[flags[i] as string] : undefined;
        if (bit === undefined) {
          issues.error(joinPath(joinPath(p, 'flags'), i), `unknown response flag "${String(flags[i])}"`);
          return null;
        }
        mask |= bit;
      }
      return new ResponseFlagFilter(mask);
    }
    case 'grpc_status_filter': {
      const names = isObject(body) && Array.isArray(body.statuses) ? body.statuses : [];
      const set = new Set<number>();
      for (let i = 0; i < names.length; i++) {
        const n = names[i];
        const code = typeof n === 'number' ? n : GRPC_STATUS_NAMES.indexOf(String(n));
        if (code < 0 || code >= GRPC_STATUS_NAMES.length) {
          issues.error(joinPath(joinPath(p, 'statuses'), i), `unknown gRPC status "${String(n)}"`);
          return null;
        }
        set.add(code);
      }
      return new GrpcStatusFilter(set, isObject(body) && body.exclude === true);
    }
    case 'and_filter':
    case 'or_filter': {
      const fs = list(isObject(body) ? body.filters : undefined, joinPath(p, 'filters'), issues);
      if (fs === null) return null;
      return key === 'and_filter' ? new AndFilter(fs) : new OrFilter(fs);
    }
    default:
      issues.error(p, 'this access log filter is not supported yet');
      return null;
  }
}
