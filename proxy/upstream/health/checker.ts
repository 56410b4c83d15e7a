import { appendFile } from 'node:fs';
import type http from 'node:http';
import type { Counter, Gauge, StatsStore } from '../../observability/stats.js';
import { HealthFlag, type Host } from '../host.js';
import type { HealthCheckModel } from './config.js';
import { type ProbeResult, probeAgent, startProbe } from './probes.js';

/** What the checker needs of its cluster (ManagedCluster provides it). */
export interface CheckedCluster {
  allHosts(): readonly Host[];
  refreshHealth(): void;
  /** Whether the cluster has carried traffic (else no_traffic_interval applies, as in Envoy). */
  hasTraffic(): boolean;
}

export interface HealthEvent {
  readonly cluster: string;
  readonly host: string;
  /** Envoy's HealthCheckEvent kinds. */
  readonly event: 'eject_unhealthy' | 'add_healthy' | 'health_check_failure';
  readonly checkerType: 'HTTP' | 'TCP' | 'GRPC';
  readonly firstCheck: boolean;
  readonly timestampMs: number;
}

class HcStats {
  readonly attempt: Counter;
  readonly success: Counter;
  readonly failure: Counter;
  readonly networkFailure: Counter;
  readonly passiveFailure: Counter;
  readonly verifyCluster: Counter;
  readonly healthy: Gauge;
  readonly degraded: Gauge;
  constructor(store: StatsStore, cluster: string) {
    const p = `cluster.${cluster}.health_check.`;
    this.attempt = store.counter(`${p}attempt`);
    this.success = store.counter(`${p}success`);
    this.failure = store.counter(`${p}failure`);
    this.networkFailure = store.counter(`${p}network_failure`);
    this.passiveFailure = store.counter(`${p}passive_failure`);
    this.verifyCluster = store.counter(`${p}verify_cluster`);
    this.healthy = store.gauge(`${p}healthy`);
    this.degraded = store.gauge(`${p}degraded`);
  }
}

const CHECKER_TYPE = { http: 'HTTP', tcp: 'TCP', grpc: 'GRPC' } as const;

/** One host's probe loop. */
class HostSession {
  healthyStreak = 0;
  unhealthyStreak = 0;
  timer: NodeJS.Timeout | null = null;
  abort: (() => void) | null = null;
  stopped = false;
  /** reuse_connection for HTTP/1 checks: the host's one keep-alive probe connection. */
  private readonly agent: http.Agent | null;

  constructor(
    readonly host: Host,
    readonly owner: ActiveHealthChecker,
  ) {
    const c = owner.config;
    this.agent =
      c.reuseConnection !== false && c.check.kind === 'http' && !c.check.http2 ? probeAgent() : null;
  }

  schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.run(), ms);
    this.timer.unref();
  }

  run(): void {
    this.timer = null;
    if (this.stopped) return;
    const o = this.owner;
    o.stats.attempt.inc();
    const h = this.host;
    this.abort = startProbe(
      o.config.check,
      // The endpoint's health_check_config.port_value first, then the checker's alt_port.
      {
        address: h.address,
        port: h.healthCheckPort || o.config.altPort || h.port,
        defaultAuthority: o.clusterName,
      },
      o.config.timeoutMs,
      (r) => {
        this.abort = null;
        if (!this.stopped) o.onResult(this, r);
      },
      this.agent,
    );
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.abort?.();
    this.agent?.destroy();
  }
}

/**
 * Active health checking of one cluster with one HealthCheck config (Envoy runs one checker per
 * entry of health_checks). A new host starts as failed_active_hc + pending_active_hc: the first
 * probe decides at once; afterwards unhealthy_threshold failures take it out and healthy_threshold
 * successes bring it back. Interval choice follows Envoy: no_traffic_interval until the cluster
 * carries traffic, the edge intervals right after a change, unhealthy_interval while unhealthy.
 */
export class ActiveHealthChecker {
  readonly stats: HcStats;
  private readonly sessions = new Map<Host, HostSession>();
  private readonly listeners: Array<(e: HealthEvent) => void> = [];
  private stopped = false;

  constructor(
    readonly config: HealthCheckModel,
    readonly clusterName: string,
    private readonly cluster: CheckedCluster,
    store: StatsStore,
    /** Told when a check passes (outlier detection un-ejects on it). */
    private readonly onPass: ((h: Host) => void) | null = null,
  ) {
    this.stats = new HcStats(store, clusterName);
    this.syncHosts();
  }

  onEvent(cb: (e: HealthEvent) => void): void {
    this.listeners.push(cb);
  }

