import type { IncomingHttpHeaders } from 'node:http';
import { type Issues, joinPath } from '../config/issues.js';
import type { ProtoObject } from '../config/proto-object.js';
import { HeaderMatcher } from './matchers.js';
import {
  checkFields,
  readDurationMs,
  readInt,
  readList,
  readMessage,
  readMessages,
  readString,
} from './proto-read.js';
import type { HeaderMatcherModel } from './route-model.js';
import { translateHeaderMatcher } from './translate-match.js';

/** retry_on conditions as bits (Envoy's x-envoy-retry-on / x-envoy-retry-grpc-on names). */
export const RetryOn = {
  FiveXx: 1 << 0,
  GatewayError: 1 << 1,
  Reset: 1 << 2,
  ConnectFailure: 1 << 3,
  Retriable4xx: 1 << 4,
  RefusedStream: 1 << 5,
  RetriableStatusCodes: 1 << 6,
  RetriableHeaders: 1 << 7,
  EnvoyRateLimited: 1 << 8,
  GrpcCancelled: 1 << 9,
  GrpcDeadlineExceeded: 1 << 10,
  GrpcResourceExhausted: 1 << 11,
  GrpcUnavailable: 1 << 12,
  GrpcInternal: 1 << 13,
  ResetBeforeRequest: 1 << 14,
} as const;

const NAMES: Readonly<Record<string, number>> = {
  '5xx': RetryOn.FiveXx,
  'gateway-error': RetryOn.GatewayError,
  reset: RetryOn.Reset,
  'reset-before-request': RetryOn.ResetBeforeRequest,
  'connect-failure': RetryOn.ConnectFailure,
  'retriable-4xx': RetryOn.Retriable4xx,
  'refused-stream': RetryOn.RefusedStream,
  'retriable-status-codes': RetryOn.RetriableStatusCodes,
  'retriable-headers': RetryOn.RetriableHeaders,
  'envoy-ratelimited': RetryOn.EnvoyRateLimited,
  cancelled: RetryOn.GrpcCancelled,
  'deadline-exceeded': RetryOn.GrpcDeadlineExceeded,
  'resource-exhausted': RetryOn.GrpcResourceExhausted,
  unavailable: RetryOn.GrpcUnavailable,
  internal: RetryOn.GrpcInternal,
};

/** Parses a comma-separated retry_on list; unknown names are returned apart. */
export function parseRetryOn(s: string): { bits: number; unknown: string[] } {
  let bits = 0;
  const unknown: string[] = [];
  for (const raw of s.split(',')) {
    const n = raw.trim();
    if (n === '') continue;
    const b = NAMES[n];
    if (b === undefined) unknown.push(n);
    else bits |= b;
  }
  return { bits, unknown };
}

export interface RetryPolicyModel {
  readonly retryOn: number;
  readonly numRetries: number;
  /** 0: no per-try timeout. */
  readonly perTryTimeoutMs: number;
  readonly backOffBaseMs: number;
  readonly backOffMaxMs: number;
  readonly retriableStatusCodes: readonly number[];
  readonly retriableHeaders: readonly HeaderMatcherModel[];
  /** retry_host_predicate envoy.retry_host_predicates.previous_hosts is configured. */
  readonly previousHosts: boolean;
  readonly hostSelectionRetryMaxAttempts: number;
}

const FIELDS = [
  'retry_on',
  'num_retries',
  'per_try_timeout',
  'retry_host_predicate',
  'host_selection_retry_max_attempts',
  'retriable_status_codes',
  'retry_back_off',
  'retriable_headers',
];
const PREVIOUS_HOSTS = 'envoy.retry_host_predicates.previous_hosts';
const PREVIOUS_HOSTS_TYPE = 'envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';

