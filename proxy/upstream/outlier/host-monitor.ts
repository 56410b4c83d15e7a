import type { Host, HostOutcomeSink, LocalFailure } from '../host.js';

/** Why a host was ejected, as Envoy names it in stats (`ejections_enforced_<type>`) and events. */
export type EjectionType =
  | 'consecutive_5xx'
  | 'consecutive_gateway_failure'
  | 'consecutive_local_origin_failure'
  | 'success_rate'
  | 'local_origin_success_rate'
  | 'failure_percentage'
  | 'failure_percentage_local_origin';

/** What a host monitor needs from its detector. */
export interface MonitorOwner {
  readonly split: boolean;
  readonly consecutive5xx: number;
  readonly consecutiveGatewayFailure: number;
  readonly consecutiveLocalOriginFailure: number;
  onConsecutive(m: HostMonitor, type: EjectionType): void;
}

/**
 * Per-host passive health state. The router and tcp_proxy report each outcome here (plain number
 * updates on the hot path); the detector's interval sweep reads and resets the interval buckets.
 *
 * Without split_external_local_origin_errors, local failures count as the HTTP code Envoy maps
 * them to (connect failure and reset → 503, timeout → 504), so they feed consecutive_5xx and
 * consecutive_gateway_failure. With it, they form their own consecutive_local_origin_failure streak
 * and their own success-rate bucket, and only real upstream responses count as external.
 */
export class HostMonitor implements HostOutcomeSink {
  consecutive5xx = 0;
  consecutiveGateway = 0;
  consecutiveLocal = 0;
  ejected = false;
  /** performance.now() of the last ejection. */
  lastEjectionMs = 0;
  /** performance.now() of the last un-ejection (or backoff step). */
  lastUnejectionMs = 0;
  /** Envoy's ejection time backoff: grows on each ejection, shrinks while the host stays in. */
  ejectionCount = 0;
  /** Jitter drawn at ejection time (max_ejection_time_jitter). */
  jitterMs = 0;
  // The current interval's buckets (external and local origin).
  extTotal = 0;
  extSuccess = 0;
  localTotal = 0;
  localSuccess = 0;
  /** Success rates computed at the last sweep, -1 when the host had too little traffic. */
  lastExtSuccessRate = -1;
  lastLocalSuccessRate = -1;

  constructor(
    private readonly owner: MonitorOwner,
    readonly host: Host,
  ) {}

  putHttpStatus(status: number): void {
    const o = this.owner;
    if (o.split) {
      // A response arrived, so the connection worked: that ends a local-origin streak.
      this.consecutiveLocal = 0;
      this.localTotal++;
      this.localSuccess++;
    }
    this.external(status);
  }

  putLocalFailure(kind: LocalFailure): void {
    const o = this.owner;
    if (!o.split) {
      this.external(kind === 'timeout' ? 504 : 503);
      return;
    }
    this.localTotal++;
    if (++this.consecutiveLocal === o.consecutiveLocalOriginFailure) {
      o.onConsecutive(this, 'consecutive_local_origin_failure');
    }
  }

  putLocalSuccess(): void {
    if (!this.owner.split) {
      // Envoy maps a final local success (a tcp_proxy connection made) to a 200.
      this.external(200);
      return;
    }
    this.consecutiveLocal = 0;
    this.localTotal++;
    this.localSuccess++;
  }

  /** Clears the consecutive streaks (on un-ejection, Envoy starts counting afresh). */
  resetStreaks(): void {
    this.consecutive5xx = 0;
    this.consecutiveGateway = 0;
    this.consecutiveLocal = 0;
  }

  private external(status: number): void {
    const o = this.owner;
    this.extTotal++;
    if (status < 500) {
      this.extSuccess++;
      this.consecutive5xx = 0;
      this.consecutiveGateway = 0;
      return;
    }
    if (status === 502 || status === 503 || status === 504) {
      if (++this.consecutiveGateway === o.consecutiveGatewayFailure) {
        o.onConsecutive(this, 'consecutive_gateway_failure');
      }
    } else this.consecutiveGateway = 0;
    if (++this.consecutive5xx === o.consecutive5xx) o.onConsecutive(this, 'consecutive_5xx');
  }
}
