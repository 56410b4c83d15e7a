import type { GrpcTimeoutModel } from './grpc-timeout.js';
import type { HashPolicyModel } from './hash-policy-model.js';
import type { RetryPolicyModel } from './retry-policy.js';

/**
 * The route configuration model: plain, readonly, proto-free data produced by
 * proxy/xds/route-configuration.ts from an envoy.config.route.v3.RouteConfiguration and compiled
 * by proxy/router/compile.ts. Regexes are kept as their (validated) RE2 source so that the model
 * stays serialisable for config_dump; compilation happens once, in compile.ts.
 */

export type AppendAction = 'append' | 'add_if_absent' | 'overwrite' | 'overwrite_if_exists';

export interface HeaderAddModel {
  /** Lower-case name. */
  readonly name: string;
  /** The literal value (formatters resolved: only `%%` is supported, already unescaped). */
  readonly value: string;
  readonly action: AppendAction;
}

/** One level's header mutations (route configuration, virtual host, route or weighted cluster). */
export interface HeaderLevelModel {
  readonly add: readonly HeaderAddModel[];
  /** Lower-case names. */
  readonly remove: readonly string[];
}

export type StringMatchModel =
  | {
      readonly kind: 'exact' | 'prefix' | 'suffix' | 'contains';
      readonly value: string;
      readonly ignoreCase: boolean;
    }
  | { readonly kind: 'regex'; readonly regex: string };

export type HeaderMatchSpecModel =
  | { readonly kind: 'string'; readonly match: StringMatchModel }
  | { readonly kind: 'present'; readonly present: boolean }
  | { readonly kind: 'range'; readonly start: number; readonly end: number };

export interface HeaderMatcherModel {
  /** Lower-case; may be a pseudo-header (`:method`, `:authority`, `:path`, `:scheme`). */
  readonly name: string;
  readonly spec: HeaderMatchSpecModel;
  readonly invert: boolean;
  readonly treatMissingAsEmpty: boolean;
}

export interface QueryParameterMatcherModel {
  readonly name: string;
  /** null: presence check (Envoy treats present_match of either value as "is present"). */
  readonly match: StringMatchModel | null;
}

export type PathMatchModel =
  | { readonly kind: 'prefix' | 'path' | 'path_separated_prefix'; readonly value: string }
  | { readonly kind: 'regex'; readonly regex: string };

export interface RouteMatchModel {
  readonly path: PathMatchModel;
  readonly caseSensitive: boolean;
  readonly headers: readonly HeaderMatcherModel[];
  readonly queryParameters: readonly QueryParameterMatcherModel[];
  /** RouteMatch.grpc: only gRPC requests (content-type application/grpc*). */
  readonly grpc: boolean;
}

export interface WeightedClusterModel {
  readonly name: string;
  readonly weight: number;
  readonly requestHeaders: HeaderLevelModel;
  readonly responseHeaders: HeaderLevelModel;
  readonly hostRewriteLiteral: string | null;
}

export type ClusterSpecModel =
  | { readonly kind: 'cluster'; readonly name: string }
  | { readonly kind: 'cluster_header'; readonly header: string }
  | {
      readonly kind: 'weighted';
      readonly clusters: readonly WeightedClusterModel[];
      readonly totalWeight: number;
    };

export interface RegexRewriteModel {
  readonly regex: string;
  /** RE2 rewrite string (`\1`). */
  readonly substitution: string;
}

export interface ForwardActionModel {
  readonly kind: 'route';
  readonly cluster: ClusterSpecModel;
  readonly prefixRewrite: string | null;
  readonly regexRewrite: RegexRewriteModel | null;
  readonly hostRewriteLiteral: string | null;
  readonly autoHostRewrite: boolean;
  readonly timeoutMs: number;
  /** -1: not set (the connection manager's stream idle timeout applies). */
  readonly idleTimeoutMs: number;
  /** cluster_not_found_response_code as a status (503 default, 404, 500). */
  readonly clusterNotFoundStatus: number;
  /** hash_policy, in order; absent or empty when the route has none. */
  readonly hashPolicies?: readonly HashPolicyModel[];
  /** retry_policy (route level, else the virtual host's); absent = no retries (proxy/router/retry-policy.ts). */
  readonly retryPolicy?: RetryPolicyModel;
  /** max_stream_duration.grpc_timeout_header_max/_offset (proxy/router/grpc-timeout.ts). */
  readonly grpcTimeout?: GrpcTimeoutModel;
  /** max_stream_duration.max_stream_duration in ms (absent: none). */
  readonly maxStreamDurationMs?: number;
  /** priority (RoutingPriority); absent = DEFAULT. Selects the circuit-breaker thresholds. */
  readonly priority?: 'DEFAULT' | 'HIGH';
  /** The virtual host's include_request_attempt_count / include_attempt_count_in_response. */
  readonly attemptCountInRequest?: boolean;
  readonly attemptCountInResponse?: boolean;
}

export interface RedirectActionModel {
  readonly kind: 'redirect';
  /** scheme_redirect or 'https' for https_redirect; null keeps the request's scheme. */
  readonly scheme: string | null;
  readonly host: string | null;
  /** 0: not set. */
  readonly port: number;
  readonly pathRedirect: string | null;
  readonly prefixRewrite: string | null;
  readonly regexRewrite: RegexRewriteModel | null;
  readonly status: number;
  readonly stripQuery: boolean;
}

export interface DirectResponseModel {
  readonly kind: 'direct_response';
  readonly status: number;
  readonly body: Buffer | null;
}

export type RouteActionModel = ForwardActionModel | RedirectActionModel | DirectResponseModel;

export interface RouteModel {
  readonly name: string;
  readonly match: RouteMatchModel;
  readonly action: RouteActionModel;
  readonly requestHeaders: HeaderLevelModel;
  readonly responseHeaders: HeaderLevelModel;
}

export interface VirtualHostModel {
  readonly name: string;
  /** Lower-case. */
  readonly domains: readonly string[];
  readonly routes: readonly RouteModel[];
  /** 'NONE' | 'EXTERNAL_ONLY' | 'ALL'. */
  readonly requireTls: 'NONE' | 'EXTERNAL_ONLY' | 'ALL';
  readonly requestHeaders: HeaderLevelModel;
  readonly responseHeaders: HeaderLevelModel;
}

export interface RouteConfigModel {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHostModel[];
  readonly requestHeaders: HeaderLevelModel;
  readonly responseHeaders: HeaderLevelModel;
  /** Lower-case; the connection manager strips these from external requests. */
  readonly internalOnlyHeaders: readonly string[];
  /** false: route, then virtual host, then route configuration (the last applied wins). */
  readonly mostSpecificHeaderMutationsWins: boolean;
  readonly ignorePortInHostMatching: boolean;
}

export const EMPTY_HEADER_LEVEL: HeaderLevelModel = Object.freeze({ add: [], remove: [] });
