/**
 * Turns measurements into the printed table, remora's ratios to each peer, the two
 * targets, and the markdown section that `--write` appends to bench/RESULTS.md.
 */
import type { LoadResult } from './load.js';

export interface Row {
  readonly name: string;
  readonly proto: 'h1' | 'h2';
  /** At the loaded concurrency (wrk -c32 / h2load 32 streams). */
  readonly loaded: LoadResult | undefined;
  /** At concurrency 1. */
  readonly single: LoadResult | undefined;
  readonly note?: string;
}

function fmtRps(v: number | undefined): string {
  return v === undefined || Number.isNaN(v) ? '-' : v >= 10_000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0);
}

function fmtUs(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  return v >= 10_000 ? `${(v / 1000).toFixed(1)} ms` : `${v.toFixed(0)} us`;
}

function fmtRatio(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(2)}x` : '-';
}

export function tableRows(rows: readonly Row[], conc: number): string[][] {
  const out: string[][] = [
    ['target', 'proto', `rps c${conc}`, 'p50 c1', 'p99 c1', `p50 c${conc}`, `p99 c${conc}`, 'errors'],
  ];
  for (const r of rows) {
    const errors = (r.loaded?.errors ?? 0) + (r.single?.errors ?? 0);
    out.push([
      r.name,
      r.proto,
      fmtRps(r.loaded?.rps),
      fmtUs(r.single?.p50Us),
      fmtUs(r.single?.p99Us),
      fmtUs(r.loaded?.p50Us),
      fmtUs(r.loaded?.p99Us),
      r.note ?? String(errors),
    ]);
  }
  return out;
}

export function plainTable(cells: readonly string[][]): string {
  const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells
    .map((row) => row.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '))
    .join('\n');
}

export function markdownTable(cells: readonly string[][]): string {
  const [head, ...body] = cells;
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const row of body) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

/**
 * remora against each peer of the same protocol: throughput ratio (remora / peer) and added
 * latency ratio at concurrency 1 ((remora p50 − direct p50) / (peer p50 − direct p50)), where
 * "direct" is the origin without a proxy. Below 1 is better for latency, above 1 for throughput.
 */
export function ratioLines(rows: readonly Row[]): string[] {
  const lines: string[] = [];
  for (const proto of ['h1', 'h2'] as const) {
    const remora = rows.find((r) => r.name === 'remora' && r.proto === proto);
    if (remora?.loaded === undefined) continue;
    // "direct" (no proxy) exists for HTTP/1.1 only: the origin does not speak h2c. For HTTP/2 the
    // latency ratio is therefore of the whole p50, not of what the proxy adds.
    const direct = proto === 'h1' ? rows.find((r) => r.name === 'direct' && r.proto === 'h1') : undefined;
    const base = direct?.single?.p50Us ?? 0;
    const what = direct === undefined ? 'p50 latency at c1' : 'added p50 latency at c1';
    for (const peer of rows) {
      if (
        peer.proto !== proto ||
        peer.name === 'remora' ||
        peer.name === 'direct' ||
        peer.loaded === undefined
      )
        continue;
      const rps = remora.loaded.rps / peer.loaded.rps;
      const added =
        remora.single !== undefined && peer.single !== undefined
          ? (remora.single.p50Us - base) / (peer.single.p50Us - base)
          : Number.NaN;
      lines.push(`remora/${peer.name} (${proto}): throughput ${fmtRatio(rps)}, ${what} ${fmtRatio(added)}`);
    }
  }
  return lines;
}

/** The targets for HTTP/1.1; undefined entries when a row needed is missing. */
export function targetLines(rows: readonly Row[]): string[] {
  const find = (n: string): Row | undefined => rows.find((r) => r.name === n && r.proto === 'h1');
  const remora = find('remora');
  const lines: string[] = [];
  const nodeProxy = find('node-http-proxy');
  if (remora?.loaded !== undefined && nodeProxy?.loaded !== undefined) {
    const ratio = remora.loaded.rps / nodeProxy.loaded.rps;
    lines.push(
      `target throughput >= 1.5x node http-proxy: ${fmtRatio(ratio)} ${ratio >= 1.5 ? 'MET' : 'NOT MET'}`,
    );
  }
  const nginx = find('nginx');
  const direct = find('direct');
  if (remora?.single !== undefined && nginx?.single !== undefined && direct?.single !== undefined) {
    const ours = remora.single.p50Us - direct.single.p50Us;
    const theirs = nginx.single.p50Us - direct.single.p50Us;
    const ratio = ours / theirs;
    lines.push(
      `target added p50 at c1 <= 2x nginx's: remora adds ${fmtUs(ours)}, nginx ${fmtUs(theirs)} -> ${fmtRatio(ratio)} ${ratio <= 2 ? 'MET' : 'NOT MET'}`,
    );
  }
  return lines;
}

export interface Machine {
  readonly cpus: number;
  readonly model: string;
  readonly node: string;
  readonly kernel: string;
}

export function resultsSection(opts: {
  date: Date;
  command: string;
  commit: string;
  machine: Machine;
  settings: string;
  rows: readonly Row[];
  conc: number;
  rssKiB: number;
  extra: readonly string[];
}): string {
  const { machine } = opts;
  const rss = Number.isNaN(opts.rssKiB) ? 'not measured' : `${(opts.rssKiB / 1024).toFixed(1)} MiB`;
  return [
    `## ${opts.date.toISOString().replace(/\.\d+Z$/, 'Z')} (commit ${opts.commit.slice(0, 12)})`,
    '',
    `- command: \`${opts.command}\``,
    `- machine: ${machine.cpus} x ${machine.model}, Linux ${machine.kernel}, Node ${machine.node}`,
    `- settings: ${opts.settings}`,
    `- remora peak RSS (VmHWM): ${rss}`,
    '',
    markdownTable(tableRows(opts.rows, opts.conc)),
    '',
    ...[...ratioLines(opts.rows), ...targetLines(opts.rows), ...opts.extra].map((l) => `- ${l}`),
    '',
  ].join('\n');
}
