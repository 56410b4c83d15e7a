import type { LocalityLoadCounters } from './load-stats.js';

/**
 * One upstream endpoint. Hosts are shared by the cluster's host sets, load balancers and pools;
 * per-host counters live here as plain numbers so a pick or a request touches no map.
 */
export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export const NO_LOCALITY: Locality = Object.freeze({ region: '', zone: '', subZone: '' });

export function localityKey(l: Locality): string {
  return `${l.region}/${l.zone}/${l.subZone}`;
}

/** Why a host is not healthy, as a bit set (Envoy's Host::HealthFlag). */
export const HealthFlag = {
  FailedActiveHc: 1 << 0,
  FailedOutlierCheck: 1 << 1,
  FailedEdsHealth: 1 << 2,
  DegradedActiveHc: 1 << 3,
  DegradedEdsHealth: 1 << 4,
  PendingDynamicRemoval: 1 << 5,
  PendingActiveHc: 1 << 6,
  ExcludedViaImmediateHcFail: 1 << 7,
  ActiveHcTimeout: 1 << 8,
} as const;

const UNHEALTHY_MASK =
  HealthFlag.FailedActiveHc |
  HealthFlag.FailedOutlierCheck |
  HealthFlag.FailedEdsHealth |
  HealthFlag.ActiveHcTimeout;
const DEGRADED_MASK = HealthFlag.DegradedActiveHc | HealthFlag.DegradedEdsHealth;

/** A locally detected failure of a request or connection to a host (outlier detection input). */
export type LocalFailure = 'connect_failed' | 'timeout' | 'reset';

/**
 * Where the router and tcp_proxy report each outcome for passive health checking (outlier
 * detection, proxy/upstream/outlier/). Set on the host by its cluster's detector; null without one.
 */
export interface HostOutcomeSink {
  /** An upstream response head arrived with this status. */
  putHttpStatus(status: number): void;
  /** Connect refused / timed out, the stream was reset, or the request timed out. */
  putLocalFailure(kind: LocalFailure): void;
  /** A connection was made and is used as the final result (tcp_proxy). */
  putLocalSuccess(): void;
}

export interface HostInit {
  readonly address: string;
  readonly port: number;
  /** The DNS name this host was resolved from, or '' (Envoy's hostname, used by auto_host_rewrite). */
  readonly hostname?: string;
  readonly weight?: number;
  readonly locality?: Locality;
  readonly priority?: number;
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Port active health checks use instead of `port` (endpoint health_check_config); 0 = port. */
  readonly healthCheckPort?: number;
}

export class Host {
  readonly address: string;
  readonly port: number;
  /** `ip:port` (`[v6]:port`), the identity of the host within a cluster and its name in /clusters. */
  readonly key: string;
  readonly hostname: string;
  readonly weight: number;
  readonly locality: Locality;
  readonly priority: number;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Port active health checks go to instead of `port` (endpoint health_check_config); 0 = `port`. */
  readonly healthCheckPort: number;

  healthFlags = 0;
  /** Outlier detection's per-host monitor; null when the cluster has no outlier_detection. */
  outlier: HostOutcomeSink | null = null;
  /**
   * Load reporting (LRS): the counters of this host's cluster, locality and priority, which the
   * router begins and ends every request on; null when the proxy does not report load.
   */
  load: LocalityLoadCounters | null = null;

  // Per-host counters (Envoy's host stats: rq_active, rq_total, rq_error, rq_success, cx_active,
  // cx_total, cx_connect_fail), read by /clusters and by request-aware load balancers.
  rqActive = 0;
  rqTotal = 0;
  rqError = 0;
  rqSuccess = 0;
  rqTimeout = 0;
  cxActive = 0;
  cxTotal = 0;
  cxConnectFail = 0;

  constructor(init: HostInit) {
    this.address = init.address;
    this.port = init.port;
    this.key = init.address.includes(':') ? `[${init.address}]:${init.port}` : `${init.address}:${init.port}`;
    this.hostname = init.hostname ?? '';
    this.weight = init.weight ?? 1;
    this.locality = init.locality ?? NO_LOCALITY;
    this.priority = init.priority ?? 0;
    this.metadata = init.metadata ?? {};
    this.healthCheckPort = init.healthCheckPort ?? 0;
  }

  get healthy(): boolean {
    return (this.healthFlags & UNHEALTHY_MASK) === 0;
  }

  get degraded(): boolean {
    return (this.healthFlags & DEGRADED_MASK) !== 0;
  }
}
