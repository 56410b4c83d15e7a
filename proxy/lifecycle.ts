/**
 * Process lifecycle: how remora stops. SIGTERM, SIGINT and the admin's POST /quitquitquit all start
 * the same graceful shutdown:
 *
 *   1. every listener stops accepting (new connections are refused from this point);
 *   2. every listener drains: HTTP/1 responses carry `Connection: close` and idle keep-alive
 *      connections close, HTTP/2 sessions get GOAWAY, streams in flight run to completion;
 *   3. when the last connection has closed, or when --drain-time-s has elapsed (then whatever is
 *      left is closed by force), the after-drain steps run in order (admin server, upstream pools,
 *      xDS client, access-log flush), each bounded in time;
 *   4. the process exits 0.
 *
 * A second signal during the drain exits at once with 128 + the signal number, the shell
 * convention for "killed by a signal", because the operator has asked twice.
 *
 * The module knows nothing of sockets or HTTP: it sequences small interfaces that the listener,
 * admin and observability parts implement, so it is tested with real servers and wired by main.ts.
 */
import { constants } from 'node:os';

/** What a listener offers to the shutdown sequence (the listener/HCM part implements it). */
export interface DrainableListener {
  /** For the shutdown log lines; optional so that a listener object can be passed as it is. */
  readonly name?: string;
  /** Close the listening socket so that new connections are refused. Idempotent. May return a promise (ignored). */
  stopAccepting(): void | Promise<void>;
  /**
   * Start draining the connections already accepted (Connection: close on HTTP/1 responses, idle
   * keep-alive connections closed, GOAWAY on HTTP/2) and resolve once the last one has closed.
   */
  drain(): Promise<void>;
  /** Destroy every connection still open. Called when the drain deadline passes. */
  forceClose(): void;
}

/** One step after the drain (close the admin server, flush access logs, ...). */
export interface ShutdownStep {
  readonly name: string;
  run(): void | Promise<void>;
}

/** The subset of pino's logger used here (pino's `Logger` satisfies it). */
export interface LifecycleLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LifecycleDeps {
  /** The listeners active when the shutdown starts (a function: xDS may have changed the set). */
  listeners(): Iterable<DrainableListener>;
  /** Run in order after the listeners are done. */
  readonly afterDrain: readonly ShutdownStep[];
  /** --drain-time-s in milliseconds. */
  readonly drainTimeMs: number;
  /** Upper bound for each after-drain step, so that a stuck flush cannot hold the process. */
  readonly stepTimeoutMs?: number;
  readonly log: LifecycleLog;
  /** process.exit in production; tests pass their own. */
  exit(code: number): void;
}

export type LifecycleState = 'serving' | 'draining' | 'stopped';

/** setTimeout silently turns delays above 2^31-1 ms into 1 ms; --drain-time-s allows up to 2^32-1 s. */
const MAX_TIMER_MS = 0x7fffffff;

const DEFAULT_STEP_TIMEOUT_MS = 5000;

export interface ShutdownOutcome {
  readonly reason: string;
  /** True when the deadline passed and connections were closed by force. */
  readonly forced: boolean;
  readonly exitCode: number;
}

export class Lifecycle {
  private stateValue: LifecycleState = 'serving';
  private running: Promise<ShutdownOutcome> | undefined = undefined;
  private readonly signalHandlers = new Map<NodeJS.Signals, () => void>();

  constructor(private readonly deps: LifecycleDeps) {}

  get state(): LifecycleState {
    return this.stateValue;
  }

  /**
   * Starts the graceful shutdown (idempotent: later calls return the first call's promise). The
   * promise resolves after deps.exit(0) has been called.
   */
  shutdown(reason: string): Promise<ShutdownOutcome> {
    if (this.running === undefined) this.running = this.run(reason);
    return this.running;
  }

  /** What a signal does: the first one drains, a second one exits at once. */
  onSignal(signal: NodeJS.Signals): void {
    if (this.stateValue === 'serving') {
      void this.shutdown(signal);
      return;
    }
    const code = 128 + (constants.signals[signal] ?? 0);
    this.deps.log.warn({ signal, exitCode: code }, 'second signal during shutdown: exiting immediately');
    this.stateValue = 'stopped';
    this.deps.exit(code);
  }

  /** Routes SIGTERM and SIGINT to onSignal. Returns a function that removes the handlers. */
  installSignalHandlers(target: NodeJS.Process = process): () => void {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const handler = (): void => this.onSignal(signal);
      this.signalHandlers.set(signal, handler);
      target.on(signal, handler);
    }
    return () => {
      for (const [signal, handler] of this.signalHandlers) target.off(signal, handler);
      this.signalHandlers.clear();
    };
  }

  private async run(reason: string): Promise<ShutdownOutcome> {
    const { log } = this.deps;
    this.stateValue = 'draining';
    const listeners = [...this.deps.listeners()];
    for (const l of listeners) {
      try {
        l.stopAccepting();
      } catch (err) {
        log.warn({ listener: l.name, err }, 'listener failed to stop accepting');
      }
    }
    // Logged after the sockets are closed, so that whoever reads it knows new connections fail.
    log.info(
      { reason, listeners: listeners.length, drainTimeMs: this.deps.drainTimeMs },
      'shutting down: draining listeners',
    );
    const drains = listeners.map((l) => this.drainOne(l));
    const forced = !(await this.withinDeadline(Promise.all(drains), this.deps.drainTimeMs));
    if (forced) {
      log.warn(
        { drainTimeMs: this.deps.drainTimeMs },
        'drain deadline passed: closing remaining connections',
      );
      for (const l of listeners) {
        try {
          l.forceClose();
        } catch (err) {
          log.warn({ listener: l.name, err }, 'listener failed to force-close');
        }
      }
    } else {
      log.info({}, 'all connections drained');
    }

    const stepTimeout = this.deps.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
    for (const step of this.deps.afterDrain) {
      try {
        const finished = await this.withinDeadline(Promise.resolve(step.run()), stepTimeout);
        if (!finished) log.warn({ step: step.name, timeoutMs: stepTimeout }, 'shutdown step timed out');
      } catch (err) {
        log.warn({ step: step.name, err }, 'shutdown step failed');
      }
    }

    // A second signal may have exited already (in tests exit() returns); do not exit twice.
    const outcome: ShutdownOutcome = { reason, forced, exitCode: 0 };
    if (!this.hasStopped()) {
      this.stateValue = 'stopped';
      log.info({ reason, forced }, 'shutdown complete');
      this.deps.exit(0);
    }
    return outcome;
  }

  /** A method, not a field read, because TypeScript would narrow the field across the awaits above. */
  private hasStopped(): boolean {
    return this.stateValue === 'stopped';
  }

  private async drainOne(l: DrainableListener): Promise<void> {
    try {
      await l.drain();
    } catch (err) {
      // A listener whose drain fails is treated as drained; the deadline still bounds the rest.
      this.deps.log.warn({ listener: l.name, err }, 'listener drain failed');
    }
  }

  /** Resolves true if `p` settles within `ms`, false otherwise; never leaves a timer behind. */
  private withinDeadline(p: Promise<unknown>, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => resolve(false), Math.min(Math.max(ms, 0), MAX_TIMER_MS));
      p.then(
        () => {
          clearTimeout(timer);
          resolve(true);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }
}
