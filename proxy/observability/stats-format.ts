import type { Counter, Gauge, Histogram, StatsStore } from './stats.js';

/**
 * Envoy's /stats output formats: the text format (`name: value` lines, counters and gauges sorted
 * together by name, then histograms as quantile summaries) and the JSON format
 * (`{"stats":[{"name":..,"value":..}, ..., {"histograms":{...}}]}`).
 *
 * remora keeps cumulative histograms only (no per-flush interval), so the interval half of Envoy's
 * `P50(interval,cumulative)` pair is always `nan` (JSON: null), which is what Envoy prints for an
 * interval without samples.
 */

/** Envoy's supported quantiles, in percent as Envoy prints them. */
export const SUPPORTED_QUANTILES: readonly number[] = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100];

export type StatType = 'All' | 'Counters' | 'Gauges' | 'Histograms';

export interface StatsQuery {
  /** Partial-match regex over the full stat name; null for all. */
  readonly filter: RegExp | null;
  /**
   * Only stats that were used. Envoy tracks a `used` flag per stat; remora's plain-number stats
   * approximate it as: counter > 0, gauge ≠ 0, histogram with at least one sample.
   */
  readonly usedOnly: boolean;
  readonly type: StatType;
}

export const ALL_STATS: StatsQuery = { filter: null, usedOnly: false, type: 'All' };

function counterUsed(c: Counter): boolean {
  return c.value !== 0;
}
function gaugeUsed(g: Gauge): boolean {
  return g.value !== 0;
}
function histogramUsed(h: Histogram): boolean {
  return h.sampleCount > 0;
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function passes(name: string, q: StatsQuery): boolean {
  if (q.filter === null) return true;
  // A global/sticky regex would carry lastIndex between names; reset so every test starts at 0.
  q.filter.lastIndex = 0;
  return q.filter.test(name);
}

/** Counters and gauges that pass the query, sorted by name (Envoy interleaves them). */
export function selectScalars(store: StatsStore, q: StatsQuery): Array<Counter | Gauge> {
  const out: Array<Counter | Gauge> = [];
  if (q.type === 'All' || q.type === 'Counters') {
    for (const c of store.counters.values()) {
      if ((!q.usedOnly || counterUsed(c)) && passes(c.name, q)) out.push(c);
    }
  }
  if (q.type === 'All' || q.type === 'Gauges') {
    for (const g of store.gauges.values()) {
      if ((!q.usedOnly || gaugeUsed(g)) && passes(g.name, q)) out.push(g);
    }
  }
  out.sort(byName);
  return out;
}

export function selectCounters(store: StatsStore, q: StatsQuery): Counter[] {
  const out: Counter[] = [];
  for (const c of store.counters.values()) {
    if ((!q.usedOnly || counterUsed(c)) && passes(c.name, q)) out.push(c);
  }
  return out.sort(byName);
}

export function selectGauges(store: StatsStore, q: StatsQuery): Gauge[] {
  const out: Gauge[] = [];
  for (const g of store.gauges.values()) {
    if ((!q.usedOnly || gaugeUsed(g)) && passes(g.name, q)) out.push(g);
  }
  return out.sort(byName);
}

export function selectHistograms(store: StatsStore, q: StatsQuery): Histogram[] {
  const out: Histogram[] = [];
  if (q.type !== 'All' && q.type !== 'Histograms') return out;
  for (const h of store.histograms.values()) {
    if ((!q.usedOnly || histogramUsed(h)) && passes(h.name, q)) out.push(h);
  }
  return out.sort(byName);
}

/** A quantile value as Envoy prints it: `nan`, `1.0` for whole numbers, else up to 6 significant digits. */
export function formatQuantileValue(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (Number.isInteger(v)) return v.toFixed(1);
  return String(Number(v.toPrecision(6)));
}

/** `P0(nan,1.0) P25(nan,1.025) ...`, or Envoy's `No recorded values`. */
export function formatHistogramSummary(h: Histogram): string {
  if (h.sampleCount === 0) return 'No recorded values';
  let out = '';
  for (let i = 0; i < SUPPORTED_QUANTILES.length; i++) {
    const q = SUPPORTED_QUANTILES[i];
    if (i > 0) out += ' ';
    out += `P${q}(nan,${formatQuantileValue(h.quantile(q / 100))})`;
  }
  return out;
}

/** The body of `GET /stats`. */
export function formatStatsText(store: StatsStore, q: StatsQuery = ALL_STATS): string {
  const lines: string[] = [];
  for (const s of selectScalars(store, q)) lines.push(`${s.name}: ${s.value}`);
  for (const h of selectHistograms(store, q)) lines.push(`${h.name}: ${formatHistogramSummary(h)}`);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

export interface StatsJsonEntry {
  name: string;
  value: number;
}

export interface StatsJsonHistograms {
  histograms: {
    supported_quantiles: number[];
    computed_quantiles: Array<{
      name: string;
      values: Array<{ interval: number | null; cumulative: number | null }>;
    }>;
  };
}

export interface StatsJson {
  stats: Array<StatsJsonEntry | StatsJsonHistograms>;
}

/** The body of `GET /stats?format=json`, in Envoy's shape. */
export function statsJson(store: StatsStore, q: StatsQuery = ALL_STATS): StatsJson {
  const stats: Array<StatsJsonEntry | StatsJsonHistograms> = [];
  for (const s of selectScalars(store, q)) stats.push({ name: s.name, value: s.value });
  const hs = selectHistograms(store, q);
  if (hs.length > 0) {
    stats.push({
      histograms: {
        supported_quantiles: [...SUPPORTED_QUANTILES],
        computed_quantiles: hs.map((h) => ({
          name: h.name,
          values: SUPPORTED_QUANTILES.map((p) => ({
            interval: null,
            cumulative: h.sampleCount === 0 ? null : h.quantile(p / 100),
          })),
        })),
      },
    });
  }
  return { stats };
}
