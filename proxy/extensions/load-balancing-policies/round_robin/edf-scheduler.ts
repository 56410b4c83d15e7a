/**
 * Earliest-deadline-first scheduler for weighted round robin (the scheme Envoy uses): every entry
 * has a deadline that advances by 1/weight each time it is picked, and the pick is the entry with
 * the earliest deadline. A weight-3 entry beside a weight-1 entry is picked 3 times in every 4,
 * interleaved (A A B A A A B ...), never in a burst. Binary min-heap: O(log n) per pick.
 *
 * Ties are broken by insertion order (`seq`), so an entry that has waited longer goes first.
 */
export interface EdfEntry<T> {
  readonly item: T;
  readonly weight: number;
  deadline: number;
  seq: number;
  /**
   * deadline = base + picks / weight, recomputed rather than accumulated: for a fresh scheduler
   * base is 0, so equal true deadlines (1/3 * 3 and 1/1) compare equal and ties stay ordered.
   */
  base: number;
  picks: number;
}

export class EdfScheduler<T> {
  private readonly heap: EdfEntry<T>[] = [];
  private seq = 0;
  /** Deadline of the last pick: "now" on the scheduler's virtual clock. */
  now = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Adds an entry whose next deadline is `now + offset` (offset defaults to one period). */
  add(item: T, weight: number, offset = 1 / weight): void {
    const base = this.now + offset - 1 / weight;
    const e: EdfEntry<T> = { item, weight, deadline: this.now + offset, seq: this.seq++, base, picks: 1 };
    this.heap.push(e);
    this.up(this.heap.length - 1);
  }

  /** Picks the entry with the earliest deadline and reschedules it one period later. */
  pick(): T | null {
    const h = this.heap;
    if (h.length === 0) return null;
    const top = h[0];
    this.now = top.deadline;
    top.picks++;
    top.deadline = top.base + top.picks / top.weight;
    top.seq = this.seq++;
    this.down(0);
    return top.item;
  }

  /** Each entry with its deadline relative to now, to seed a rebuilt scheduler. */
  offsets(): Map<T, number> {
    const m = new Map<T, number>();
    for (const e of this.heap) m.set(e.item, e.deadline - this.now);
    return m;
  }

  private less(a: EdfEntry<T>, b: EdfEntry<T>): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  private up(i: number): void {
    const h = this.heap;
    const e = h[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(e, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r], h[l]) ? r : l;
      if (!this.less(h[c], e)) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = e;
  }
}
