/**
 * Earliest-deadline-first scheduling over a fixed set of entries (0..n-1), as Envoy's weighted
 * balancers use it: each entry has a deadline; a pick takes the earliest, and the caller then
 * reschedules it at `deadline + 1 / weight`, with the weight read at that moment. An entry of
 * weight w is therefore picked at a rate proportional to w, and a weight that changes between
 * picks (least request's active-request scaling) takes effect at the entry's next reschedule.
 *
 * A binary min-heap in typed arrays: O(log n) per pick, O(n) to build, no allocation per pick.
 * Ties on the deadline go to the entry scheduled first (a sequence number), which keeps equal
 * weights in a stable rotation.
 */
export class EdfScheduler {
  /** heap[i] = entry index; the heap is ordered by (deadline, seq) of the entries. */
  private readonly heap: Int32Array;
  private readonly deadline: Float64Array;
  private readonly seq: Float64Array;
  private nextSeq: number;

  /**
   * `initialDeadlines[i]` is entry i's first deadline. Callers spread these over one period
   * (e.g. uniform(0, 1) / weight) so independent proxies do not start in lockstep.
   */
  constructor(initialDeadlines: Float64Array) {
    const n = initialDeadlines.length;
    this.heap = new Int32Array(n);
    this.deadline = new Float64Array(initialDeadlines);
    this.seq = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.heap[i] = i;
      this.seq[i] = i;
    }
    this.nextSeq = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  get size(): number {
    return this.heap.length;
  }

  /** The entry with the earliest deadline (the heap must not be empty). */
  top(): number {
    return this.heap[0];
  }

  /** Entry i's current deadline. */
  deadlineOf(i: number): number {
    return this.deadline[i];
  }

  /** Reschedules the top entry `period` (= 1 / weight) after its current deadline. */
  advanceTop(period: number): void {
    this.rescheduleTop(this.deadline[this.heap[0]] + period);
  }

  /**
   * Reschedules the top entry at an absolute deadline, for callers that recompute deadlines
   * rather than accumulate them (round robin keeps equal true deadlines exactly equal).
   */
  rescheduleTop(deadline: number): void {
    const e = this.heap[0];
    this.deadline[e] = deadline;
    this.seq[e] = this.nextSeq++;
    this.siftDown(0);
  }

  private less(a: number, b: number): boolean {
    const da = this.deadline[a];
    const db = this.deadline[b];
    return da < db || (da === db && this.seq[a] < this.seq[b]);
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const e = heap[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(heap[r], heap[l]) ? r : l;
      if (!this.less(heap[c], e)) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = e;
  }
}
