import { headerNameProblem } from '../config/header-validation.js';
import { type Issues, joinPath } from '../config/issues.js';
import type { ProtoObject } from '../config/proto-object.js';
import {
  checkFields,
  has,
  readBool,
  readInt,
  readMessage,
  readMessages,
  readOneof,
  readString,
  readStrings,
} from '../router/proto-read.js';
import { translateRetryPolicy } from '../router/retry-policy.js';
import type {
  RouteActionModel,
  RouteConfigModel,
  RouteModel,
  VirtualHostModel,
} from '../router/route-model.js';
import {
  type ActionContext,
  translateDirectResponse,
  translateRedirect,
  translateRouteAction,
} from '../router/translate-action.js';
import { translateHeaderLevel } from '../router/translate-headers.js';
import { translateRouteMatch } from '../router/translate-match.js';
import { translateTypedPerFilterConfig } from '../router/translate-per-filter.js';

/**
 * envoy.config.route.v3.RouteConfiguration (decoded ProtoObject) → RouteConfigModel. Used for
 * route_config inline in a connection manager and for RDS resources alike. Every problem is
 * reported with its field path; the result is null when there was any error.
 */

export const ROUTE_CONFIGURATION_TYPE = 'envoy.config.route.v3.RouteConfiguration';

export interface RouteTranslateOptions {
  /**
   * Looks a cluster name up in the cluster manager. Used when validate_clusters is on (its default
   * is `validateClustersDefault`: Envoy validates inline route configs, not RDS ones).
   */
  readonly clusterExists?: (name: string) => boolean;
  readonly validateClustersDefault?: boolean;
}

function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

const REQUIRE_TLS = ['NONE', 'EXTERNAL_ONLY', 'ALL'] as const;

function translateRoute(
  msg: ProtoObject,
  path: string,
  issues: Issues,
  ctx: ActionContext,
): RouteModel | null {
  checkFields(
    msg,
    [
      'name',
      'match',
      'route',
      'redirect',
      'direct_response',
      'request_headers_to_add',
      'request_headers_to_remove',
      'response_headers_to_add',
      'response_headers_to_remove',
      'typed_per_filter_config',
      'metadata',
    ],
    path,
    issues,
  );
  const matchMsg = readMessage(msg, 'match', path, issues);
  if (matchMsg === null) issues.error(joinPath(path, 'match'), 'is required');
  const match = matchMsg === null ? null : translateRouteMatch(matchMsg, joinPath(path, 'match'), issues);
  const which = readOneof(
    msg,
    ['route', 'redirect', 'direct_response'],
    path,
    issues,
    'one of route, redirect, direct_response is required',
  );
  let action: RouteActionModel | null = null;
  const am = which === null ? null : readMessage(msg, which, path, issues);
  if (am !== null && which !== null) {
    const ap = joinPath(path, which);
    if (which === 'route') action = translateRouteAction(am, ap, issues, ctx);
    else if (which === 'redirect') action = translateRedirect(am, ap, issues);
    else action = translateDirectResponse(am, ap, issues, ctx);
  }
  translateTypedPerFilterConfig(msg, path, issues);
  const requestHeaders = translateHeaderLevel(msg, 'request', path, issues);
  const responseHeaders = translateHeaderLevel(msg, 'response', path, issues);
  if (match === null || action === null) return null;
  return { name: readString(msg, 'name', path, issues), match, action, requestHeaders, responseHeaders };
}

