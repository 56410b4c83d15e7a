import { compileRe2FullMatch, re2LiteralPrefix } from '../config/regex.js';
import {
  DirectResponseAction,
  ForwardAction,
  type MatchedLength,
  RedirectAction,
  TLS_REDIRECT,
} from './actions.js';
import { DomainMap } from './domain-map.js';
import { headerMutations, NO_MUTATIONS } from './header-mutations.js';
import {
  asciiLower,
  equalsFoldedAt,
  HeaderMatcher,
  isGrpcRequest,
  QueryParameterMatcher,
} from './matchers.js';
import type { HeaderLevelModel, RouteConfigModel, RouteModel, VirtualHostModel } from './route-model.js';
import type {
  HeaderMutationLevel,
  HeaderToAdd,
  MatchedRoute,
  RouteAction,
  RouteRequest,
  RouteTable,
} from './types.js';

/**
 * RouteConfigModel → RouteTable, once per configuration. Everything a request needs is built
 * here: domain maps, path and header matchers, compiled regexes, the MatchedRoute objects (the
 * same object is returned for every request that hits a route) and the merged header mutations.
 */

const P_PREFIX = 0;
const P_PATH = 1;
const P_REGEX = 2;
const P_SEPARATED = 3;

class CompiledRoute {
  readonly matched: MatchedRoute;
  private readonly pathKind: number;
  /** Prefix or path (ASCII-lower-cased when case-insensitive). */
  private readonly value: string;
  private readonly caseSensitive: boolean;
  private readonly re: RegExp | null;
  private readonly headers: readonly HeaderMatcher[];
  private readonly query: readonly QueryParameterMatcher[];
  private readonly grpc: boolean;

  constructor(r: RouteModel, vh: VirtualHostModel, config: RouteConfigModel) {
    const p = r.match.path;
    this.caseSensitive = r.match.caseSensitive;
    let matchedLength: MatchedLength;
    if (p.kind === 'regex') {
      this.pathKind = P_REGEX;
      // Every match starts with this literal: a startsWith test skips most regex runs.
      this.value = re2LiteralPrefix(p.regex);
      this.re = compileRe2FullMatch(p.regex);
      matchedLength = -1;
    } else {
      this.pathKind = p.kind === 'prefix' ? P_PREFIX : p.kind === 'path' ? P_PATH : P_SEPARATED;
      this.value = this.caseSensitive ? p.value : asciiLower(p.value);
      this.re = null;
      matchedLength = p.value.length;
    }
    this.headers = r.match.headers.map((h) => new HeaderMatcher(h));
    this.query = r.match.queryParameters.map((q) => new QueryParameterMatcher(q));
    this.grpc = r.match.grpc;
    const a = r.action;
    const action: RouteAction =
      a.kind === 'route'
        ? new ForwardAction(a, matchedLength)
        : a.kind === 'redirect'
          ? new RedirectAction(a, matchedLength)
          : new DirectResponseAction(a);
    this.matched = {
      name: r.name,
      virtualHostName: vh.name,
      action,
      requestHeaders: mergeLevels(config, r.requestHeaders, vh.requestHeaders, config.requestHeaders),
      responseHeaders: mergeLevels(config, r.responseHeaders, vh.responseHeaders, config.responseHeaders),
    };
  }

  /** `pathLen`: length of the path before '?'; `pathOnly`: that prefix as a string (regex routes). */
  matches(req: RouteRequest, pathLen: number, pathOnly: string): boolean {
    const path = req.path;
    const v = this.value;
    switch (this.pathKind) {
      case P_PREFIX:
        if (v.length > pathLen) return false;
        if (this.caseSensitive ? !path.startsWith(v) : !equalsFoldedAt(path, 0, v)) return false;
        break;
      case P_PATH:
        if (v.length !== pathLen) return false;
        if (this.caseSensitive ? !path.startsWith(v) : !equalsFoldedAt(path, 0, v)) return false;
        break;
      case P_SEPARATED:
        if (v.length > pathLen) return false;
        if (v.length < pathLen && path.charCodeAt(v.length) !== 0x2f) return false;
        if (this.caseSensitive ? !path.startsWith(v) : !equalsFoldedAt(path, 0, v)) return false;
        break;
      default:
        if (v.length > pathLen || !path.startsWith(v) || !this.re!.test(pathOnly)) return false;
    }
    if (this.grpc && !isGrpcRequest(req)) return false;
    const headers = this.headers;
    for (let i = 0; i < headers.length; i++) if (!headers[i].matches(req)) return false;
    const query = this.query;
    if (query.length > 0) {
      const q = pathLen < path.length ? pathLen : -1;
      for (let i = 0; i < query.length; i++) if (!query[i].matches(path, q)) return false;
    }
    return true;
  }

