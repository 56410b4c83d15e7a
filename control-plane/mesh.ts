/**
 * The mesh model: what a mesh file declares, after validation. Plain readonly data, no protos; the
 * snapshot builder (resources.ts) turns it into xDS resources.
 */

export type Protocol = 'http1' | 'http2';

/** Envoy's Cluster.LbPolicy values the mesh file accepts, in their lower-case mesh spelling. */
export const LB_POLICIES = {
  round_robin: 'ROUND_ROBIN',
  least_request: 'LEAST_REQUEST',
  random: 'RANDOM',
  ring_hash: 'RING_HASH',
  maglev: 'MAGLEV',
} as const;
export type LbPolicy = keyof typeof LB_POLICIES;

/** envoy.config.core.v3.HealthStatus, lower-case in the mesh file. */
export const HEALTH_STATUSES = {
  unknown: 'UNKNOWN',
  healthy: 'HEALTHY',
  unhealthy: 'UNHEALTHY',
  draining: 'DRAINING',
  timeout: 'TIMEOUT',
  degraded: 'DEGRADED',
} as const;
export type HealthStatus = keyof typeof HEALTH_STATUSES;

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly sub_zone: string;
}

export interface MeshEndpoint {
  readonly address: string;
  readonly port: number;
  readonly locality: Locality;
  readonly weight: number;
  readonly priority: number;
  readonly health_status: HealthStatus;
}

export interface MeshService {
  readonly name: string;
  readonly protocol: Protocol;
  readonly lb_policy: LbPolicy;
  readonly connect_timeout_ms: number;
  /** Also serve an API listener named after the service, for proxyless gRPC (xds:///<name>). */
  readonly grpc: boolean;
  readonly endpoints: readonly MeshEndpoint[];
}

export interface MeshBackend {
  readonly service: string;
  readonly weight: number;
}

export interface MeshRetries {
  readonly attempts: number;
  /** Envoy's retry_on list, e.g. `5xx,reset,connect-failure`. */
  readonly on: string;
  readonly per_try_timeout_ms: number | null;
}

export interface MeshRouteRule {
  readonly prefix: string;
  /** One backend is a plain `cluster`; several are `weighted_clusters`. */
  readonly backends: readonly MeshBackend[];
  readonly timeout_ms: number | null;
  readonly retries: MeshRetries | null;
}

export interface MeshRouteTable {
  readonly name: string;
  readonly domains: readonly string[];
  readonly rules: readonly MeshRouteRule[];
}

export interface MeshListener {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** The route table (RouteConfiguration) this listener's connection manager uses. */
  readonly routes: string;
}

export interface MeshNode {
  readonly id: string;
  /** The socket listeners this node receives; null means every listener. */
  readonly listeners: readonly string[] | null;
}

export interface Mesh {
  readonly services: readonly MeshService[];
  readonly routes: readonly MeshRouteTable[];
  readonly listeners: readonly MeshListener[];
  readonly nodes: readonly MeshNode[];
}
