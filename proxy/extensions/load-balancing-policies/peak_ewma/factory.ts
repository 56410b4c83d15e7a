import type { Issues } from '../../../config/issues.js';
import type { ProtoObject } from '../../../config/proto-object.js';
import type { Host } from '../../../upstream/host.js';
import type { LbPolicyFactory, LoadBalancer } from '../../../upstream/load-balancer.js';
import { configRoot, readPositiveDurationMs } from '../common/config-fields.js';
import { defaultRng, type Rng } from '../common/rng.js';
import { type Clock, PeakEwmaLoadBalancer } from './peak-ewma-lb.js';

export interface PeakEwmaConfig {
  /** Time constant of the moving average (decay_time, default 10 s, as linkerd2-proxy). */
  readonly decayTimeMs: number;
  /** Estimate for a host not yet measured (default_rtt, default 30 ms, as linkerd2-proxy). */
  readonly defaultRttMs: number;
}

export const DEFAULT_DECAY_TIME_MS = 10_000;
export const DEFAULT_RTT_MS = 30;

export interface PeakEwmaFactoryOptions {
  readonly rng?: Rng;
  /** Millisecond clock for the estimates' ages; defaults to performance.now. */
  readonly clock?: Clock;
}

const performanceClock: Clock = () => performance.now();

/**
 * remora's own policy (no Envoy equivalent), selected only through `load_balancing_policy` with
 * the typed config remora.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma.
 */
export class PeakEwmaLbFactory implements LbPolicyFactory<PeakEwmaConfig> {
  readonly name = 'remora.load_balancing_policies.peak_ewma';
  readonly lbPolicyEnum = null;
  readonly typeUrl = 'type.googleapis.com/remora.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma';
  private readonly rng: Rng;
  private readonly clock: Clock;

  constructor(options: PeakEwmaFactoryOptions = {}) {
    this.rng = options.rng ?? defaultRng();
    this.clock = options.clock ?? performanceClock;
  }

  parseConfig(config: ProtoObject | undefined, path: string, issues: Issues): PeakEwmaConfig {
    const root = configRoot(config, path, issues);
    return Object.freeze({
      decayTimeMs: readPositiveDurationMs(root, 'decay_time', path, issues) ?? DEFAULT_DECAY_TIME_MS,
      defaultRttMs: readPositiveDurationMs(root, 'default_rtt', path, issues) ?? DEFAULT_RTT_MS,
    });
  }

  /** Estimates of hosts that stay (same key) are carried over from `previous`. */
  create(
    hosts: readonly Host[],
    config: PeakEwmaConfig,
    previous: LoadBalancer | null,
  ): PeakEwmaLoadBalancer {
    const prev = previous instanceof PeakEwmaLoadBalancer ? previous : null;
    return new PeakEwmaLoadBalancer(hosts, config, this.rng, this.clock, prev);
  }
}

export const peakEwmaFactory: PeakEwmaLbFactory = new PeakEwmaLbFactory();