/** envoy.config.route.v3.RetryPolicy (route or virtual host level). */
export function translateRetryPolicy(msg: ProtoObject, path: string, issues: Issues): RetryPolicyModel {
  checkFields(msg, FIELDS, path, issues);
  const on = parseRetryOn(readString(msg, 'retry_on', path, issues));
  if (on.unknown.length > 0)
    issues.error(joinPath(path, 'retry_on'), `unknown retry condition(s): ${on.unknown.join(', ')}`);
  const nr = msg.num_retries;
  let numRetries = 1;
  if (nr !== undefined && nr !== null) {
    if (typeof nr !== 'number' || !Number.isInteger(nr) || nr < 0)
      issues.error(joinPath(path, 'num_retries'), 'must be a non-negative integer');
    else numRetries = nr;
  }
  const perTryTimeoutMs = readDurationMs(msg, 'per_try_timeout', path, issues, 0);
  let backOffBaseMs = 25;
  let backOffMaxMs = 250;
  const bo = readMessage(msg, 'retry_back_off', path, issues);
  if (bo !== null) {
    const bp = joinPath(path, 'retry_back_off');
    checkFields(bo, ['base_interval', 'max_interval'], bp, issues);
    if (bo.base_interval === undefined) issues.error(joinPath(bp, 'base_interval'), 'is required');
    backOffBaseMs = readDurationMs(bo, 'base_interval', bp, issues, 25);
    if (backOffBaseMs <= 0) issues.error(joinPath(bp, 'base_interval'), 'must be positive');
    backOffMaxMs = readDurationMs(bo, 'max_interval', bp, issues, backOffBaseMs * 10);
    if (backOffMaxMs < backOffBaseMs)
      issues.error(joinPath(bp, 'max_interval'), 'must not be smaller than base_interval');
  }
  const codes: number[] = [];
  const list = readList(msg, 'retriable_status_codes', path, issues);
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 100 || c > 599)
      issues.error(joinPath(joinPath(path, 'retriable_status_codes'), i), 'must be an HTTP status code');
    else codes.push(c);
  }
  const headers: HeaderMatcherModel[] = [];
  for (const [h, hp] of readMessages(msg, 'retriable_headers', path, issues)) {
    const m = translateHeaderMatcher(h, hp, issues);
    if (m !== null) headers.push(m);
  }
  let previousHosts = false;
  for (const [p, pp] of readMessages(msg, 'retry_host_predicate', path, issues)) {
    checkFields(p, ['name', 'typed_config'], pp, issues);
    const name = readString(p, 'name', pp, issues);
    const tc = readMessage(p, 'typed_config', pp, issues);
    const type = tc === null ? '' : String(tc['@type'] ?? '');
    if (name === PREVIOUS_HOSTS || type.endsWith(`/${PREVIOUS_HOSTS_TYPE}`)) previousHosts = true;
    else issues.error(pp, `retry host predicate ${name || type} is not supported (only ${PREVIOUS_HOSTS})`);
  }
  const attempts = readInt(msg, 'host_selection_retry_max_attempts', path, issues, 1);
  return {
    retryOn: on.bits,
    numRetries,
    perTryTimeoutMs,
    backOffBaseMs,
    backOffMaxMs,
    retriableStatusCodes: codes,
    retriableHeaders: headers,
    previousHosts,
    hostSelectionRetryMaxAttempts: attempts > 0 ? attempts : 1,
  };
}

const GRPC_CODES: ReadonlyArray<readonly [number, number]> = [
  [1, RetryOn.GrpcCancelled],
  [4, RetryOn.GrpcDeadlineExceeded],
  [8, RetryOn.GrpcResourceExhausted],
  [13, RetryOn.GrpcInternal],
  [14, RetryOn.GrpcUnavailable],
];

/** A retry policy compiled once on the control path; the router asks it about each attempt. */
export class RetryPolicy {
  readonly retryOn: number;
  readonly numRetries: number;
  readonly perTryTimeoutMs: number;
  readonly backOffBaseMs: number;
  readonly backOffMaxMs: number;
  readonly previousHosts: boolean;
  readonly hostSelectionRetryMaxAttempts: number;
  private readonly codes: ReadonlySet<number>;
  private readonly headers: readonly HeaderMatcher[];

  constructor(readonly model: RetryPolicyModel) {
    const m = model;
    this.retryOn = m.retryOn;
    this.numRetries = m.numRetries;
    this.perTryTimeoutMs = m.perTryTimeoutMs;
    this.backOffBaseMs = m.backOffBaseMs;
    this.backOffMaxMs = m.backOffMaxMs;
    this.previousHosts = m.previousHosts;
    this.hostSelectionRetryMaxAttempts = m.hostSelectionRetryMaxAttempts;
    this.codes = new Set(m.retriableStatusCodes);
    this.headers = m.retriableHeaders.map((h) => new HeaderMatcher(h));
  }

  static compile(m: RetryPolicyModel | undefined | null): RetryPolicy | null {
    return m === undefined || m === null ? null : new RetryPolicy(m);
  }

  /** Whether a response with this status and these headers should be retried. */
  retriableResponse(status: number, headers: IncomingHttpHeaders): boolean {
    const on = this.retryOn;
    // The upstream said it is overloaded: retrying would make that worse (Envoy's rule).
    if (headers['x-envoy-overloaded'] !== undefined) return false;
    if ((on & RetryOn.FiveXx) !== 0 && status >= 500) return true;
    if ((on & RetryOn.GatewayError) !== 0 && (status === 502 || status === 503 || status === 504))
      return true;
    if ((on & RetryOn.Retriable4xx) !== 0 && status === 409) return true;
    if ((on & RetryOn.EnvoyRateLimited) !== 0 && headers['x-envoy-ratelimited'] !== undefined) return true;
    if ((on & RetryOn.RetriableStatusCodes) !== 0 && this.codes.has(status)) return true;
    if ((on & RetryOn.RetriableHeaders) !== 0 && this.headers.length > 0) {
      const req = { authority: '', path: '', method: '', scheme: '', headers };
      for (const h of this.headers) if (h.matches(req)) return true;
    }
    const grpc = headers['grpc-status'];
    if (typeof grpc === 'string' && (on & 0x3e00) !== 0) {
      const code = Number(grpc);
      for (const [c, bit] of GRPC_CODES) if (code === c && (on & bit) !== 0) return true;
    }
    return false;
  }

