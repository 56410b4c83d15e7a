import type { ClusterModel, EndpointHealthStatus, LoadAssignmentModel } from '../model/cluster.js';
import { HealthFlag, type HostInit } from './host.js';

/**
 * Host discovery: how a cluster learns its hosts. A factory per discovery type lives in
 * proxy/extensions/clusters/<type>/; it creates one discovery per running cluster, which pushes the
 * complete current host list to the sink whenever it changes (the cluster diffs it against the
 * hosts it has, so unchanged hosts keep their pools, counters and health).
 */
export interface DiscoveredHost {
  readonly init: HostInit;
  /** Health flags from the source (EDS health_status): FailedEdsHealth / DegradedEdsHealth. */
  readonly edsHealthFlags: number;
}

export interface DiscoverySink {
  /** The complete host list, replacing the previous one. */
  setHosts(hosts: readonly DiscoveredHost[]): void;
  /** A resolution attempt finished (stats: update_attempt / update_success / update_failure). */
  updateResult(ok: boolean): void;
}

export interface HostDiscovery {
  /** Starts discovering; the first setHosts (or updateResult(false)) completes cluster warm-up. */
  start(sink: DiscoverySink): void;
  /** Stops timers and ignores answers still in flight. */
  stop(): void;
  /**
   * True when start() only pushes a fixed host list, synchronously, and starts nothing (no timers,
   * no I/O): STATIC. A cluster built off to the side (a CDS update in slices) may then start early.
   */
  readonly synchronous?: boolean;
}

export interface ClusterDiscoveryFactory {
  /** The Cluster.type this factory serves (STATIC, STRICT_DNS, LOGICAL_DNS). */
  readonly type: string;
  create(model: ClusterModel): HostDiscovery;
}

/** EDS-style health_status → the host's EDS health flags. */
export function edsHealthFlags(status: EndpointHealthStatus): number {
  switch (status) {
    case 'UNHEALTHY':
    case 'DRAINING':
    case 'TIMEOUT':
      return HealthFlag.FailedEdsHealth;
    case 'DEGRADED':
      return HealthFlag.DegradedEdsHealth;
    default:
      return 0;
  }
}

/** Every endpoint of an assignment as a host (STATIC and EDS clusters, whose addresses are IPs). */
export function hostsFromAssignment(la: LoadAssignmentModel): DiscoveredHost[] {
  const out: DiscoveredHost[] = [];
  for (const l of la.localities) {
    for (const e of l.endpoints) {
      out.push({
        init: {
          address: e.address,
          port: e.port,
          hostname: e.hostname,
          weight: e.weight,
          locality: l.locality,
          priority: l.priority,
          healthCheckPort: e.healthCheckPort ?? 0,
        },
        edsHealthFlags: edsHealthFlags(e.healthStatus),
      });
    }
  }
  return out;
}
