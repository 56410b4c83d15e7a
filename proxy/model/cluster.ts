import type { RetryBudgetModel } from '../upstream/circuit-breakers.js';
import type { HealthCheckModel } from '../upstream/health/config.js';
import type { Locality } from '../upstream/host.js';
import type { LbPolicyFactory } from '../upstream/load-balancer.js';
import type { OutlierDetectionModel } from '../upstream/outlier/config.js';

/**
 * A cluster as the data plane understands it, translated from envoy.config.cluster.v3.Cluster
 * (proxy/xds/cluster.ts) and never mutated afterwards. The cluster manager compares models with
 * clusterModelsEqual to decide whether an update keeps the running cluster (pools, health, LB state).
 */
export type DiscoveryType = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS';

export type DnsLookupFamily = 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';

/** core.v3.HealthStatus as sent by a control plane (EDS) or written in a static assignment. */
export type EndpointHealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface EndpointModel {
  /** IP literal for STATIC/EDS, a DNS name (or IP) for STRICT_DNS/LOGICAL_DNS. */
  readonly address: string;
  readonly port: number;
  /** endpoint.hostname: the name used for auto_host_rewrite ('' when unset). */
  readonly hostname: string;
  readonly healthStatus: EndpointHealthStatus;
  /** load_balancing_weight, 1 when unset. */
  readonly weight: number;
  /** endpoint.health_check_config.port_value: where active health checks go (0/absent = port). */
  readonly healthCheckPort?: number;
}

export interface LocalityEndpointsModel {
  readonly locality: Locality;
  /** Locality load_balancing_weight; 0 when unset. */
  readonly weight: number;
  readonly priority: number;
  readonly endpoints: readonly EndpointModel[];
}

export interface LoadAssignmentModel {
  readonly clusterName: string;
  readonly localities: readonly LocalityEndpointsModel[];
  /** policy.overprovisioning_factor in percent (Envoy's default 140). */
  readonly overprovisioningFactor: number;
}

export interface SocketAddressModel {
  readonly address: string;
  readonly port: number;
}

export interface Http2OptionsModel {
  /** max_concurrent_streams we advertise (SETTINGS), default 2147483647. */
  readonly maxConcurrentStreams: number;
  readonly initialStreamWindowSize: number;
  readonly initialConnectionWindowSize: number;
}

export interface ThresholdsModel {
  readonly priority: 'DEFAULT' | 'HIGH';
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
  /** retry_budget (proxy/upstream/circuit-breakers.ts); replaces maxRetries when set. */
  readonly retryBudget?: RetryBudgetModel;
  readonly trackRemaining?: boolean;
}

export interface ClusterModel {
  readonly name: string;
  readonly type: DiscoveryType;
  readonly connectTimeoutMs: number;
  /** The lb_policy enum name (or the typed policy's extension name). */
  readonly lbPolicy: string;
  readonly lbFactory: LbPolicyFactory;
  /** What lbFactory.parseConfig returned for the cluster's *_lb_config. */
  readonly lbConfig: unknown;
  /** load_assignment; an empty assignment for EDS until endpoints are pushed. */
  readonly loadAssignment: LoadAssignmentModel;
  /** eds_cluster_config.service_name, or the cluster name when unset (EDS only). */
  readonly edsServiceName: string;
  readonly dnsRefreshRateMs: number;
  readonly dnsLookupFamily: DnsLookupFamily;
  /** Explicit DNS servers (dns_resolvers); empty → the system resolver (getaddrinfo, /etc/hosts). */
  readonly dnsResolvers: readonly SocketAddressModel[];
  readonly respectDnsTtl: boolean;
  readonly protocol: 'http1' | 'http2';
  /** Present when protocol is http2. */
  readonly http2: Http2OptionsModel | null;
  /** common_http_protocol_options.idle_timeout; default 1 h; 0 disables. */
  readonly idleTimeoutMs: number;
  /** common_http_protocol_options.max_requests_per_connection; 0 = unlimited. */
  readonly maxRequestsPerConnection: number;
  /** per_connection_buffer_limit_bytes, default 1 MiB. */
  readonly perConnectionBufferLimitBytes: number;
  /** circuit_breakers.thresholds (model only: enforcement comes with the resilience issue). */
  readonly circuitBreakers: readonly ThresholdsModel[];
  /** track_cluster_stats.per_endpoint_stats: publish cluster.<name>.endpoint.<address>.* stats. */
  readonly perEndpointStats?: boolean;
  /** common_lb_config; absent means Envoy's defaults (panic at 50%, no locality weighting). */
  readonly commonLb?: CommonLbModel;
  /** outlier_detection (proxy/upstream/outlier/); absent = no passive health checking. */
  readonly outlierDetection?: OutlierDetectionModel;
  /** health_checks (proxy/upstream/health/); absent = no active health checking. */
  readonly healthChecks?: readonly HealthCheckModel[];
}

/** Cluster.common_lb_config (the parts remora implements). */
export interface CommonLbModel {
  /** healthy_panic_threshold in percent (default 50; 0 disables panic mode). */
  readonly healthyPanicThresholdPercent: number;
  /** locality_weighted_lb_config is set: pick a locality by weight, then a host inside it. */
  readonly localityWeighted: boolean;
}

/**
 * Structural equality of two models (plain data; factories compared by identity). Used on cluster
 * updates: an equal model keeps the running cluster, its pools and its state.
 */
export function clusterModelsEqual(a: ClusterModel, b: ClusterModel): boolean {
  return deepEqual(a, b);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of ka) {
    if (!Object.hasOwn(rb, k)) return false;
    if (!deepEqual(ra[k], rb[k])) return false;
  }
  return true;
}