  /** Whether a failure before any response (kind per UpstreamFailure, or a per-try timeout) is retried. */
  retriableFailure(kind: 'connect_failure' | 'reset' | 'refused_stream' | 'per_try_timeout'): boolean {
    const on = this.retryOn;
    if ((on & (RetryOn.FiveXx | RetryOn.GatewayError)) !== 0) return true;
    switch (kind) {
      case 'connect_failure':
        return (on & (RetryOn.ConnectFailure | RetryOn.Reset | RetryOn.ResetBeforeRequest)) !== 0;
      case 'reset':
        return (on & RetryOn.Reset) !== 0;
      case 'refused_stream':
        return (on & (RetryOn.RefusedStream | RetryOn.Reset)) !== 0;
      case 'per_try_timeout':
        return (on & RetryOn.Reset) !== 0;
    }
  }

  /** Full-jitter exponential backoff for retry number `n` (1-based): [0, min(max, base × (2^n − 1))). */
  backOffMs(n: number, random: number): number {
    const ceiling = Math.min(this.backOffMaxMs, this.backOffBaseMs * (2 ** Math.min(n, 30) - 1));
    return random * ceiling;
  }
}

/** RouteAction.retry_policy, falling back to the virtual host's; spread into the action model. */
export function routeRetryPolicy(
  msg: ProtoObject,
  path: string,
  issues: Issues,
  ctx: { readonly vhostRetryPolicy?: RetryPolicyModel },
): { retryPolicy?: RetryPolicyModel } {
  const rp = readMessage(msg, 'retry_policy', path, issues);
  if (rp !== null) return { retryPolicy: translateRetryPolicy(rp, joinPath(path, 'retry_policy'), issues) };
  return ctx.vhostRetryPolicy === undefined ? {} : { retryPolicy: ctx.vhostRetryPolicy };
}

const EMPTY_MODEL: RetryPolicyModel = {
  retryOn: 0,
  numRetries: 1,
  perTryTimeoutMs: 0,
  backOffBaseMs: 25,
  backOffMaxMs: 250,
  retriableStatusCodes: [],
  retriableHeaders: [],
  previousHosts: false,
  hostSelectionRetryMaxAttempts: 1,
};

function headerString(v: string | string[] | number | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : String(v);
}

/**
 * The policy for one request: the route's, extended by x-envoy-retry-on / x-envoy-retry-grpc-on
 * (conditions OR'ed in) and x-envoy-max-retries (replaces num_retries), as Envoy honours them from
 * trusted clients (the connection manager strips x-envoy-* from external ones). The headers are
 * consumed. Costs two property reads when they are absent; builds a policy only when present.
 */
export function retryPolicyForRequest(
  route: RetryPolicy | null,
  headers: Record<string, string | string[] | number | undefined>,
): RetryPolicy | null {
  const on = headerString(headers['x-envoy-retry-on']);
  const grpcOn = headerString(headers['x-envoy-retry-grpc-on']);
  const max = headerString(headers['x-envoy-max-retries']);
  if (on === undefined && grpcOn === undefined && max === undefined) return route;
  delete headers['x-envoy-retry-on'];
  delete headers['x-envoy-retry-grpc-on'];
  delete headers['x-envoy-max-retries'];
  const base = route === null ? EMPTY_MODEL : route.model;
  let bits = base.retryOn;
  // Unknown names in a header are ignored, as Envoy does (config is validated, headers are not).
  if (on !== undefined) bits |= parseRetryOn(on).bits;
  if (grpcOn !== undefined) bits |= parseRetryOn(grpcOn).bits;
  let numRetries = base.numRetries;
  if (max !== undefined && /^[0-9]{1,4}$/.test(max)) numRetries = Number(max);
  if (bits === 0) return route;
  return new RetryPolicy({ ...base, retryOn: bits, numRetries });
}

/**
 * VirtualHost.include_request_attempt_count / include_attempt_count_in_response, carried into
 * each route's action model (only the flags that are set).
 */
export function attemptCountFlags(ctx: {
  readonly attemptCountInRequest?: boolean;
  readonly attemptCountInResponse?: boolean;
}): { attemptCountInRequest?: boolean; attemptCountInResponse?: boolean } {
  const out: { attemptCountInRequest?: boolean; attemptCountInResponse?: boolean } = {};
  if (ctx.attemptCountInRequest === true) out.attemptCountInRequest = true;
  if (ctx.attemptCountInResponse === true) out.attemptCountInResponse = true;
  return out;
}
