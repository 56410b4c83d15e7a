import type { Counter, Gauge, StatsStore } from '../../observability/stats.js';
import { HealthFlag, type Host } from '../host.js';
import type { OutlierDetectionModel } from './config.js';
import { type EjectionType, HostMonitor, type MonitorOwner } from './host-monitor.js';

/** What the detector needs of its cluster (ManagedCluster provides it). */
export interface OutlierCluster {
  allHosts(): readonly Host[];
  /** Host health flags changed: rebuild the balancer. */
  refreshHealth(): void;
}

/** One ejection or return, for the event log (Envoy's outlier detection event). */
export interface OutlierEvent {
  readonly cluster: string;
  readonly host: string;
  readonly action: 'eject' | 'uneject';
  readonly type: EjectionType | null;
  /** Whether the ejection was carried out (enforcing_* percentage) or only detected. */
  readonly enforced: boolean;
  readonly numEjections: number;
  readonly timestampMs: number;
}

const TYPES: readonly EjectionType[] = [
  'consecutive_5xx',
  'consecutive_gateway_failure',
  'consecutive_local_origin_failure',
  'success_rate',
  'local_origin_success_rate',
  'failure_percentage',
  'failure_percentage_local_origin',
];

class OutlierStats {
  readonly ejectionsActive: Gauge;
  readonly ejectionsTotal: Counter;
  readonly ejectionsOverflow: Counter;
  readonly ejectionsEnforcedTotal: Counter;
  readonly detected = new Map<EjectionType, Counter>();
  readonly enforced = new Map<EjectionType, Counter>();

  constructor(store: StatsStore, cluster: string) {
    const p = `cluster.${cluster}.outlier_detection.`;
    this.ejectionsActive = store.gauge(`${p}ejections_active`);
    this.ejectionsTotal = store.counter(`${p}ejections_total`);
    this.ejectionsOverflow = store.counter(`${p}ejections_overflow`);
    this.ejectionsEnforcedTotal = store.counter(`${p}ejections_enforced_total`);
    for (const t of TYPES) {
      this.detected.set(t, store.counter(`${p}ejections_detected_${t}`));
      this.enforced.set(t, store.counter(`${p}ejections_enforced_${t}`));
    }
  }
}

/**
 * Passive health checking for one cluster (Envoy's outlier detection): consecutive-error ejections
 * as the errors happen, success-rate and failure-percentage ejections at each interval sweep, and
 * un-ejection once a host's ejection time (base_ejection_time × its ejection count, capped by
 * max_ejection_time) has passed, checked at the sweep as Envoy does. An ejected host carries
 * HealthFlag.FailedOutlierCheck and the cluster rebuilds its balancer without it.
 */
export class OutlierDetector implements MonitorOwner {
  readonly split: boolean;
  readonly consecutive5xx: number;
  readonly consecutiveGatewayFailure: number;
  readonly consecutiveLocalOriginFailure: number;
  private readonly monitors = new Map<Host, HostMonitor>();
  private readonly stats: OutlierStats;
  private readonly listeners: Array<(e: OutlierEvent) => void> = [];
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(
    readonly config: OutlierDetectionModel,
    private readonly clusterName: string,
    private readonly cluster: OutlierCluster,
    store: StatsStore,
    /** Random in [0, 1), replaceable for deterministic tests of enforcing_* percentages. */
    private readonly random: () => number = Math.random,
  ) {
    this.split = config.splitExternalLocalOriginErrors;
    this.consecutive5xx = config.consecutive5xx;
    this.consecutiveGatewayFailure = config.consecutiveGatewayFailure;
    this.consecutiveLocalOriginFailure = config.consecutiveLocalOriginFailure;
    this.stats = new OutlierStats(store, clusterName);
    this.timer = setInterval(() => this.sweep(), config.intervalMs);
    this.timer.unref();
    this.syncHosts();
  }

  /** Called after membership changes: gives new hosts a monitor, forgets hosts that left. */
  syncHosts(): void {
    if (this.stopped) return;
    const hosts = this.cluster.allHosts();
    const present = new Set<Host>();
    for (const h of hosts) {
      present.add(h);
      if (!this.monitors.has(h)) {
        const m = new HostMonitor(this, h);
        this.monitors.set(h, m);
        h.outlier = m;
      }
    }
    for (const [h, m] of this.monitors) {
      if (present.has(h)) continue;
      this.monitors.delete(h);
      if (m.ejected) this.stats.ejectionsActive.dec();
      h.outlier = null;
    }
  }

