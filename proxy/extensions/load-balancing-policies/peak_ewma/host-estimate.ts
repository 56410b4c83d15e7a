/**
 * One host's latency estimate for peak-EWMA balancing (as linkerd2-proxy / tower balance):
 * - a response slower than the estimate replaces it at once (peak-sensitive: a host turning slow
 *   is penalised on its first slow response, not after many);
 * - a faster response pulls the estimate down as an exponentially weighted moving average whose
 *   weight depends on the time since the last update, with time constant `decayMs`;
 * - while a host gets no responses its estimate decays toward zero with the same time constant
 *   (tower decays on every read), so a host once seen slow is eventually probed again.
 * The decay-on-read is computed, not stored, so evaluating a candidate writes nothing.
 *
 * Instances are keyed by host key and handed from one balancer to the next when the host set
 * changes, so a request that started under the old balancer still lands in the same estimate.
 */
export class HostEstimate {
  /** Latency estimate in ms as of `updatedAt`. */
  estimateMs: number;
  /** Clock reading (ms) of the last observation (or of creation). */
  updatedAt: number;
  constructor(defaultRttMs: number, now: number) {
    this.estimateMs = defaultRttMs;
    this.updatedAt = now;
  }

  /** The estimate at `now`, decayed toward zero for the time without observations. */
  estimateAt(now: number, decayMs: number): number {
    const elapsed = now - this.updatedAt;
    return elapsed > 0 ? this.estimateMs * Math.exp(-elapsed / decayMs) : this.estimateMs;
  }

  /** The balancer's cost: latency estimate × (outstanding requests + 1). */
  cost(now: number, decayMs: number, outstanding: number): number {
    return this.estimateAt(now, decayMs) * (outstanding + 1);
  }

  observe(latencyMs: number, now: number, decayMs: number): void {
    if (latencyMs > this.estimateMs) {
      this.estimateMs = latencyMs;
    } else {
      const elapsed = now - this.updatedAt;
      const decay = elapsed > 0 ? Math.exp(-elapsed / decayMs) : 1;
      this.estimateMs = this.estimateMs * decay + latencyMs * (1 - decay);
    }
    if (now > this.updatedAt) this.updatedAt = now;
  }
}
