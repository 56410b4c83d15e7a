import type { Counter, Gauge, Histogram, StatsStore } from './stats.js';
import {
  ALL_STATS,
  type StatsQuery,
  selectCounters,
  selectGauges,
  selectHistograms,
} from './stats-format.js';
import { sanitizePrometheusName, type Tag, TagExtractor } from './tag-extractor.js';

/**
 * Prometheus text exposition (format 0.0.4) with Envoy's naming: `envoy_` + the tag-extracted name
 * with every character outside [a-zA-Z0-9_] mapped to `_`, tags as labels (`envoy.cluster_name` →
 * `envoy_cluster_name`). One `# TYPE` line per metric family; counters first, then gauges, then
 * histograms (cumulative `_bucket{le=..}`, `_sum`, `_count`), each group sorted by family name, as
 * Envoy orders them.
 */

interface Family {
  readonly name: string;
  readonly lines: string[];
}

export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelPairs(tags: readonly Tag[]): string {
  let s = '';
  for (const t of tags) {
    if (s !== '') s += ',';
    s += `${sanitizePrometheusName(t.name)}="${escapeLabelValue(t.value)}"`;
  }
  return s;
}

function braces(labels: string): string {
  return labels === '' ? '' : `{${labels}}`;
}

/** Prometheus sample values: integers as is; `+Inf`/`-Inf`/`NaN` spelled as the format wants. */
function sampleValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

export class PrometheusFormatter {
  constructor(private readonly tags: TagExtractor = new TagExtractor()) {}

  /** Family name and label text for one stat. */
  private describe(statName: string): { family: string; labels: string } {
    const e = this.tags.extract(statName);
    return { family: `envoy_${sanitizePrometheusName(e.name)}`, labels: labelPairs(e.tags) };
  }

  private scalarFamilies(stats: ReadonlyArray<Counter | Gauge>): Family[] {
    const fams = new Map<string, Family>();
    for (const s of stats) {
      const { family, labels } = this.describe(s.name);
      let f = fams.get(family);
      if (f === undefined) {
        f = { name: family, lines: [] };
        fams.set(family, f);
      }
      f.lines.push(`${family}${braces(labels)} ${sampleValue(s.value)}`);
    }
    return [...fams.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private histogramFamilies(hs: readonly Histogram[]): Family[] {
    const fams = new Map<string, Family>();
    for (const h of hs) {
      const { family, labels } = this.describe(h.name);
      let f = fams.get(family);
      if (f === undefined) {
        f = { name: family, lines: [] };
        fams.set(family, f);
      }
      const sep = labels === '' ? '' : ',';
      let cumulative = 0;
      for (let i = 0; i < h.bounds.length; i++) {
        cumulative += h.counts[i];
        f.lines.push(`${family}_bucket{${labels}${sep}le="${h.bounds[i]}"} ${cumulative}`);
      }
      f.lines.push(`${family}_bucket{${labels}${sep}le="+Inf"} ${h.sampleCount}`);
      f.lines.push(`${family}_sum${braces(labels)} ${sampleValue(h.sampleSum)}`);
      f.lines.push(`${family}_count${braces(labels)} ${h.sampleCount}`);
    }
    return [...fams.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The body of `GET /stats/prometheus`. */
  format(store: StatsStore, q: StatsQuery = ALL_STATS): string {
    let out = '';
    const emit = (fams: Family[], type: string) => {
      for (const f of fams) {
        out += `# TYPE ${f.name} ${type}\n`;
        for (const l of f.lines) out += `${l}\n`;
      }
    };
    if (q.type === 'All' || q.type === 'Counters')
      emit(this.scalarFamilies(selectCounters(store, q)), 'counter');
    if (q.type === 'All' || q.type === 'Gauges') emit(this.scalarFamilies(selectGauges(store, q)), 'gauge');
    emit(this.histogramFamilies(selectHistograms(store, q)), 'histogram');
    return out;
  }
}