  get needsPathOnly(): boolean {
    return this.pathKind === P_REGEX;
  }
}

function toLevel(l: HeaderLevelModel): HeaderMutationLevel {
  const add: HeaderToAdd[] = l.add.map((a) => ({ name: a.name, value: a.value, action: a.action }));
  return { add, remove: l.remove.slice() };
}

/** Envoy's order: route, virtual host, route configuration — reversed by most_specific_header_mutations_wins. */
function mergeLevels(
  config: RouteConfigModel,
  route: HeaderLevelModel,
  vh: HeaderLevelModel,
  rc: HeaderLevelModel,
) {
  const levels = [toLevel(route), toLevel(vh), toLevel(rc)];
  if (config.mostSpecificHeaderMutationsWins) levels.reverse();
  const m = headerMutations(levels);
  return m.levels.length === 0 ? NO_MUTATIONS : m;
}

const TLS_NONE = 0;
const TLS_EXTERNAL = 1;
const TLS_ALL = 2;

class CompiledVirtualHost {
  readonly routes: readonly CompiledRoute[];
  readonly needsPathOnly: boolean;
  readonly requireTls: number;
  readonly tlsRedirect: MatchedRoute;

  constructor(vh: VirtualHostModel, config: RouteConfigModel) {
    this.routes = vh.routes.map((r) => new CompiledRoute(r, vh, config));
    this.needsPathOnly = this.routes.some((r) => r.needsPathOnly);
    this.requireTls =
      vh.requireTls === 'ALL' ? TLS_ALL : vh.requireTls === 'EXTERNAL_ONLY' ? TLS_EXTERNAL : TLS_NONE;
    this.tlsRedirect = {
      name: '',
      virtualHostName: vh.name,
      action: new RedirectAction(TLS_REDIRECT, 0),
      requestHeaders: NO_MUTATIONS,
      responseHeaders: NO_MUTATIONS,
    };
  }
}

class CompiledRouteTable implements RouteTable {
  readonly name: string;
  readonly internalOnlyHeaders: readonly string[];
  private readonly hosts: DomainMap<CompiledVirtualHost>;

  constructor(model: RouteConfigModel) {
    this.name = model.name;
    this.internalOnlyHeaders = model.internalOnlyHeaders.slice();
    this.hosts = new DomainMap(model.ignorePortInHostMatching);
    for (const vh of model.virtualHosts) {
      const compiled = new CompiledVirtualHost(vh, model);
      for (const d of vh.domains) this.hosts.add(d, compiled);
    }
  }

  match(req: RouteRequest): MatchedRoute | null {
    const vh = this.hosts.find(req.authority);
    if (vh === null) return null;
    if (vh.requireTls !== TLS_NONE && req.scheme !== 'https') {
      if (vh.requireTls === TLS_ALL || req.headers['x-envoy-internal'] !== 'true') return vh.tlsRedirect;
    }
    const path = req.path;
    const q = path.indexOf('?');
    const pathLen = q < 0 ? path.length : q;
    const pathOnly = vh.needsPathOnly && q >= 0 ? path.slice(0, q) : path;
    const routes = vh.routes;
    for (let i = 0; i < routes.length; i++) {
      if (routes[i].matches(req, pathLen, pathOnly)) return routes[i].matched;
    }
    return null;
  }
}

/** Compiles a translated route configuration. Throws only on a model the translator did not validate. */
export function compileRouteConfig(model: RouteConfigModel): RouteTable {
  return new CompiledRouteTable(model);
}
