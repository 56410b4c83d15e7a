/**
 * The stats store. Names follow Envoy's (`cluster.<name>.upstream_rq_total`, ...), so dashboards
 * built for Envoy read remora unchanged. Counters and gauges are plain numbers mutated in place on
 * the hot path; everything else (sorting, formatting, quantiles) happens when someone reads them.
 *
 * Code that emits stats looks its objects up once (at config time) and keeps the references, so a
 * request never does a map lookup by name.
 */
export class Counter {
  value = 0;
  constructor(readonly name: string) {}
  inc(n = 1): void {
    this.value += n;
  }
}

export class Gauge {
  value = 0;
  constructor(
    readonly name: string,
    /** Envoy's import modes: Accumulate gauges sum across hot restarts; NeverImport do not. */
    readonly mode: 'accumulate' | 'never_import' = 'accumulate',
  ) {}
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
  set(v: number): void {
    this.value = v;
  }
}

/**
 * A histogram with fixed bucket bounds (Envoy's default bounds, in the unit the stat uses, usually
 * milliseconds). Recording is one binary search and two additions.
 */
export const DEFAULT_HISTOGRAM_BOUNDS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];

export class Histogram {
  readonly counts: Float64Array;
  sampleCount = 0;
  sampleSum = 0;
  /** Smallest and largest value recorded: quantile estimates are clamped to them, so a few samples
   * in a wide bucket do not report values that were never seen. */
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  constructor(
    readonly name: string,
    readonly bounds: readonly number[] = DEFAULT_HISTOGRAM_BOUNDS,
  ) {
    // One extra bucket for values above the last bound (+Inf).
    this.counts = new Float64Array(bounds.length + 1);
  }
  record(v: number): void {
    const b = this.bounds;
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v <= b[mid]) hi = mid;
      else lo = mid + 1;
    }
    this.counts[lo]++;
    this.sampleCount++;
    this.sampleSum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }
  /**
   * Estimated quantile (0..1) by linear interpolation inside the bucket, as Envoy's summaries do,
   * clamped to the smallest and largest value recorded.
   */
  quantile(q: number): number {
    if (this.sampleCount === 0) return Number.NaN;
    const v = this.interpolate(q);
    return Math.max(this.min, Math.min(v, this.max));
  }

  private interpolate(q: number): number {
    const target = q * this.sampleCount;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i];
      if (c > 0 && seen + c >= target) {
        const lower = i === 0 ? 0 : this.bounds[i - 1];
        // The overflow bucket has no upper bound; the largest value seen closes it.
        const upper = i < this.bounds.length ? this.bounds[i] : this.max;
        return lower + ((upper - lower) * (target - seen)) / c;
      }
      seen += c;
    }
    return this.bounds[this.bounds.length - 1];
  }
}

/** Get-or-create by full name. A scope is a name prefix, so modules never build names by hand twice. */
export class StatsStore {
  readonly counters = new Map<string, Counter>();
  readonly gauges = new Map<string, Gauge>();
  readonly histograms = new Map<string, Histogram>();

  counter(name: string): Counter {
    let c = this.counters.get(name);
    if (c === undefined) {
      c = new Counter(name);
      this.counters.set(name, c);
    }
    return c;
  }

  gauge(name: string, mode: 'accumulate' | 'never_import' = 'accumulate'): Gauge {
    let g = this.gauges.get(name);
    if (g === undefined) {
      g = new Gauge(name, mode);
      this.gauges.set(name, g);
    }
    return g;
  }

  histogram(name: string): Histogram {
    let h = this.histograms.get(name);
    if (h === undefined) {
      h = new Histogram(name);
      this.histograms.set(name, h);
    }
    return h;
  }

  scope(prefix: string): StatsScope {
    return new StatsScope(this, prefix.endsWith('.') ? prefix : `${prefix}.`);
  }

  /**
   * Forgets every stat whose name starts with `prefix` (e.g. a removed listener's), so the store
   * does not grow as config churns. Objects already handed out keep working but are no longer
   * listed; asking for the name again creates a fresh stat at zero, as Envoy does for a resource
   * removed and added back. Returns how many were removed. O(stats).
   */
  removeByPrefix(prefix: string): number {
    return this.removeWhere((name) => name.startsWith(prefix));
  }

  /** Forgets every stat `drop` selects, in one pass over the store (batch removals with it). */
  removeWhere(drop: (name: string) => boolean): number {
    let n = 0;
    for (const m of [this.counters, this.gauges, this.histograms] as Map<string, unknown>[]) {
      for (const name of m.keys()) {
        if (!drop(name)) continue;
        m.delete(name);
        n++;
      }
    }
    return n;
  }
}

export class StatsScope {
  constructor(
    readonly store: StatsStore,
    readonly prefix: string,
  ) {}
  counter(name: string): Counter {
    return this.store.counter(this.prefix + name);
  }
  gauge(name: string, mode: 'accumulate' | 'never_import' = 'accumulate'): Gauge {
    return this.store.gauge(this.prefix + name, mode);
  }
  histogram(name: string): Histogram {
    return this.store.histogram(this.prefix + name);
  }
  scope(name: string): StatsScope {
    return new StatsScope(this.store, `${this.prefix}${name}.`);
  }
}
