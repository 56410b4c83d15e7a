import { isObject, rejectUnknown } from '../../../../config/fields.js';
import { type Issues, joinPath } from '../../../../config/issues.js';
import type { ProtoObject, ProtoValue } from '../../../../config/proto-object.js';
import type { FilterFactoryContext } from '../../../../http/filter.js';
import { Counter, Gauge } from '../../../../observability/stats.js';
import { HeaderMatcher } from '../../../../router/matchers.js';
import { translateHeaderMatcher } from '../../../../router/translate-match.js';

/** How a field remora does not implement is reported (tests match it). */
const NOT_SUPPORTED = 'field not supported by remora';

/** A FractionalPercent as a probability in [0, 1] and its denominator (for header overrides). */
export interface Fraction {
  readonly numerator: number;
  readonly denominator: number;
}

export interface FaultConfig {
  /** null: no delay. fixedMs -1 means "from the x-envoy-fault-delay-request header". */
  readonly delay: { readonly fixedMs: number; readonly percentage: Fraction } | null;
  /** null: no abort. httpStatus / grpcStatus -1 when unused; both -1 → from the request headers. */
  readonly abort: {
    readonly httpStatus: number;
    readonly grpcStatus: number;
    readonly percentage: Fraction;
  } | null;
  /**
   * response_rate_limit: the response body at `kibPerSecond` (limit_kbps is KiB/s in Envoy); -1
   * means "from the x-envoy-fault-throughput-response header" (header_limit). null: none.
   */
  readonly responseRateLimit: { readonly kibPerSecond: number; readonly percentage: Fraction } | null;
  /** upstream_cluster: faults only for requests routed to this cluster ('' = any). */
  readonly upstreamCluster: string;
  readonly headers: readonly HeaderMatcher[];
  /** max_active_faults; Infinity when unset. */
  readonly maxActiveFaults: number;
  /** Counters of this filter config (Envoy's fault.<prefix>.* names); see FaultStats. */
  readonly stats: FaultStats;
}

/**
 * Envoy's fault filter stats under its names, `http.<stat_prefix>.fault.*`, in the connection
 * manager's store. Without a factory context (bare config validation) they are standalone objects
 * no store lists.
 */
export class FaultStats {
  readonly delays_injected: Counter;
  readonly aborts_injected: Counter;
  readonly faults_overflow: Counter;
  readonly response_rl_injected: Counter;
  readonly active_faults: Gauge;

  constructor(ctx?: FilterFactoryContext) {
    const p = `${ctx?.statPrefix ?? ''}fault.`;
    const s = ctx?.stats;
    this.delays_injected = s?.counter(`${p}delays_injected`) ?? new Counter(`${p}delays_injected`);
    this.aborts_injected = s?.counter(`${p}aborts_injected`) ?? new Counter(`${p}aborts_injected`);
    this.faults_overflow = s?.counter(`${p}faults_overflow`) ?? new Counter(`${p}faults_overflow`);
    this.response_rl_injected =
      s?.counter(`${p}response_rl_injected`) ?? new Counter(`${p}response_rl_injected`);
    this.active_faults = s?.gauge(`${p}active_faults`) ?? new Gauge(`${p}active_faults`);
  }
}

const DENOMINATORS: Readonly<Record<string, number>> = {
  HUNDRED: 100,
  TEN_THOUSAND: 10_000,
  MILLION: 1_000_000,
};

/** FractionalPercent; absent means 0% (the proto default), as in Envoy. */
function fraction(v: ProtoValue | undefined, path: string, issues: Issues): Fraction {
  if (v === undefined || v === null) return { numerator: 0, denominator: 100 };
  if (!isObject(v)) {
    issues.error(path, 'must be a message');
    return { numerator: 0, denominator: 100 };
  }
  rejectUnknown(v, ['numerator', 'denominator'], path, issues, NOT_SUPPORTED);
  const d = DENOMINATORS[typeof v.denominator === 'string' ? v.denominator : 'HUNDRED'];
  if (d === undefined)
    issues.error(joinPath(path, 'denominator'), 'must be HUNDRED, TEN_THOUSAND or MILLION');
  const n = v.numerator ?? 0;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
    issues.error(joinPath(path, 'numerator'), 'must be a non-negative integer');
  const denominator = d ?? 100;
  // Envoy caps the numerator at the denominator.
  return { numerator: Math.min(typeof n === 'number' ? n : 0, denominator), denominator };
}

