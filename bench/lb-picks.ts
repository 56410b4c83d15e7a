/**
 * The cost of one load-balancing pick for every policy at 3, 100 and 10,000 hosts, and the time
 * to rebuild a balancer for 10,000 hosts after one host changes (the control-path work a host
 * set update triggers). In-process microbenchmark: no sockets, a seeded PRNG, the default config
 * of each policy. `node dist/bench/lb-picks.js`, or runLbPickBench() from the main bench runner.
 */
import { pathToFileURL } from 'node:url';
import { Issues } from '../proxy/config/issues.js';
import { seededRng } from '../proxy/extensions/load-balancing-policies/common/rng.js';
import { top53, U64 } from '../proxy/extensions/load-balancing-policies/common/u64.js';
import { xxHash64Into } from '../proxy/extensions/load-balancing-policies/common/xxhash64.js';
import { LeastRequestLbFactory } from '../proxy/extensions/load-balancing-policies/least_request/factory.js';
import { MaglevLbFactory } from '../proxy/extensions/load-balancing-policies/maglev/factory.js';
import { PeakEwmaLbFactory } from '../proxy/extensions/load-balancing-policies/peak_ewma/factory.js';
import { RandomLbFactory } from '../proxy/extensions/load-balancing-policies/random/factory.js';
import { RingHashLbFactory } from '../proxy/extensions/load-balancing-policies/ring_hash/factory.js';
import { roundRobinFactory } from '../proxy/extensions/load-balancing-policies/round_robin/factory.js';
import { Host } from '../proxy/upstream/host.js';
import type { LbContext, LbPolicyFactory, LoadBalancer } from '../proxy/upstream/load-balancer.js';

export const HOST_COUNTS = [3, 100, 10_000] as const;

export interface LbPickRow {
  readonly policy: string;
  /** ns per pick at each of HOST_COUNTS. */
  readonly nsPerPick: readonly number[];
  /** ms to build a balancer for 10,000 hosts after one host was replaced (previous passed). */
  readonly rebuildMs10k: number;
}

export interface LbPickBenchOptions {
  /** Picks per timed run (default 1,000,000). */
  readonly picks?: number;
  /** Timed runs per cell; the median is reported (default 5). */
  readonly runs?: number;
  /** Rebuilds timed at 10,000 hosts; the median is reported (default 5). */
  readonly rebuilds?: number;
}

interface PolicyCase {
  readonly label: string;
  readonly factory: LbPolicyFactory<unknown>;
  readonly weighted: boolean;
  /** Hash policies get a request hash; the others get a context without one. */
  readonly hashed: boolean;
}

function cases(): PolicyCase[] {
  const rng = seededRng(12345);
  const random = new RandomLbFactory({ rng });
  const leastRequest = new LeastRequestLbFactory({ rng });
  return [
    { label: 'round_robin', factory: roundRobinFactory, weighted: false, hashed: false },
    { label: 'round_robin (weighted)', factory: roundRobinFactory, weighted: true, hashed: false },
    { label: 'random', factory: random, weighted: false, hashed: false },
    { label: 'random (weighted)', factory: random, weighted: true, hashed: false },
    { label: 'least_request', factory: leastRequest, weighted: false, hashed: false },
    { label: 'least_request (weighted)', factory: leastRequest, weighted: true, hashed: false },
    { label: 'peak_ewma', factory: new PeakEwmaLbFactory({ rng }), weighted: false, hashed: false },
    { label: 'ring_hash', factory: new RingHashLbFactory({ rng }), weighted: false, hashed: true },
    { label: 'maglev', factory: new MaglevLbFactory({ rng }), weighted: false, hashed: true },
  ];
}

function makeHosts(n: number, weighted: boolean, offset = 0): Host[] {
  const hosts: Host[] = [];
  for (let i = offset; i < n + offset; i++) {
    const h = new Host({
      address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      port: 8080,
      weight: weighted ? 1 + (i % 5) : 1,
    });
    // Some load, so least request compares real numbers.
    h.rqActive = i % 7;
    hosts.push(h);
  }
  return hosts;
}

/** A fixed pool of request contexts, cycled through so hashed lookups touch the whole table. */
function contexts(hashed: boolean): LbContext[] {
  const out: LbContext[] = [];
  const enc = new TextEncoder();
  const h = new U64();
  for (let i = 0; i < 4096; i++) {
    let hashKey: number | undefined;
    if (hashed) {
      const b = enc.encode(`user-${i}`);
      xxHash64Into(b, b.length, 0, h);
      hashKey = top53(h.hi, h.lo);
    }
    out.push({ hashKey, previousHosts: null, downstreamAddress: '127.0.0.1:40000' });
  }
  return out;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[s.length >> 1];
}

let sink = 0;

function timePicks(lb: LoadBalancer, ctxs: readonly LbContext[], picks: number): number {
  const mask = ctxs.length - 1;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < picks; i++) {
    const host = lb.chooseHost(ctxs[i & mask]);
    if (host !== null) sink += host.port;
  }
  return Number(process.hrtime.bigint() - t0) / picks;
}

function build(c: PolicyCase, hosts: readonly Host[], previous: LoadBalancer | null): LoadBalancer {
  const issues = new Issues();
  const config = c.factory.parseConfig(undefined, 'bench', issues);
  return c.factory.create(hosts, config, previous);
}

export function runLbPickBench(options: LbPickBenchOptions = {}): LbPickRow[] {
  const picks = options.picks ?? 1_000_000;
  const runs = options.runs ?? 5;
  const rebuilds = options.rebuilds ?? 5;
  const rows: LbPickRow[] = [];
  for (const c of cases()) {
    const ctxs = contexts(c.hashed);
    const nsPerPick: number[] = [];
    for (const n of HOST_COUNTS) {
      const lb = build(c, makeHosts(n, c.weighted), null);
      timePicks(lb, ctxs, Math.min(picks, 200_000)); // warm up: let the JIT settle
      const samples: number[] = [];
      for (let r = 0; r < runs; r++) samples.push(timePicks(lb, ctxs, picks));
      nsPerPick.push(median(samples));
    }
    // Rebuild after a host change: the previous balancer is passed, as the cluster does.
    let hosts = makeHosts(10_000, c.weighted);
    let lb = build(c, hosts, null);
    const times: number[] = [];
    for (let r = 0; r < rebuilds; r++) {
      hosts = hosts.slice(1).concat(makeHosts(1, c.weighted, 10_000 + r));
      const t0 = process.hrtime.bigint();
      lb = build(c, hosts, lb);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    rows.push({ policy: c.label, nsPerPick, rebuildMs10k: median(times) });
  }
  return rows;
}

export function formatLbPickTable(rows: readonly LbPickRow[]): string {
  const header = [
    'policy',
    ...HOST_COUNTS.map((n) => `${n.toLocaleString('en-US')} hosts ns/pick`),
    'rebuild 10k ms',
  ];
  const lines = rows.map((r) => [
    r.policy,
    ...r.nsPerPick.map((ns) => ns.toFixed(1)),
    r.rebuildMs10k.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = runLbPickBench();
  console.log(formatLbPickTable(rows));
  if (sink === -1) console.log(sink); // keeps the picks observable to the optimiser
}
