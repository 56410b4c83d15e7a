import { TimerEntry, type TimerTarget, type TimerWheel } from '../timer-wheel.js';

const TIMER_IDLE = 0;
const TIMER_HEADERS = 1;

/** What the timers ask of their connection. */
export interface TimedConnection {
  /** A request or an upgrade is in flight (not idle). */
  readonly busy: boolean;
  /** The idle timeout expired: close. */
  idleTimedOut(): void;
  /** The first request head did not arrive in time: close. */
  headersTimedOut(): void;
}

/**
 * A downstream HTTP/1 connection's two timeouts on the shared wheel: idle_timeout (no request in
 * flight) and request_headers_timeout (the first head only, a slowloris guard; later requests on
 * a keep-alive connection are bounded by the idle timeout). The idle entry stays scheduled across
 * requests and checks on firing how long the connection has really been idle (`idleSince`), so a
 * request costs no wheel operations.
 */
export class ConnectionTimers implements TimerTarget {
  private readonly idle: TimerEntry;
  private headers: TimerEntry | null = null;
  private idleSince = 0;

  constructor(
    private readonly conn: TimedConnection,
    private readonly wheel: TimerWheel,
    private readonly idleMs: number,
    headersMs: number,
  ) {
    this.idle = new TimerEntry(this, TIMER_IDLE);
    // A connection that never sends a request is idle too.
    if (idleMs > 0) {
      this.idleSince = performance.now();
      wheel.schedule(this.idle, idleMs);
    }
    if (headersMs > 0) {
      this.headers = new TimerEntry(this, TIMER_HEADERS);
      wheel.schedule(this.headers, headersMs);
    }
  }

  /** A request head arrived: the headers timeout is over for good. */
  headArrived(): void {
    if (this.headers === null) return;
    this.wheel.cancel(this.headers);
    this.headers = null;
  }

  /** The connection became idle now. */
  idleFromNow(): void {
    if (this.idleMs <= 0) return;
    this.idleSince = performance.now();
    if (this.idle.slot < 0) this.wheel.schedule(this.idle, this.idleMs);
  }

  cancel(): void {
    this.wheel.cancel(this.idle);
    this.headArrived();
  }

  onTimer(kind: number): void {
    if (kind === TIMER_HEADERS) {
      this.headers = null;
      this.conn.headersTimedOut();
      return;
    }
    if (this.conn.busy) {
      // Busy (or a request body still arriving after its response): look again later.
      this.wheel.schedule(this.idle, this.idleMs);
      return;
    }
    const idleFor = performance.now() - this.idleSince;
    if (idleFor < this.idleMs) {
      this.wheel.schedule(this.idle, this.idleMs - idleFor);
      return;
    }
    this.conn.idleTimedOut();
  }
}
