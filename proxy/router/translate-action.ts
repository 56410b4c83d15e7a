import { readFileSync } from 'node:fs';
import { headerNameProblem } from '../config/header-validation.js';
import { type Issues, joinPath } from '../config/issues.js';
import type { ProtoObject } from '../config/proto-object.js';
import { translateRe2, translateRe2Rewrite } from '../config/regex.js';
import { translateMaxStreamDuration } from './grpc-timeout.js';
import { translateHashPolicies } from './hash-policy-translate.js';
import {
  checkFields,
  has,
  headerValueLike,
  readBool,
  readDurationMs,
  readInt,
  readMessage,
  readMessages,
  readOneof,
  readString,
} from './proto-read.js';
import { attemptCountFlags, type RetryPolicyModel, routeRetryPolicy } from './retry-policy.js';
import type {
  ClusterSpecModel,
  DirectResponseModel,
  ForwardActionModel,
  RedirectActionModel,
  RegexRewriteModel,
  WeightedClusterModel,
} from './route-model.js';
import { translateHeaderLevel } from './translate-headers.js';
import { translateRegexMatcher } from './translate-match.js';
import { translateTypedPerFilterConfig } from './translate-per-filter.js';

export interface ActionContext {
  /** RouteConfiguration.max_direct_response_body_size_bytes (4096 by default). */
  readonly maxDirectResponseBodyBytes: number;
  /** When set, cluster names are checked against it (RouteConfiguration.validate_clusters). */
  readonly clusterExists: ((name: string) => boolean) | null;
  /** The virtual host's retry_policy, used by routes that set none. */
  readonly vhostRetryPolicy?: RetryPolicyModel;
  /** VirtualHost.include_request_attempt_count / include_attempt_count_in_response. */
  readonly attemptCountInRequest?: boolean;
  readonly attemptCountInResponse?: boolean;
}

/** A string field that ends up in a header or URL: no CR, LF or NUL. */
function headerSafeString(msg: ProtoObject, key: string, path: string, issues: Issues): string | null {
  if (!has(msg, key)) return null;
  const v = readString(msg, key, path, issues);
  if (!headerValueLike(v)) {
    issues.error(joinPath(path, key), 'must not contain CR, LF or NUL');
    return null;
  }
  return v;
}

/** envoy.type.matcher.v3.RegexMatchAndSubstitute. */
export function translateRegexRewrite(
  msg: ProtoObject,
  path: string,
  issues: Issues,
): RegexRewriteModel | null {
  checkFields(msg, ['pattern', 'substitution'], path, issues);
  const pattern = readMessage(msg, 'pattern', path, issues);
  if (pattern === null) {
    issues.error(joinPath(path, 'pattern'), 'is required');
    return null;
  }
  const regex = translateRegexMatcher(pattern, joinPath(path, 'pattern'), issues);
  const substitution = headerSafeString(msg, 'substitution', path, issues) ?? '';
  if (regex === null) return null;
  const t = translateRe2(regex);
  if (!t.ok) return null;
  const r = translateRe2Rewrite(substitution, t.value.groupCount);
  if (!r.ok) {
    issues.error(joinPath(path, 'substitution'), r.error);
    return null;
  }
  return { regex, substitution };
}

function checkCluster(name: string, path: string, issues: Issues, ctx: ActionContext): void {
  if (ctx.clusterExists !== null && !ctx.clusterExists(name)) issues.error(path, `unknown cluster '${name}'`);
}

function translateWeightedClusters(
  msg: ProtoObject,
  path: string,
  issues: Issues,
  ctx: ActionContext,
): ClusterSpecModel | null {
  checkFields(msg, ['clusters', 'total_weight'], path, issues);
  const clusters: WeightedClusterModel[] = [];
  let sum = 0;
  const entries = readMessages(msg, 'clusters', path, issues);
  if (entries.length === 0) issues.error(joinPath(path, 'clusters'), 'must have at least one cluster');
  for (const [c, p] of entries) {
    checkFields(
      c,
      [
        'name',
        'weight',
        'host_rewrite_literal',
        'request_headers_to_add',
        'request_headers_to_remove',
        'response_headers_to_add',
        'response_headers_to_remove',
        'typed_per_filter_config',
      ],
      p,
      issues,
    );
    const name = readString(c, 'name', p, issues);
    if (name === '') issues.error(joinPath(p, 'name'), 'is required');
    else checkCluster(name, joinPath(p, 'name'), issues, ctx);
    const weight = readInt(c, 'weight', p, issues, 0);
    if (weight < 0 || weight > 0xffffffff) issues.error(joinPath(p, 'weight'), 'must be a uint32');
    sum += weight;
    translateTypedPerFilterConfig(c, p, issues);
    clusters.push({
      name,
      weight,
      requestHeaders: translateHeaderLevel(c, 'request', p, issues),
      responseHeaders: translateHeaderLevel(c, 'response', p, issues),
      hostRewriteLiteral: headerSafeString(c, 'host_rewrite_literal', p, issues),
    });
  }
  if (entries.length > 0 && sum === 0)
    issues.error(joinPath(path, 'clusters'), 'sum of weights must be greater than 0');
  if (sum > 0xffffffff) issues.error(joinPath(path, 'clusters'), 'sum of weights must not exceed 4294967295');
  if (has(msg, 'total_weight')) {
    const total = readInt(msg, 'total_weight', path, issues, 0);
    if (total !== sum) {
      issues.error(
        joinPath(path, 'total_weight'),
        `sum of weights (${sum}) must equal total_weight (${total})`,
      );
    }
  }
  return { kind: 'weighted', clusters, totalWeight: sum };
}

