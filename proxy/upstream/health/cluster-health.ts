import type { StatsStore } from '../../observability/stats.js';
import type { ClusterStats } from '../cluster-stats.js';
import { HealthFlag, type Host } from '../host.js';
import type { OutlierDetectionModel } from '../outlier/config.js';
import { OutlierDetector } from '../outlier/detector.js';
import { ActiveHealthChecker } from './checker.js';
import type { HealthCheckModel } from './config.js';

/** Flags owned by active health checking. */
const ACTIVE_HC_FLAGS =
  HealthFlag.FailedActiveHc |
  HealthFlag.PendingActiveHc |
  HealthFlag.ActiveHcTimeout |
  HealthFlag.DegradedActiveHc;

/** What ManagedCluster offers to its health machinery. */
export interface HealthHost {
  readonly stats: ClusterStats;
  allHosts(): readonly Host[];
  refreshHealth(): void;
  onHostsChanged(cb: () => void): void;
}

export interface HealthConfig {
  readonly name: string;
  readonly outlierDetection: OutlierDetectionModel | null;
  readonly healthChecks: readonly HealthCheckModel[];
}

/**
 * A cluster's passive (outlier detection) and active health checking, wired to its host set:
 * both follow membership changes through onHostsChanged and report flag changes through
 * refreshHealth, so the cluster itself knows nothing of either.
 */
export class ClusterHealth {
  readonly outlier: OutlierDetector | null;
  readonly checkers: readonly ActiveHealthChecker[];

  /** Null when the cluster configures neither. */
  static attach(cfg: HealthConfig, cluster: HealthHost, store: StatsStore): ClusterHealth | null {
    if (cfg.outlierDetection === null && cfg.healthChecks.length === 0) return null;
    return new ClusterHealth(cfg, cluster, store);
  }

  private constructor(cfg: HealthConfig, cluster: HealthHost, store: StatsStore) {
    const od =
      cfg.outlierDetection === null
        ? null
        : new OutlierDetector(cfg.outlierDetection, cfg.name, cluster, store);
    this.outlier = od;
    const target = {
      allHosts: () => cluster.allHosts(),
      refreshHealth: () => cluster.refreshHealth(),
      hasTraffic: () => cluster.stats.upstream_cx_total.value > 0,
    };
    const onPass = od === null ? null : (h: Host) => od.onActiveHealthCheckSuccess(h);
    this.checkers = cfg.healthChecks.map(
      (hc) => new ActiveHealthChecker(hc, cfg.name, target, store, onPass),
    );
    cluster.onHostsChanged(() => {
      od?.syncHosts();
      for (const c of this.checkers) c.syncHosts();
    });
  }

  /**
   * A cluster update kept `host` (the same Host object) from the cluster `previous` had health
   * for: active health flags carry over when both configs check actively, an outlier ejection when
   * both detect outliers; what the new config no longer does is cleared. `flags` are the host's
   * flags before this cluster's checkers saw it (they mark new hosts pending).
   */
  adopt(host: Host, flags: number, previous: ClusterHealth | null): void {
    const hc = ACTIVE_HC_FLAGS;
    if (this.checkers.length === 0) host.healthFlags &= ~hc;
    else if (previous !== null && previous.checkers.length > 0)
      host.healthFlags = (host.healthFlags & ~hc) | (flags & hc);
    if (this.outlier !== null && previous?.outlier != null)
      this.outlier.adoptEjection(host, previous.outlier);
    else if (this.outlier === null) host.healthFlags &= ~HealthFlag.FailedOutlierCheck;
  }

  stop(): void {
    this.outlier?.stop();
    for (const c of this.checkers) c.stop();
  }
}

/** What logHealthEvents writes to (a pino logger satisfies it). */
export interface EventLogger {
  info(obj: object, msg: string): void;
}

/**
 * Logs a cluster's outlier ejections/returns and active health transitions as events, for the
 * composition root to call once per cluster (the cluster itself has no logger).
 */
export function logHealthEvents(health: ClusterHealth | null, log: EventLogger): void {
  if (health === null) return;
  health.outlier?.onEvent((e) => {
    log.info(
      { ...e },
      e.action === 'eject'
        ? e.enforced
          ? 'outlier: host ejected'
          : 'outlier: ejection detected, not enforced'
        : 'outlier: host returned',
    );
  });
  for (const c of health.checkers) {
    c.onEvent((e) => log.info({ ...e }, `health check: ${e.event}`));
  }
}