  /** Starts probing new hosts, stops probing hosts that left. */
  syncHosts(): void {
    if (this.stopped) return;
    const present = new Set<Host>();
    let added = false;
    for (const h of this.cluster.allHosts()) {
      present.add(h);
      if (this.sessions.has(h)) continue;
      const s = new HostSession(h, this);
      this.sessions.set(h, s);
      h.healthFlags |= HealthFlag.FailedActiveHc | HealthFlag.PendingActiveHc;
      added = true;
      const j = this.config.initialJitterMs;
      s.schedule(j > 0 ? Math.random() * j : 0);
    }
    for (const [h, s] of this.sessions) {
      if (present.has(h)) continue;
      s.stop();
      this.sessions.delete(h);
    }
    this.updateGauge();
    if (added) this.cluster.refreshHealth();
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.sessions.values()) s.stop();
    this.sessions.clear();
  }

  /** Called by a session with its probe's result. */
  onResult(s: HostSession, r: ProbeResult): void {
    const c = this.config;
    const h = s.host;
    const pending = (h.healthFlags & HealthFlag.PendingActiveHc) !== 0;
    let changed = false;
    if (r === 'ok') {
      this.stats.success.inc();
      s.unhealthyStreak = 0;
      s.healthyStreak++;
      const failed = (h.healthFlags & (HealthFlag.FailedActiveHc | HealthFlag.ActiveHcTimeout)) !== 0;
      if (failed && (pending || s.healthyStreak >= c.healthyThreshold)) {
        h.healthFlags &= ~(
          HealthFlag.FailedActiveHc |
          HealthFlag.ActiveHcTimeout |
          HealthFlag.PendingActiveHc
        );
        changed = true;
        this.emit(h, 'add_healthy', pending);
      } else if (pending) h.healthFlags &= ~HealthFlag.PendingActiveHc;
      this.onPass?.(h);
    } else {
      this.stats.failure.inc();
      if (r === 'network_failure' || r === 'timeout') this.stats.networkFailure.inc();
      s.healthyStreak = 0;
      s.unhealthyStreak++;
      const failed = (h.healthFlags & HealthFlag.FailedActiveHc) !== 0;
      if (pending) {
        h.healthFlags &= ~HealthFlag.PendingActiveHc;
        this.emit(h, 'eject_unhealthy', true);
      } else if (!failed && s.unhealthyStreak >= c.unhealthyThreshold) {
        h.healthFlags |= HealthFlag.FailedActiveHc;
        changed = true;
        this.emit(h, 'eject_unhealthy', false);
      } else if (c.alwaysLogHealthCheckFailures || !failed) this.emit(h, 'health_check_failure', false);
    }
    if (changed) {
      this.updateGauge();
      this.cluster.refreshHealth();
    }
    s.schedule(this.nextInterval(h, changed));
  }

  private nextInterval(h: Host, changed: boolean): number {
    const c = this.config;
    const healthy = (h.healthFlags & HealthFlag.FailedActiveHc) === 0;
    let base: number;
    if (!this.cluster.hasTraffic()) base = healthy ? c.noTrafficHealthyIntervalMs : c.noTrafficIntervalMs;
    else if (changed) base = healthy ? c.healthyEdgeIntervalMs : c.unhealthyEdgeIntervalMs;
    else base = healthy ? c.intervalMs : c.unhealthyIntervalMs;
    let jitter = 0;
    if (c.intervalJitterMs > 0) jitter += Math.random() * c.intervalJitterMs;
    if (c.intervalJitterPercent > 0) jitter += (Math.random() * base * c.intervalJitterPercent) / 100;
    return base + jitter;
  }

  private updateGauge(): void {
    let n = 0;
    for (const h of this.sessions.keys()) if ((h.healthFlags & HealthFlag.FailedActiveHc) === 0) n++;
    this.stats.healthy.set(n);
  }

  private emit(h: Host, event: HealthEvent['event'], firstCheck: boolean): void {
    const path = this.config.eventLogPath;
    if (this.listeners.length === 0 && path === '') return;
    const e: HealthEvent = {
      cluster: this.clusterName,
      host: h.key,
      event,
      checkerType: CHECKER_TYPE[this.config.check.kind],
      firstCheck,
      timestampMs: Date.now(),
    };
    for (const cb of this.listeners) cb(e);
    if (path !== '') {
      // Envoy's event log: one JSON object per line.
      const line = JSON.stringify({
        health_checker_type: e.checkerType,
        host: { socket_address: { address: h.address, port_value: h.port } },
        cluster_name: e.cluster,
        [`${event}_event`]: event === 'add_healthy' ? { first_check: firstCheck } : {},
        timestamp: new Date(e.timestampMs).toISOString(),
      });
      appendFile(path, `${line}\n`, () => {});
    }
  }
}