const NOT_FOUND_CODES: Record<string, number> = {
  SERVICE_UNAVAILABLE: 503,
  NOT_FOUND: 404,
  INTERNAL_SERVER_ERROR: 500,
};

/** envoy.config.route.v3.RouteAction. */
export function translateRouteAction(
  msg: ProtoObject,
  path: string,
  issues: Issues,
  ctx: ActionContext,
): ForwardActionModel | null {
  checkFields(
    msg,
    [
      'cluster',
      'cluster_header',
      'weighted_clusters',
      'prefix_rewrite',
      'regex_rewrite',
      'host_rewrite_literal',
      'auto_host_rewrite',
      'timeout',
      'idle_timeout',
      'cluster_not_found_response_code',
      'hash_policy',
      'retry_policy',
      'max_stream_duration',
      'priority',
    ],
    path,
    issues,
  );
  const which = readOneof(
    msg,
    ['cluster', 'cluster_header', 'weighted_clusters'],
    path,
    issues,
    'one of cluster, cluster_header, weighted_clusters is required',
  );
  let cluster: ClusterSpecModel | null = null;
  if (which === 'cluster') {
    const name = readString(msg, which, path, issues);
    if (name === '') issues.error(joinPath(path, which), 'must not be empty');
    else {
      checkCluster(name, joinPath(path, which), issues, ctx);
      cluster = { kind: 'cluster', name };
    }
  } else if (which === 'cluster_header') {
    const header = readString(msg, which, path, issues).toLowerCase();
    const problem = headerNameProblem(header, true);
    if (problem !== null) issues.error(joinPath(path, which), problem);
    else cluster = { kind: 'cluster_header', header };
  } else if (which === 'weighted_clusters') {
    const wc = readMessage(msg, which, path, issues);
    if (wc !== null) cluster = translateWeightedClusters(wc, joinPath(path, which), issues, ctx);
  }
  readOneof(msg, ['prefix_rewrite', 'regex_rewrite'], path, issues, null);
  const prefixRewrite = headerSafeString(msg, 'prefix_rewrite', path, issues);
  const rr = readMessage(msg, 'regex_rewrite', path, issues);
  const regexRewrite =
    rr === null ? null : translateRegexRewrite(rr, joinPath(path, 'regex_rewrite'), issues);
  readOneof(msg, ['host_rewrite_literal', 'auto_host_rewrite'], path, issues, null);
  const hostRewriteLiteral = headerSafeString(msg, 'host_rewrite_literal', path, issues);
  const code = readString(msg, 'cluster_not_found_response_code', path, issues, 'SERVICE_UNAVAILABLE');
  const clusterNotFoundStatus = NOT_FOUND_CODES[code];
  if (clusterNotFoundStatus === undefined) {
    issues.error(joinPath(path, 'cluster_not_found_response_code'), `unknown value ${code}`);
  }
  // priority selects the cluster's circuit-breaker thresholds (proxy/upstream/circuit-breakers.ts).
  const priority = readString(msg, 'priority', path, issues, 'DEFAULT');
  if (priority !== 'DEFAULT' && priority !== 'HIGH') {
    issues.error(joinPath(path, 'priority'), `unknown value ${priority}`);
  }
  if (cluster === null) return null;
  return {
    kind: 'route',
    ...(priority === 'HIGH' ? { priority: 'HIGH' as const } : {}),
    cluster,
    prefixRewrite,
    regexRewrite,
    hostRewriteLiteral,
    autoHostRewrite: readBool(msg, 'auto_host_rewrite', path, issues, false),
    timeoutMs: readDurationMs(msg, 'timeout', path, issues, 15_000),
    idleTimeoutMs: readDurationMs(msg, 'idle_timeout', path, issues, -1),
    clusterNotFoundStatus: clusterNotFoundStatus ?? 503,
    hashPolicies: translateHashPolicies(msg, path, issues),
    ...routeRetryPolicy(msg, path, issues, ctx),
    ...attemptCountFlags(ctx),
    ...translateMaxStreamDuration(msg, path, issues),
  };
}

