import { EdfScheduler } from '../common/edf.js';

/**
 * Smooth weighted round robin over a fixed list of items (the scheme Envoy uses), on the shared
 * earliest-deadline-first heap of common/edf.ts: each pick takes the item with the earliest
 * deadline and moves it one period (1 / weight) later. A weight-3 item beside a weight-1 item is
 * picked 3 times in every 4, interleaved (A A B A A A B ...), never in a burst. Ties go to the item
 * that has waited longer.
 *
 * Unlike least request, the deadline is recomputed as base + picks / weight rather than
 * accumulated: for a fresh rotation base is 0, so equal true deadlines (3 × 1/3 and 1/1) compare
 * equal and ties stay in order instead of depending on rounding.
 */
export class WeightedRotation<T> {
  private readonly items: readonly T[];
  private readonly weights: Float64Array;
  private readonly base: Float64Array;
  private readonly picks: Float64Array;
  private readonly edf: EdfScheduler;
  /** Deadline of the last pick: "now" on the rotation's virtual clock. */
  private now = 0;

  /**
   * `offsets[i]` is item i's first deadline (one period, 1 / weight, for a fresh start; less for
   * an item carried over from a previous rotation that was already part-way through its period).
   */
  constructor(items: readonly T[], weights: readonly number[], offsets: readonly number[]) {
    const n = items.length;
    this.items = items;
    this.weights = Float64Array.from(weights);
    this.base = new Float64Array(n);
    this.picks = new Float64Array(n).fill(1);
    for (let i = 0; i < n; i++) this.base[i] = offsets[i] - 1 / weights[i];
    this.edf = new EdfScheduler(Float64Array.from(offsets));
  }

  get size(): number {
    return this.items.length;
  }

  /** Picks the item with the earliest deadline and reschedules it one period later. */
  pick(): T | null {
    if (this.items.length === 0) return null;
    const i = this.edf.top();
    this.now = this.edf.deadlineOf(i);
    const picks = ++this.picks[i];
    this.edf.rescheduleTop(this.base[i] + picks / this.weights[i]);
    return this.items[i];
  }

  /** Each item with its deadline relative to now, to seed a rebuilt rotation. */
  offsets(): Map<T, number> {
    const m = new Map<T, number>();
    for (let i = 0; i < this.items.length; i++) m.set(this.items[i], this.edf.deadlineOf(i) - this.now);
    return m;
  }
}
