import type { IncomingHttpHeaders } from 'node:http';
import { compileRe2Global, translateRe2, translateRe2Rewrite } from '../config/regex.js';
import type { GrpcTimeoutModel } from './grpc-timeout.js';
import { HashPolicy } from './hash-policy.js';
import { headerMutations } from './header-mutations.js';
import { RetryPolicy } from './retry-policy.js';
import type {
  DirectResponseModel,
  ForwardActionModel,
  HeaderLevelModel,
  RedirectActionModel,
  RegexRewriteModel,
} from './route-model.js';
import type { ClusterMutations, RouteAction, RouteRequest } from './types.js';

/**
 * The three route actions, compiled. Path rewrites follow Envoy: prefix_rewrite replaces the
 * matched part (the route's prefix, its exact path, or for a regex route the whole path without
 * the query); regex_rewrite replaces every match in the path without the query; the query is kept.
 */

/** How much of the path a route's match covers, for prefix_rewrite. -1: the whole path sans query. */
export type MatchedLength = number;

class RegexRewriter {
  private readonly re: RegExp;
  private readonly replacement: string;

  constructor(m: RegexRewriteModel) {
    this.re = compileRe2Global(m.regex);
    const t = translateRe2(m.regex);
    const r = translateRe2Rewrite(m.substitution, t.ok ? t.value.groupCount : 0);
    if (!r.ok) throw new Error(r.error);
    this.replacement = r.replacement;
  }

  rewrite(path: string): string {
    const q = path.indexOf('?');
    if (q < 0) return path.replace(this.re, this.replacement);
    return path.slice(0, q).replace(this.re, this.replacement) + path.slice(q);
  }
}

function rewriteWith(
  path: string,
  prefixRewrite: string | null,
  regex: RegexRewriter | null,
  matchedLength: MatchedLength,
): string {
  if (prefixRewrite !== null) {
    let n = matchedLength;
    if (n < 0) {
      const q = path.indexOf('?');
      n = q < 0 ? path.length : q;
    }
    return prefixRewrite + path.slice(n);
  }
  if (regex !== null) return regex.rewrite(path);
  return path;
}

function levelsToMutations(level: HeaderLevelModel) {
  return headerMutations([level]);
}

export class ForwardAction {
  readonly kind = 'route' as const;
  readonly hostRewriteLiteral: string | null;
  readonly autoHostRewrite: boolean;
  readonly timeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly clusterNotFoundStatus: number;
  /** The compiled hash_policy list, or null when the route has none. */
  readonly hashPolicy: HashPolicy | null;
  /** The compiled retry_policy, or null when the route retries nothing. */
  readonly retryPolicy: RetryPolicy | null;
  /** gRPC requests: grpc-timeout as the route timeout, capped; null when the route does not ask. */
  readonly grpcTimeout: GrpcTimeoutModel | null;
  readonly maxStreamDurationMs: number;
  readonly priority: 'DEFAULT' | 'HIGH';
  /** x-envoy-attempt-count on upstream requests / on responses (virtual host flags). */
  readonly attemptCountInRequest: boolean;
  readonly attemptCountInResponse: boolean;
  private readonly spec: number; // 0 fixed, 1 header, 2 weighted
  private readonly cluster: string;
  private readonly names: readonly string[];
  private readonly cumulative: readonly number[];
  private readonly total: number;
  private readonly perCluster: ReadonlyMap<string, ClusterMutations>;
  private readonly prefixRewrite: string | null;
  private readonly regex: RegexRewriter | null;
  private readonly matchedLength: MatchedLength;

  constructor(m: ForwardActionModel, matchedLength: MatchedLength) {
    this.hostRewriteLiteral = m.hostRewriteLiteral;
    this.autoHostRewrite = m.autoHostRewrite;
    this.timeoutMs = m.timeoutMs;
    this.idleTimeoutMs = m.idleTimeoutMs;
    this.clusterNotFoundStatus = m.clusterNotFoundStatus;
    this.hashPolicy = HashPolicy.compile(m.hashPolicies);
    this.retryPolicy = RetryPolicy.compile(m.retryPolicy);
    this.grpcTimeout = m.grpcTimeout ?? null;
    this.maxStreamDurationMs = m.maxStreamDurationMs ?? 0;
    this.priority = m.priority ?? 'DEFAULT';
    this.attemptCountInRequest = m.attemptCountInRequest === true;
    this.attemptCountInResponse = m.attemptCountInResponse === true;
    this.prefixRewrite = m.prefixRewrite;
    this.regex = m.regexRewrite === null ? null : new RegexRewriter(m.regexRewrite);
    this.matchedLength = matchedLength;
    const c = m.cluster;
    const perCluster = new Map<string, ClusterMutations>();
    if (c.kind === 'weighted') {
      this.spec = 2;
      this.cluster = '';
      this.names = c.clusters.map((w) => w.name);
      let acc = 0;
      this.cumulative = c.clusters.map((w) => {
        acc += w.weight;
        return acc;
      });
      this.total = c.totalWeight;
      for (const w of c.clusters) {
        if (perCluster.has(w.name)) continue;
        perCluster.set(w.name, {
          requestHeaders: levelsToMutations(w.requestHeaders),
          responseHeaders: levelsToMutations(w.responseHeaders),
          hostRewriteLiteral: w.hostRewriteLiteral,
        });
      }
    } else {
      this.spec = c.kind === 'cluster' ? 0 : 1;
      this.cluster = c.kind === 'cluster' ? c.name : c.header;
      this.names = [];
      this.cumulative = [];
      this.total = 0;
    }
    this.perCluster = perCluster;
  }

