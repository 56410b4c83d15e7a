/**
 * Coarse timers for per-stream timeouts. A stream timeout needs only ~tick precision, and a
 * setTimeout per request (plus clearTimeout on every completion) is measurable at high request
 * rates; here scheduling and cancelling are a Set add/delete, and one unref'd interval ticks only
 * while something is scheduled.
 */
export interface TimerTarget {
  onTimer(kind: number): void;
}

export class TimerEntry {
  deadline = 0;
  slot = -1;
  constructor(
    readonly target: TimerTarget,
    readonly kind: number,
  ) {}
}

export class TimerWheel {
  private readonly slots: Set<TimerEntry>[];
  private interval: NodeJS.Timeout | null = null;
  private size = 0;
  private cursor: number;

  constructor(
    readonly tickMs = 25,
    private readonly slotCount = 512,
  ) {
    this.slots = [];
    for (let i = 0; i < slotCount; i++) this.slots.push(new Set());
    this.cursor = Math.floor(performance.now() / tickMs);
  }

  /** (Re)schedules `e` to fire `delayMs` from now. */
  schedule(e: TimerEntry, delayMs: number): void {
    if (e.slot >= 0) this.slots[e.slot].delete(e);
    else this.size++;
    e.deadline = performance.now() + delayMs;
    // Round up so that a timer never fires early.
    const tick = Math.ceil(e.deadline / this.tickMs);
    e.slot = tick % this.slotCount;
    this.slots[e.slot].add(e);
    if (this.interval === null) {
      this.cursor = Math.floor(performance.now() / this.tickMs);
      this.interval = setInterval(this.tick, this.tickMs);
      this.interval.unref();
    }
  }

  cancel(e: TimerEntry): void {
    if (e.slot < 0) return;
    this.slots[e.slot].delete(e);
    e.slot = -1;
    // The interval stops at its next tick if nothing is left, not here: at low load a stream would
    // otherwise start and stop it once per request.
    this.size--;
  }

  get scheduled(): number {
    return this.size;
  }

  private readonly tick = (): void => {
    if (this.size === 0) {
      if (this.interval !== null) clearInterval(this.interval);
      this.interval = null;
      return;
    }
    const now = performance.now();
    const target = Math.floor(now / this.tickMs);
    // Bounded: at most one full turn of the wheel per tick even after a long event-loop stall.
    const steps = Math.min(target - this.cursor, this.slotCount);
    for (let i = 0; i < steps; i++) {
      this.cursor++;
      const slot = this.slots[this.cursor % this.slotCount];
      if (slot.size === 0) continue;
      for (const e of slot) {
        if (e.deadline <= now) {
          this.cancel(e);
          e.target.onTimer(e.kind);
        }
      }
    }
    if (steps <= 0) return;
    this.cursor = target;
  };
}

/** One wheel for the process's HTTP streams. */
export const sharedWheel = new TimerWheel();