function translateVirtualHost(
  msg: ProtoObject,
  path: string,
  issues: Issues,
  ctx: ActionContext,
  domainOwners: Map<string, string>,
): VirtualHostModel | null {
  checkFields(
    msg,
    [
      'name',
      'domains',
      'routes',
      'require_tls',
      'request_headers_to_add',
      'request_headers_to_remove',
      'response_headers_to_add',
      'response_headers_to_remove',
      'typed_per_filter_config',
      'metadata',
      'retry_policy',
      'include_request_attempt_count',
      'include_attempt_count_in_response',
    ],
    path,
    issues,
  );
  if (msg.include_request_attempt_count === true) ctx = { ...ctx, attemptCountInRequest: true };
  if (msg.include_attempt_count_in_response === true) ctx = { ...ctx, attemptCountInResponse: true };
  const vhostRetry = readMessage(msg, 'retry_policy', path, issues);
  if (vhostRetry !== null) {
    // Routes without their own retry_policy use the virtual host's (Envoy's rule).
    ctx = {
      ...ctx,
      vhostRetryPolicy: translateRetryPolicy(vhostRetry, joinPath(path, 'retry_policy'), issues),
    };
  }
  const name = readString(msg, 'name', path, issues);
  if (name === '') issues.error(joinPath(path, 'name'), 'is required');
  const domains: string[] = [];
  const rawDomains = readStrings(msg, 'domains', path, issues);
  if (rawDomains.length === 0 && !has(msg, 'domains'))
    issues.error(joinPath(path, 'domains'), 'must have at least one domain');
  else if (rawDomains.length === 0) issues.error(joinPath(path, 'domains'), 'must have at least one domain');
  for (const [raw, p] of rawDomains) {
    const d = raw.toLowerCase();
    if (d === '' || hasControlChar(d)) {
      issues.error(p, 'must be a non-empty domain without control characters');
      continue;
    }
    const owner = domainOwners.get(d);
    if (owner !== undefined) {
      issues.error(
        p,
        d === '*'
          ? `only one virtual host may have the wildcard domain '*' (already in virtual host '${owner}')`
          : `duplicate domain '${d}': already in virtual host '${owner}'; a domain may appear in only one virtual host`,
      );
      continue;
    }
    domainOwners.set(d, name);
    domains.push(d);
  }
  const routes: RouteModel[] = [];
  for (const [r, p] of readMessages(msg, 'routes', path, issues)) {
    const route = translateRoute(r, p, issues, ctx);
    if (route !== null) routes.push(route);
  }
  const tls = readString(msg, 'require_tls', path, issues, 'NONE');
  if (!(REQUIRE_TLS as readonly string[]).includes(tls))
    issues.error(joinPath(path, 'require_tls'), `unknown value ${tls}`);
  translateTypedPerFilterConfig(msg, path, issues);
  return {
    name,
    domains,
    routes,
    requireTls: tls as VirtualHostModel['requireTls'],
    requestHeaders: translateHeaderLevel(msg, 'request', path, issues),
    responseHeaders: translateHeaderLevel(msg, 'response', path, issues),
  };
}

/**
 * Translates a RouteConfiguration. `path` is where it sits in the config (e.g.
 * `static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config`, or ''
 * for an RDS resource) and prefixes every issue.
 */
export function translateRouteConfiguration(
  msg: ProtoObject,
  path: string,
  issues: Issues,
  opts: RouteTranslateOptions = {},
): RouteConfigModel | null {
  const before = issues.errorCount;
  checkFields(
    msg,
    [
      '@type',
      'name',
      'virtual_hosts',
      'request_headers_to_add',
      'request_headers_to_remove',
      'response_headers_to_add',
      'response_headers_to_remove',
      'internal_only_headers',
      'most_specific_header_mutations_wins',
      'ignore_port_in_host_matching',
      'max_direct_response_body_size_bytes',
      'validate_clusters',
      'typed_per_filter_config',
    ],
    path,
    issues,
  );
  const validate = readBool(msg, 'validate_clusters', path, issues, opts.validateClustersDefault ?? false);
  const ctx: ActionContext = {
    maxDirectResponseBodyBytes: readInt(msg, 'max_direct_response_body_size_bytes', path, issues, 4096),
    clusterExists: validate && opts.clusterExists !== undefined ? opts.clusterExists : null,
  };
  const domainOwners = new Map<string, string>();
  const virtualHosts: VirtualHostModel[] = [];
  for (const [v, p] of readMessages(msg, 'virtual_hosts', path, issues)) {
    const vh = translateVirtualHost(v, p, issues, ctx, domainOwners);
    if (vh !== null) virtualHosts.push(vh);
  }
  const internalOnlyHeaders: string[] = [];
  for (const [h, p] of readStrings(msg, 'internal_only_headers', path, issues)) {
    const name = h.toLowerCase();
    const problem = headerNameProblem(name);
    if (problem !== null) issues.error(p, problem);
    else internalOnlyHeaders.push(name);
  }
  translateTypedPerFilterConfig(msg, path, issues);
  const model: RouteConfigModel = {
    name: readString(msg, 'name', path, issues),
    virtualHosts,
    requestHeaders: translateHeaderLevel(msg, 'request', path, issues),
    responseHeaders: translateHeaderLevel(msg, 'response', path, issues),
    internalOnlyHeaders,
    mostSpecificHeaderMutationsWins: readBool(
      msg,
      'most_specific_header_mutations_wins',
      path,
      issues,
      false,
    ),
    ignorePortInHostMatching: readBool(msg, 'ignore_port_in_host_matching', path, issues, false),
  };
  return issues.errorCount === before ? model : null;
}
