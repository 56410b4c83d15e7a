import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { GrpcTimeoutModel } from './grpc-timeout.js';
import type { HashPolicy } from './hash-policy.js';
import type { RetryPolicy } from './retry-policy.js';

/**
 * The router's contract with the connection manager. A RouteConfiguration is translated to a
 * model and compiled once (proxy/router/compile.ts) into a RouteTable; the connection manager calls
 * `match` once per request and then asks the matched route what to do. Nothing here compiles or
 * validates per request.
 */
export interface RouteRequest {
  /** Host header / :authority, as received (may carry a port). */
  readonly authority: string;
  /** The path after normalisation (normalize_path, merge_slashes), query string included. */
  readonly path: string;
  readonly method: string;
  /** 'http' or 'https' (x-forwarded-proto as the connection manager resolved it). */
  readonly scheme: string;
  /** Request headers, lower-case names (HTTP/2 pseudo-headers excluded). */
  readonly headers: IncomingHttpHeaders;
}

/** A header to add; `append` false overwrites (Envoy's append_action OVERWRITE_IF_EXISTS_OR_ADD). */
export interface HeaderToAdd {
  readonly name: string;
  readonly value: string;
  readonly action: 'append' | 'add_if_absent' | 'overwrite' | 'overwrite_if_exists';
}

/** One level's removals and additions; Envoy removes first, then adds, level by level. */
export interface HeaderMutationLevel {
  readonly add: readonly HeaderToAdd[];
  /** Lower-case names. */
  readonly remove: readonly string[];
}

/** Header add/remove lists, already merged from route configuration, virtual host and route. */
export interface HeaderMutations {
  /** Applied in order: route, then virtual host, then route configuration (Envoy's default). */
  readonly add: readonly HeaderToAdd[];
  readonly remove: readonly string[];
  /**
   * The same entries per level, in application order. Each level removes, then adds, before the
   * next level runs (so a route configuration level removal wins over a route level addition, as in
   * Envoy). applyHeaderMutations uses this; `add`/`remove` are the flattened view.
   */
  readonly levels: readonly HeaderMutationLevel[];
}

/** Extra mutations of the weighted cluster that selectCluster picked (applied before the route's). */
export interface ClusterMutations {
  readonly requestHeaders: HeaderMutations;
  readonly responseHeaders: HeaderMutations;
  /** ClusterWeight.host_rewrite_literal, or null. */
  readonly hostRewriteLiteral: string | null;
}

export type RouteAction =
  | {
      readonly kind: 'route';
      /**
       * The cluster for this request: a fixed name, a weighted pick (by `random`, 0 <= r < 1), or
       * the value of a request header (cluster_header). Returns '' when cluster_header is absent.
       */
      selectCluster(headers: IncomingHttpHeaders, random: number): string;
      /** Path sent upstream after prefix_rewrite / regex_rewrite, or the input when none applies. */
      rewritePath(path: string): string;
      /** host_rewrite_literal, or null. */
      readonly hostRewriteLiteral: string | null;
      /** auto_host_rewrite: Host becomes the chosen upstream host's hostname. */
      readonly autoHostRewrite: boolean;
      /** Route timeout in ms; 0 disables (Envoy's default is 15 s). */
      readonly timeoutMs: number;
      /** Idle timeout for the stream in ms, or -1 to inherit the connection manager's. */
      readonly idleTimeoutMs: number;
      /** Status when the selected cluster does not exist (cluster_not_found_response_code; 503). */
      readonly clusterNotFoundStatus: number;
      /**
       * For weighted_clusters: the chosen cluster's own header mutations and host rewrite, which
       * Envoy applies before the route's; null for other cluster specifiers or an unknown name.
       */
      clusterMutations(cluster: string): ClusterMutations | null;
      /** The route's compiled hash_policy (proxy/router/hash-policy.ts); null or absent when none. */
      readonly hashPolicy?: HashPolicy | null;
      /** retry_policy compiled (proxy/router/retry-policy.ts); absent or null = no retries. */
      readonly retryPolicy?: RetryPolicy | null;
      /** max_stream_duration.grpc_timeout_header_max: gRPC requests take grpc-timeout as the timeout. */
      readonly grpcTimeout?: GrpcTimeoutModel | null;
      /** max_stream_duration.max_stream_duration: the stream's lifetime in ms; 0 or absent = none. */
      readonly maxStreamDurationMs?: number;
      /** priority: HIGH uses the cluster's HIGH circuit-breaker thresholds; absent = DEFAULT. */
      readonly priority?: 'DEFAULT' | 'HIGH';
      /** The virtual host's include_request_attempt_count / include_attempt_count_in_response. */
      readonly attemptCountInRequest?: boolean;
      readonly attemptCountInResponse?: boolean;
    }
  | {
      readonly kind: 'redirect';
      /** The Location value for this request and the status (301, 302, 303, 307, 308). */
      location(req: RouteRequest): string;
      readonly status: number;
    }
  | {
      readonly kind: 'direct_response';
      readonly status: number;
      /** Body bytes, or null for none. */
      readonly body: Buffer | null;
      /**
       * Envoy adds `Location: <request URL>` to a direct response whose status is 201 or 3xx; this
       * returns it for those statuses, else null.
       */
      location(req: RouteRequest): string | null;
    };

export interface MatchedRoute {
  /** Route name (%ROUTE_NAME%), '' if unnamed. */
  readonly name: string;
  readonly virtualHostName: string;
  readonly action: RouteAction;
  /** Request header mutations to apply before the request goes upstream. */
  readonly requestHeaders: HeaderMutations;
  /** Response header mutations to apply before the response goes downstream. */
  readonly responseHeaders: HeaderMutations;
}

export interface RouteTable {
  readonly name: string;
  /** RouteConfiguration.internal_only_headers (lower-case): strip from external requests. */
  readonly internalOnlyHeaders: readonly string[];
  /** The route for this request, or null (404, response flag NR). */
  match(req: RouteRequest): MatchedRoute | null;
}

/** Applies header mutations in place to a header object (names lower-case). */
export type ApplyHeaderMutations = (headers: OutgoingHttpHeaders, mutations: HeaderMutations) => void;