  /** Subscribes to ejection events (the event log). */
  onEvent(cb: (e: OutlierEvent) => void): void {
    this.listeners.push(cb);
  }

  /** The host's success rate from the last sweep (0..100), -1 when not computed; for /clusters. */
  successRate(hostKey: string): number {
    for (const [h, m] of this.monitors) if (h.key === hostKey) return m.lastExtSuccessRate;
    return -1;
  }

  /** An active health check passed: Envoy un-ejects (successful_active_health_check_uneject_host). */
  onActiveHealthCheckSuccess(host: Host): void {
    if (!this.config.successfulActiveHealthCheckUnejectHost) return;
    const m = this.monitors.get(host);
    if (m?.ejected === true) {
      this.uneject(host, m, performance.now());
      this.cluster.refreshHealth();
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    for (const [h, m] of this.monitors) {
      // A host adopted by the cluster's replacement (adoptEjection) has its new monitor already;
      // its ejection stays counted there (the gauge is the same stat).
      if (h.outlier !== m) continue;
      h.outlier = null;
      if (m.ejected) this.stats.ejectionsActive.dec();
    }
    this.monitors.clear();
  }

  /**
   * A cluster update kept `host`: its ejection under the previous config carries over (Envoy keeps
   * hosts' health across CDS updates), so it is un-ejected by this detector's sweeps.
   */
  adoptEjection(host: Host, previous: OutlierDetector): void {
    const old = previous.monitors.get(host);
    const m = this.monitors.get(host);
    if (old === undefined || m === undefined) return;
    m.ejected = old.ejected;
    m.lastEjectionMs = old.lastEjectionMs;
    m.lastUnejectionMs = old.lastUnejectionMs;
    m.ejectionCount = old.ejectionCount;
    m.jitterMs = old.jitterMs;
    host.outlier = m;
    if (m.ejected) host.healthFlags |= HealthFlag.FailedOutlierCheck;
  }

  // ---- MonitorOwner ----

  onConsecutive(m: HostMonitor, type: EjectionType): void {
    if (this.stopped || m.ejected) return;
    if (this.monitors.get(m.host) !== m) return; // the host left the cluster
    if (this.tryEject(m.host, m, type, performance.now())) this.cluster.refreshHealth();
  }

  // ---- the sweep ----

  /** One interval: returns hosts whose time is up, then runs the statistical ejections. */
  sweep(): void {
    if (this.stopped) return;
    const now = performance.now();
    const c = this.config;
    let changed = false;
    for (const [h, m] of this.monitors) {
      if (m.ejected) {
        const ms = Math.min(c.baseEjectionTimeMs * m.ejectionCount, c.maxEjectionTimeMs) + m.jitterMs;
        if (now - m.lastEjectionMs >= ms) {
          this.uneject(h, m, now);
          changed = true;
        }
      } else if (m.ejectionCount > 0 && now - m.lastUnejectionMs >= c.baseEjectionTimeMs) {
        // A host that has stayed in for a base ejection time loses one step of backoff per
        // interval, so a host that fails again soon is ejected for longer (Envoy's backoff).
        m.ejectionCount--;
        m.lastUnejectionMs = now;
      }
    }
    if (this.statistical(now, false)) changed = true;
    if (this.split && this.statistical(now, true)) changed = true;
    for (const m of this.monitors.values()) {
      m.extTotal = 0;
      m.extSuccess = 0;
      m.localTotal = 0;
      m.localSuccess = 0;
    }
    if (changed) this.cluster.refreshHealth();
  }

  /** Success-rate and failure-percentage ejections over this interval's buckets. */
  private statistical(now: number, local: boolean): boolean {
    const c = this.config;
    const srHosts: Array<[Host, HostMonitor, number]> = [];
    const fpHosts: Array<[Host, HostMonitor, number]> = [];
    for (const [h, m] of this.monitors) {
      const total = local ? m.localTotal : m.extTotal;
      const ok = local ? m.localSuccess : m.extSuccess;
      const rate = total === 0 ? -1 : (100 * ok) / total;
      if (local) m.lastLocalSuccessRate = total >= c.successRateRequestVolume ? rate : -1;
      else m.lastExtSuccessRate = total >= c.successRateRequestVolume ? rate : -1;
      if (m.ejected) continue;
      if (total >= c.successRateRequestVolume) srHosts.push([h, m, rate]);
      if (total >= c.failurePercentageRequestVolume) fpHosts.push([h, m, rate]);
    }
    let changed = false;
    if (srHosts.length >= c.successRateMinimumHosts && srHosts.length > 0) {
      let sum = 0;
      for (const [, , r] of srHosts) sum += r;
      const mean = sum / srHosts.length;
      let v = 0;
      for (const [, , r] of srHosts) v += (r - mean) * (r - mean);
      const threshold = mean - c.successRateStdevFactor * Math.sqrt(v / srHosts.length);
      for (const [h, m, r] of srHosts) {
        if (r < threshold && this.tryEject(h, m, local ? 'local_origin_success_rate' : 'success_rate', now))
          changed = true;
      }
    }
    if (fpHosts.length >= c.failurePercentageMinimumHosts && fpHosts.length > 0) {
      for (const [h, m, r] of fpHosts) {
        if (
          !m.ejected &&
          100 - r >= c.failurePercentageThreshold &&
          this.tryEject(h, m, local ? 'failure_percentage_local_origin' : 'failure_percentage', now)
        )
          changed = true;
      }
    }
    return changed;
  }

  private enforcing(type: EjectionType): number {
    const c = this.config;
    switch (type) {
      case 'consecutive_5xx':
        return c.enforcingConsecutive5xx;
      case 'consecutive_gateway_failure':
        return c.enforcingConsecutiveGatewayFailure;
      case 'consecutive_local_origin_failure':
        return c.enforcingConsecutiveLocalOriginFailure;
      case 'success_rate':
        return c.enforcingSuccessRate;
      case 'local_origin_success_rate':
        return c.enforcingLocalOriginSuccessRate;
      case 'failure_percentage':
        return c.enforcingFailurePercentage;
      case 'failure_percentage_local_origin':
        return c.enforcingFailurePercentageLocalOrigin;
    }
  }

  /** Counts the detection; ejects when enforced and max_ejection_percent allows. */
  private tryEject(host: Host, m: HostMonitor, type: EjectionType, now: number): boolean {
    const s = this.stats;
    s.detected.get(type)?.inc();
    const pct = this.enforcing(type);
    if (pct === 0 || this.random() * 100 >= pct) {
      this.emit(host, m, 'eject', type, false, now);
      return false;
    }
    // Envoy allows an ejection while the ejected share is below max_ejection_percent, so at least
    // one host can always be ejected when the percentage is positive.
    const active = s.ejectionsActive.value;
    const total = this.monitors.size;
    const allowed =
      (total > 0 && (100 * active) / total < this.config.maxEjectionPercent) ||
      (this.config.alwaysEjectOneHost && active === 0);
    if (!allowed) {
      s.ejectionsOverflow.inc();
      return false;
    }
    m.ejected = true;
    m.lastEjectionMs = now;
    m.ejectionCount++;
    m.jitterMs =
      this.config.maxEjectionTimeJitterMs > 0 ? this.random() * this.config.maxEjectionTimeJitterMs : 0;
    host.healthFlags |= HealthFlag.FailedOutlierCheck;
    s.ejectionsActive.inc();
    s.ejectionsTotal.inc();
    s.ejectionsEnforcedTotal.inc();
    s.enforced.get(type)?.inc();
    this.emit(host, m, 'eject', type, true, now);
    return true;
  }

  private uneject(host: Host, m: HostMonitor, now: number): void {
    m.ejected = false;
    m.lastUnejectionMs = now;
    m.resetStreaks();
    host.healthFlags &= ~HealthFlag.FailedOutlierCheck;
    this.stats.ejectionsActive.dec();
    this.emit(host, m, 'uneject', null, true, now);
  }

  private emit(
    host: Host,
    m: HostMonitor,
    action: 'eject' | 'uneject',
    type: EjectionType | null,
    enforced: boolean,
    now: number,
  ): void {
    if (this.listeners.length === 0) return;
    const e: OutlierEvent = {
      cluster: this.clusterName,
      host: host.key,
      action,
      type,
      enforced,
      numEjections: m.ejectionCount,
      timestampMs: performance.timeOrigin + now,
    };
    for (const cb of this.listeners) cb(e);
  }
}
