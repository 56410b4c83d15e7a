/**
 * End-to-end throughput of each load-balancing policy through remora: wrk (HTTP/1.1, keep-alive)
 * → remora (a child process, pinned to one CPU when taskset is available) → three nginx origins
 * on loopback. One remora per policy, same bootstrap apart from the cluster's policy, so the
 * rows differ only in what the pick costs and how it spreads the load.
 * `node dist/bench/lb-e2e.js [--seconds N] [--conc N] [--rounds N]`, or runLbE2eBench() from the
 * bench runner.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../proxy/version.js';
import { type LoadResult, wrk } from './load.js';
import { have, ProcessSet, waitForPort } from './processes.js';

export interface LbE2eOptions {
  /** Seconds per measured wrk run (default 5). */
  readonly seconds?: number;
  /** wrk connections (default 32). */
  readonly connections?: number;
  /**
   * Rounds: every policy is measured once per round, round after round, and the median round is
   * reported, so a machine whose load drifts over the run does not favour whoever ran first
   * (default 3).
   */
  readonly rounds?: number;
  /** Pin remora to this CPU with taskset (default: the last CPU when taskset exists). */
  readonly pinCpu?: number | null;
  /** Log progress to stderr. */
  readonly log?: (msg: string) => void;
}

export interface LbE2eRow {
  readonly policy: string;
  /** The median round (by req/s). */
  readonly result: LoadResult | undefined;
  /** req/s of every round, in order. */
  readonly rounds: readonly number[];
  readonly note?: string;
}

type Json = Record<string, unknown>;

/** Cluster fields and route fields for each measured policy. */
const CASES: ReadonlyArray<{ name: string; cluster: Json; route?: Json }> = [
  { name: 'ROUND_ROBIN', cluster: { lb_policy: 'ROUND_ROBIN' } },
  { name: 'RANDOM', cluster: { lb_policy: 'RANDOM' } },
  { name: 'LEAST_REQUEST', cluster: { lb_policy: 'LEAST_REQUEST' } },
  {
    name: 'peak EWMA',
    cluster: {
      load_balancing_policy: {
        policies: [
          {
            typed_extension_config: {
              name: 'peak_ewma',
              typed_config: {
                '@type':
                  'type.googleapis.com/remora.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma',
              },
            },
          },
        ],
      },
    },
  },
  // Hashing on the connection's source IP: wrk's connections share one IP, so every request
  // computes a hash (the cost measured) and they all land on one origin (as they would).
  {
    name: 'RING_HASH (source_ip)',
    cluster: { lb_policy: 'RING_HASH' },
    route: { hash_policy: [{ connection_properties: { source_ip: true } }] },
  },
  {
    name: 'MAGLEV (source_ip)',
    cluster: { lb_policy: 'MAGLEV' },
    route: { hash_policy: [{ connection_properties: { source_ip: true } }] },
  },
  {
    name: 'ROUND_ROBIN + locality weights',
    cluster: { lb_policy: 'ROUND_ROBIN', common_lb_config: { locality_weighted_lb_config: {} } },
  },
];

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function originConf(work: string, ports: readonly number[]): string {
  const servers = ports
    .map(
      (p, i) => `  server { listen 127.0.0.1:${p}; location / { return 200 "hello from origin ${i}\\n"; } }`,
    )
    .join('\n');
  return `worker_processes 1;
pid ${work}/lb-origin.pid;
error_log ${work}/lb-origin.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
${servers}
}
`;
}

function bootstrap(listenerPort: number, origins: readonly number[], c: (typeof CASES)[number]): string {
  const zones = ['C', 'A', 'B'];
  const weights = [90, 5, 5];
  return JSON.stringify({
    static_resources: {
      listeners: [
        {
          name: 'lb',
          address: { socket_address: { address: '127.0.0.1', port_value: listenerPort } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'lb',
                    route_config: {
                      virtual_hosts: [
                        {
                          name: 'all',
                          domains: ['*'],
                          routes: [
                            {
                              match: { prefix: '/' },
                              route: { cluster: 'origin', timeout: '0s', ...c.route },
                            },
                          ],
                        },
                      ],
                    },
                    http_filters: [
                      {
                        name: 'envoy.filters.http.router',
                        typed_config: {
                          '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                        },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: 'origin',
          type: 'STATIC',
          connect_timeout: '1s',
          ...c.cluster,
          load_assignment: {
            cluster_name: 'origin',
            endpoints: origins.map((p, i) => ({
              locality: { zone: zones[i % 3] },
              load_balancing_weight: weights[i % 3],
              lb_endpoints: [
                { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } } },
              ],
            })),
          },
        },
      ],
    },
  });
}

function defaultPinCpu(): number | null {
  if (spawnSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }).status !== 0) return null;
  const n = Number(spawnSync('nproc', [], { encoding: 'utf8' }).stdout.trim());
  return Number.isInteger(n) && n > 1 ? n - 1 : null;
}

