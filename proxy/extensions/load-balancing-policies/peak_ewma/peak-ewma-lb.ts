import type { Host } from '../../../upstream/host.js';
import type { LbContext, LoadBalancer } from '../../../upstream/load-balancer.js';
import { HOST_RESELECT_ATTEMPTS, wasTried } from '../common/previous-hosts.js';
import type { Rng } from '../common/rng.js';
import type { PeakEwmaConfig } from './factory.js';
import { HostEstimate } from './host-estimate.js';

/** A monotonic clock in milliseconds (performance.now in production, a fake in tests). */
export type Clock = () => number;

/**
 * The hook a latency-aware balancer needs from the router: onRequestEnd when a request to a host
 * this balancer picked finishes (response complete, reset or timeout) with the time it took.
 * Outstanding requests are not reported separately: the router already counts them in
 * Host.rqActive. Proposed as an optional, additive method of the LoadBalancer seam.
 */
export interface RequestObserver {
  onRequestEnd(host: Host, latencyMs: number): void;
}

/**
 * Peak-EWMA power of two choices: draw two distinct hosts at random and send to the one with the
 * lower cost = latency estimate × (Host.rqActive + 1). Weights are not used (as in linkerd2-proxy):
 * the measured latency is the weight. Without latency reports every estimate stays at
 * default_rtt and this degrades to power-of-two-choices least request.
 */
export class PeakEwmaLoadBalancer implements LoadBalancer, RequestObserver {
  private readonly hosts: readonly Host[];
  /** estimates[i] belongs to hosts[i]. */
  private readonly estimates: readonly HostEstimate[];
  private readonly byKey: Map<string, HostEstimate>;
  private readonly rng: Rng;
  private readonly clock: Clock;
  private readonly decayMs: number;

  constructor(
    hosts: readonly Host[],
    config: PeakEwmaConfig,
    rng: Rng,
    clock: Clock,
    previous: PeakEwmaLoadBalancer | null,
  ) {
    this.hosts = hosts.slice();
    this.rng = rng;
    this.clock = clock;
    this.decayMs = config.decayTimeMs;
    const now = clock();
    const byKey = new Map<string, HostEstimate>();
    const estimates: HostEstimate[] = [];
    for (const host of hosts) {
      let e = previous?.byKey.get(host.key);
      if (e === undefined) e = byKey.get(host.key) ?? new HostEstimate(config.defaultRttMs, now);
      byKey.set(host.key, e);
      estimates.push(e);
    }
    this.byKey = byKey;
    this.estimates = estimates;
  }

  chooseHost(ctx: LbContext | null): Host | null {
    if (this.hosts.length === 0) return null;
    let host = this.pickOnce(ctx);
    for (let attempt = 0; attempt < HOST_RESELECT_ATTEMPTS && wasTried(ctx, host); attempt++) {
      host = this.pickOnce(ctx);
    }
    return host;
  }

  onRequestEnd(host: Host, latencyMs: number): void {
    const e = this.byKey.get(host.key);
    if (e !== undefined && Number.isFinite(latencyMs) && latencyMs >= 0) {
      e.observe(latencyMs, this.clock(), this.decayMs);
    }
  }

  /** The host's current cost (for /clusters), or undefined when it is not in this balancer. */
  costOf(host: Host): number | undefined {
    return this.byKey.get(host.key)?.cost(this.clock(), this.decayMs, host.rqActive);
  }

  /** The host's current latency estimate in ms, or undefined. */
  estimateOf(host: Host): number | undefined {
    return this.byKey.get(host.key)?.estimateAt(this.clock(), this.decayMs);
  }

  /** Two distinct random hosts, the cheaper wins; a host the request already tried only if both were. */
  private pickOnce(ctx: LbContext | null): Host {
    const n = this.hosts.length;
    if (n === 1) return this.hosts[0];
    const rng = this.rng;
    const a = rng.nextInt(n);
    let b = rng.nextInt(n - 1);
    if (b >= a) b++;
    const ha = this.hosts[a];
    const hb = this.hosts[b];
    if (ctx !== null && ctx.previousHosts !== null) {
      const ta = wasTried(ctx, ha);
      if (ta !== wasTried(ctx, hb)) return ta ? hb : ha;
    }
    // cost_x(now) = estimate_x · e^(−(now − updatedAt_x)/τ) · (active_x + 1). The factor e^(−now/τ)
    // is common to both, so the comparison needs no clock read (a clock read costs more than the
    // rest of the pick): compare estimate_a·(active_a + 1) with the same for b scaled by
    // e^((updatedAt_b − updatedAt_a)/τ).
    const ea = this.estimates[a];
    const eb = this.estimates[b];
    const skew = (eb.updatedAt - ea.updatedAt) / this.decayMs;
    const ca = ea.estimateMs * (ha.rqActive + 1);
    const cb = eb.estimateMs * (hb.rqActive + 1) * Math.exp(Math.min(700, Math.max(skew, -700)));
    return cb < ca ? hb : ha;
  }
}