const REDIRECT_CODES: Record<string, number> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

/** envoy.config.route.v3.RedirectAction. */
export function translateRedirect(
  msg: ProtoObject,
  path: string,
  issues: Issues,
): RedirectActionModel | null {
  checkFields(
    msg,
    [
      'https_redirect',
      'scheme_redirect',
      'host_redirect',
      'port_redirect',
      'path_redirect',
      'prefix_rewrite',
      'regex_rewrite',
      'response_code',
      'strip_query',
    ],
    path,
    issues,
  );
  const before = issues.errorCount;
  let scheme: string | null = null;
  if (readBool(msg, 'https_redirect', path, issues, false)) scheme = 'https';
  if (has(msg, 'scheme_redirect')) {
    if (scheme !== null) issues.error(path, 'only one of https_redirect, scheme_redirect may be set');
    scheme = readString(msg, 'scheme_redirect', path, issues).toLowerCase();
    if (!/^[a-z][a-z0-9+.-]*$/.test(scheme))
      issues.error(joinPath(path, 'scheme_redirect'), 'is not a valid URI scheme');
  }
  readOneof(msg, ['path_redirect', 'prefix_rewrite', 'regex_rewrite'], path, issues, null);
  const rr = readMessage(msg, 'regex_rewrite', path, issues);
  const port = readInt(msg, 'port_redirect', path, issues, 0);
  if (port < 0 || port > 65535)
    issues.error(joinPath(path, 'port_redirect'), 'must be a port number (1-65535)');
  const codeName = readString(msg, 'response_code', path, issues, 'MOVED_PERMANENTLY');
  const status = REDIRECT_CODES[codeName];
  if (status === undefined) issues.error(joinPath(path, 'response_code'), `unknown value ${codeName}`);
  const model: RedirectActionModel = {
    kind: 'redirect',
    scheme,
    host: headerSafeString(msg, 'host_redirect', path, issues),
    port,
    pathRedirect: headerSafeString(msg, 'path_redirect', path, issues),
    prefixRewrite: headerSafeString(msg, 'prefix_rewrite', path, issues),
    regexRewrite: rr === null ? null : translateRegexRewrite(rr, joinPath(path, 'regex_rewrite'), issues),
    status: status ?? 301,
    stripQuery: readBool(msg, 'strip_query', path, issues, false),
  };
  return issues.errorCount === before ? model : null;
}

/** envoy.config.route.v3.DirectResponseAction. */
export function translateDirectResponse(
  msg: ProtoObject,
  path: string,
  issues: Issues,
  ctx: ActionContext,
): DirectResponseModel | null {
  checkFields(msg, ['status', 'body'], path, issues);
  const status = readInt(msg, 'status', path, issues, 0);
  if (status < 100 || status >= 600) {
    issues.error(joinPath(path, 'status'), 'must be in [100, 600)');
    return null;
  }
  const ds = readMessage(msg, 'body', path, issues);
  if (ds === null) return { kind: 'direct_response', status, body: null };
  const bp = joinPath(path, 'body');
  checkFields(ds, ['filename', 'inline_bytes', 'inline_string', 'environment_variable'], bp, issues);
  const which = readOneof(
    ds,
    ['filename', 'inline_bytes', 'inline_string', 'environment_variable'],
    bp,
    issues,
    null,
  );
  let body: Buffer | null = null;
  if (which === 'inline_string') body = Buffer.from(readString(ds, which, bp, issues), 'utf8');
  else if (which === 'inline_bytes') {
    const v = ds[which];
    if (Buffer.isBuffer(v)) body = v;
    else if (typeof v === 'string') body = Buffer.from(v, 'base64');
    else issues.error(joinPath(bp, which), 'must be bytes');
  } else if (which === 'filename') {
    const file = readString(ds, which, bp, issues);
    try {
      body = readFileSync(file);
    } catch (e) {
      issues.error(joinPath(bp, which), `cannot read ${file}: ${(e as Error).message}`);
      return null;
    }
  } else if (which === 'environment_variable') {
    const name = readString(ds, which, bp, issues);
    const v = process.env[name];
    if (v === undefined) {
      issues.error(joinPath(bp, which), `environment variable ${name} is not set`);
      return null;
    }
    body = Buffer.from(v, 'utf8');
  }
  if (body !== null && body.length > ctx.maxDirectResponseBodyBytes) {
    issues.error(
      bp,
      `response body size is ${body.length} bytes; maximum is ${ctx.maxDirectResponseBodyBytes}`,
    );
    return null;
  }
  return { kind: 'direct_response', status, body: body !== null && body.length > 0 ? body : null };
}