/** Measures every policy in CASES; a policy that fails to start or run gets a row with a note. */
export async function runLbE2eBench(options: LbE2eOptions = {}): Promise<LbE2eRow[]> {
  const seconds = options.seconds ?? 5;
  const conc = options.connections ?? 32;
  const rounds = options.rounds ?? 3;
  const log = options.log ?? ((m: string) => process.stderr.write(`lb-e2e: ${m}\n`));
  if (!have('wrk') || !have('nginx')) {
    return CASES.map((c) => ({
      policy: c.name,
      result: undefined,
      rounds: [],
      note: 'wrk or nginx missing',
    }));
  }
  const pin = options.pinCpu === undefined ? defaultPinCpu() : options.pinCpu;
  const procs = new ProcessSet(pin ?? undefined);
  const root = packageRoot();
  const rows: LbE2eRow[] = [];
  try {
    const origins = [await freePort(), await freePort(), await freePort()];
    const conf = join(procs.work, 'lb-origin.conf');
    writeFileSync(conf, originConf(procs.work, origins));
    const origin = procs.start('origin', 'nginx', ['-c', conf, '-g', 'daemon off;'], { pin: false });
    await Promise.all(origins.map((p) => waitForPort(p, 5000, origin)));
    const cli = join(root, 'dist', 'proxy', 'cli.js');
    // One remora per policy, all up for the whole run (each pinned to the same CPU, idle when
    // not measured).
    const ports: Array<number | null> = [];
    const notes: string[] = [];
    for (const c of CASES) {
      const port = await freePort();
      const remora = procs.start(
        `remora-${c.name}`,
        process.execPath,
        [cli, '--config-yaml', bootstrap(port, origins, c), '--log-level', 'error', '--drain-time-s', '0'],
        { pin: true, cwd: root },
      );
      try {
        await waitForPort(port, 10_000, remora);
        await wrk(`http://127.0.0.1:${port}/`, 8, 1); // warm-up: JIT, pools
        ports.push(port);
        notes.push('');
      } catch (err) {
        ports.push(null);
        notes.push(err instanceof Error ? err.message : String(err));
      }
    }
    const results: LoadResult[][] = CASES.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < CASES.length; i++) {
        const port = ports[i];
        if (port === null) continue;
        log(`round ${round + 1}/${rounds} ${CASES[i].name}: wrk -c${conc} ${seconds}s`);
        try {
          results[i].push(await wrk(`http://127.0.0.1:${port}/`, conc, seconds));
        } catch (err) {
          notes[i] = err instanceof Error ? err.message : String(err);
        }
      }
    }
    for (let i = 0; i < CASES.length; i++) {
      const rs = results[i];
      const sorted = rs.slice().sort((a, b) => a.rps - b.rps);
      const median = sorted.length === 0 ? undefined : sorted[Math.floor((sorted.length - 1) / 2)];
      rows.push({
        policy: CASES[i].name,
        result: median,
        rounds: rs.map((r) => Math.round(r.rps)),
        ...(notes[i] === '' ? {} : { note: notes[i] }),
      });
    }
  } finally {
    await procs.stopAll();
  }
  return rows;
}

export function formatLbE2eTable(rows: readonly LbE2eRow[]): string {
  const lines = [
    '| policy | req/s (median round) | p50 (ms) | p99 (ms) | errors | req/s per round |',
    '|---|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const x = r.result;
    if (x === undefined) lines.push(`| ${r.policy} | — | — | — | ${r.note ?? 'failed'} | |`);
    else
      lines.push(
        `| ${r.policy} | ${Math.round(x.rps)} | ${(x.p50Us / 1000).toFixed(2)} | ${(x.p99Us / 1000).toFixed(2)} | ${x.errors} | ${r.rounds.join(', ')} |`,
      );
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const num = (flag: string): number | undefined => {
    const i = argv.indexOf(flag);
    return i < 0 ? undefined : Number(argv[i + 1]);
  };
  const rows = await runLbE2eBench({
    seconds: num('--seconds'),
    connections: num('--conc'),
    rounds: num('--rounds'),
  });
  process.stdout.write(`${formatLbE2eTable(rows)}\n`);
}