  selectCluster(headers: IncomingHttpHeaders, random: number): string {
    if (this.spec === 0) return this.cluster;
    if (this.spec === 1) {
      const v = headers[this.cluster];
      if (v === undefined) return '';
      return typeof v === 'string' ? v : (v[0] ?? '');
    }
    // Envoy: pick = random % total, then the first cluster whose cumulative weight exceeds it.
    let pick = Math.floor(random * this.total);
    if (pick >= this.total) pick = this.total - 1;
    if (pick < 0) pick = 0;
    const cum = this.cumulative;
    for (let i = 0; i < cum.length; i++) if (pick < cum[i]) return this.names[i];
    return this.names[this.names.length - 1];
  }

  clusterMutations(cluster: string): ClusterMutations | null {
    return this.perCluster.get(cluster) ?? null;
  }

  rewritePath(path: string): string {
    return rewriteWith(path, this.prefixRewrite, this.regex, this.matchedLength);
  }
}

/**
 * The request host for a redirect, as Envoy's processRequestHost: drop the port when a new port
 * is given, or when the scheme changes away from a default port (http :80, https :443).
 */
export function redirectHost(
  authority: string,
  requestScheme: string,
  newScheme: string,
  newPort: string,
): string {
  if (authority === '') return authority;
  let end: number;
  if (authority.charCodeAt(0) === 0x5b) {
    end = authority.lastIndexOf(']:');
    if (end >= 0) end += 1;
  } else {
    end = authority.lastIndexOf(':');
  }
  if (end < 0) return authority;
  const port = authority.slice(end);
  let remove = newPort !== '';
  if (newScheme !== requestScheme) {
    remove ||= requestScheme === 'https' && port === ':443';
    remove ||= requestScheme === 'http' && port === ':80';
  }
  return remove ? authority.slice(0, end) : authority;
}

export class RedirectAction {
  readonly kind = 'redirect' as const;
  readonly status: number;
  private readonly scheme: string | null;
  private readonly host: string | null;
  private readonly port: string;
  private readonly pathRedirect: string | null;
  private readonly pathRedirectHasQuery: boolean;
  private readonly prefixRewrite: string | null;
  private readonly regex: RegexRewriter | null;
  private readonly stripQuery: boolean;
  private readonly matchedLength: MatchedLength;

  constructor(m: RedirectActionModel, matchedLength: MatchedLength) {
    this.status = m.status;
    this.scheme = m.scheme;
    this.host = m.host;
    this.port = m.port > 0 ? `:${m.port}` : '';
    this.pathRedirect = m.pathRedirect;
    this.pathRedirectHasQuery = m.pathRedirect?.includes('?') === true;
    this.prefixRewrite = m.prefixRewrite;
    this.regex = m.regexRewrite === null ? null : new RegexRewriter(m.regexRewrite);
    this.stripQuery = m.stripQuery;
    this.matchedLength = matchedLength;
  }

  location(req: RouteRequest): string {
    const scheme = this.scheme ?? req.scheme;
    const host = this.host ?? redirectHost(req.authority, req.scheme, scheme, this.port);
    let path: string;
    if (this.pathRedirect !== null) {
      // A query in path_redirect replaces the request's and survives strip_query.
      const q = this.pathRedirectHasQuery ? -1 : req.path.indexOf('?');
      path = q < 0 ? this.pathRedirect : this.pathRedirect + req.path.slice(q);
    } else {
      path = rewriteWith(req.path, this.prefixRewrite, this.regex, this.matchedLength);
    }
    if (!path.startsWith('/')) path = `/${path}`;
    if (this.stripQuery && !this.pathRedirectHasQuery) {
      const q = path.indexOf('?');
      if (q >= 0) path = path.slice(0, q);
    }
    return `${scheme}://${host}${this.port}${path}`;
  }
}

export class DirectResponseAction {
  readonly kind = 'direct_response' as const;
  readonly status: number;
  readonly body: Buffer | null;
  private readonly addsLocation: boolean;

  constructor(m: DirectResponseModel) {
    this.status = m.status;
    this.body = m.body;
    this.addsLocation = m.status === 201 || (m.status >= 300 && m.status < 400);
  }

  location(req: RouteRequest): string | null {
    if (!this.addsLocation) return null;
    return `${req.scheme}://${req.authority}${req.path}`;
  }
}

/** An https redirect for virtual hosts with require_tls (Envoy answers 301). */
export const TLS_REDIRECT: RedirectActionModel = {
  kind: 'redirect',
  scheme: 'https',
  host: null,
  port: 0,
  pathRedirect: null,
  prefixRewrite: null,
  regexRewrite: null,
  status: 301,
  stripQuery: false,
};

// Compile-time check that the classes satisfy the contract.
const _check: (a: ForwardAction | RedirectAction | DirectResponseAction) => RouteAction = (a) => a;
void _check;
