/**
 * Exponential backoff with jitter for re-establishing the ADS stream.
 *
 * Defaults are gRPC's connection-backoff parameters (grpc/grpc doc/connection-backoff.md:
 * INITIAL_BACKOFF = 1 s, MULTIPLIER = 1.6, JITTER = 0.2, MAX_BACKOFF = 120 s), which gRPC's own xDS
 * client also uses for its ADS stream. Envoy's built-in default for the ADS stream is different
 * (500 ms base, 30 s max, full jitter); the bootstrap's retry_policy can override either way.
 */
export interface BackoffOptions {
  /** Milliseconds before the first retry. */
  readonly initialMs?: number;
  readonly multiplier?: number;
  /** Fraction of the delay added or removed at random (0.2 → ±20%). */
  readonly jitter?: number;
  readonly maxMs?: number;
}

export const DEFAULT_BACKOFF = { initialMs: 1000, multiplier: 1.6, jitter: 0.2, maxMs: 120_000 } as const;

export class Backoff {
  private readonly initialMs: number;
  private readonly multiplier: number;
  private readonly jitter: number;
  private readonly maxMs: number;
  private nextBaseMs: number;

  constructor(
    options: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.initialMs = options.initialMs ?? DEFAULT_BACKOFF.initialMs;
    this.multiplier = options.multiplier ?? DEFAULT_BACKOFF.multiplier;
    this.jitter = options.jitter ?? DEFAULT_BACKOFF.jitter;
    this.maxMs = options.maxMs ?? DEFAULT_BACKOFF.maxMs;
    this.nextBaseMs = this.initialMs;
  }

  /** The delay before the next attempt; each call grows the following one, up to the maximum. */
  next(): number {
    const base = this.nextBaseMs;
    this.nextBaseMs = Math.min(base * this.multiplier, this.maxMs);
    const spread = base * this.jitter;
    return Math.max(0, Math.round(base - spread + this.random() * 2 * spread));
  }

  /** After a stream proved healthy (a response arrived), start again from the initial delay. */
  reset(): void {
    this.nextBaseMs = this.initialMs;
  }
}