/** envoy.extensions.filters.http.fault.v3.HTTPFault. */
export function parseFaultConfig(
  c: ProtoObject,
  path: string,
  issues: Issues,
  ctx?: FilterFactoryContext,
): FaultConfig {
  rejectUnknown(
    c,
    ['@type', 'delay', 'abort', 'upstream_cluster', 'headers', 'max_active_faults', 'response_rate_limit'],
    path,
    issues,
    NOT_SUPPORTED,
  );
  let delay: FaultConfig['delay'] = null;
  if (c.delay !== undefined && c.delay !== null) {
    const dp = joinPath(path, 'delay');
    const d = c.delay;
    if (!isObject(d)) issues.error(dp, 'must be a message');
    else {
      rejectUnknown(d, ['fixed_delay', 'header_delay', 'percentage'], dp, issues, NOT_SUPPORTED);
      let fixedMs = -1;
      if (d.fixed_delay !== undefined && d.fixed_delay !== null) {
        if (typeof d.fixed_delay !== 'number' || !(d.fixed_delay > 0))
          issues.error(joinPath(dp, 'fixed_delay'), 'must be a positive duration');
        else fixedMs = d.fixed_delay;
      } else if (d.header_delay === undefined || d.header_delay === null) {
        issues.error(dp, 'one of fixed_delay, header_delay is required');
      }
      delay = { fixedMs, percentage: fraction(d.percentage, joinPath(dp, 'percentage'), issues) };
    }
  }
  let abort: FaultConfig['abort'] = null;
  if (c.abort !== undefined && c.abort !== null) {
    const ap = joinPath(path, 'abort');
    const a = c.abort;
    if (!isObject(a)) issues.error(ap, 'must be a message');
    else {
      rejectUnknown(
        a,
        ['http_status', 'grpc_status', 'header_abort', 'percentage'],
        ap,
        issues,
        NOT_SUPPORTED,
      );
      let httpStatus = -1;
      let grpcStatus = -1;
      if (typeof a.http_status === 'number') {
        if (a.http_status < 200 || a.http_status >= 600)
          issues.error(joinPath(ap, 'http_status'), 'must be in [200, 600)');
        httpStatus = a.http_status;
      } else if (typeof a.grpc_status === 'number') grpcStatus = a.grpc_status;
      else if (a.header_abort === undefined || a.header_abort === null)
        issues.error(ap, 'one of http_status, grpc_status, header_abort is required');
      abort = {
        httpStatus,
        grpcStatus,
        percentage: fraction(a.percentage, joinPath(ap, 'percentage'), issues),
      };
    }
  }
  let responseRateLimit: FaultConfig['responseRateLimit'] = null;
  if (c.response_rate_limit !== undefined && c.response_rate_limit !== null) {
    const rp = joinPath(path, 'response_rate_limit');
    const r = c.response_rate_limit;
    if (!isObject(r)) issues.error(rp, 'must be a message');
    else {
      rejectUnknown(r, ['fixed_limit', 'header_limit', 'percentage'], rp, issues, NOT_SUPPORTED);
      let kibPerSecond = -1;
      if (r.fixed_limit !== undefined && r.fixed_limit !== null) {
        const f = r.fixed_limit;
        const k = isObject(f) ? Number(f.limit_kbps ?? 0) : 0;
        if (!Number.isInteger(k) || k < 1)
          issues.error(joinPath(rp, 'fixed_limit.limit_kbps'), 'must be at least 1');
        else kibPerSecond = k;
      } else if (r.header_limit === undefined || r.header_limit === null) {
        issues.error(rp, 'one of fixed_limit, header_limit is required');
      }
      responseRateLimit = {
        kibPerSecond,
        percentage: fraction(r.percentage, joinPath(rp, 'percentage'), issues),
      };
    }
  }
  const headers: HeaderMatcher[] = [];
  const hs = c.headers;
  if (Array.isArray(hs)) {
    hs.forEach((h, i) => {
      const hp = joinPath(joinPath(path, 'headers'), i);
      if (!isObject(h)) issues.error(hp, 'must be a message');
      else {
        const m = translateHeaderMatcher(h, hp, issues);
        if (m !== null) headers.push(new HeaderMatcher(m));
      }
    });
  }
  const maf = c.max_active_faults;
  let maxActiveFaults = Number.POSITIVE_INFINITY;
  if (maf !== undefined && maf !== null) {
    if (typeof maf !== 'number' || !Number.isInteger(maf) || maf < 0)
      issues.error(joinPath(path, 'max_active_faults'), 'must be a non-negative integer');
    else maxActiveFaults = maf;
  }
  return {
    delay,
    abort,
    responseRateLimit,
    upstreamCluster: typeof c.upstream_cluster === 'string' ? c.upstream_cluster : '',
    headers,
    maxActiveFaults,
    stats: new FaultStats(ctx),
  };
}
