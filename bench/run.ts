/**
 * `npm run bench` (not a test): one run that measures the origin directly, every peer in
 * ../shared/bench-peers (nginx, haproxy, node http-proxy, @fastify/http-proxy), an nginx HTTP/2
 * front, and remora, on this machine, back to back; prints a table, remora's ratios to each peer
 * and the targets; `--write` (or BENCH_WRITE=1) appends the run to bench/RESULTS.md.
 * See bench/README.md for what is measured and how.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';
import { join } from 'node:path';
import { packageRoot, versionInfo } from '../proxy/version.js';
import { formatLbE2eTable, runLbE2eBench } from './lb-e2e.js';
import { formatLbPickTable, runLbPickBench } from './lb-picks.js';
import { h2load, wrk } from './load.js';
import {
  have,
  PORTS,
  ProcessSet,
  peakRssKiB,
  peersDir,
  portInUse,
  REMORA_ADMIN_PORT,
  type Started,
  waitForPort,
} from './processes.js';
import { summariseProfileDir } from './profile.js';
import {
  type Machine,
  plainTable,
  type Row,
  ratioLines,
  resultsSection,
  tableRows,
  targetLines,
} from './report.js';
import { formatXdsScaleTable, runXdsScaleBench } from './xds-scale.js';

interface BenchOptions {
  duration: number;
  latencyDuration: number;
  conc: number;
  peers: boolean;
  h2: boolean;
  pin: boolean;
  write: boolean;
  profile: boolean;
  /** Which benchmarks: the proxy comparison, load-balancer picks and policies, xDS scale. */
  suites: ReadonlySet<Suite>;
}

type Suite = 'proxy' | 'lb' | 'xds';
const SUITES: readonly Suite[] = ['proxy', 'lb', 'xds'];

const USAGE = `usage: npm run bench -- [options]
  --duration N           seconds per loaded run (default 5)
  --latency-duration N   seconds per concurrency-1 run (default 3)
  --conc N               connections (wrk) / concurrent streams (h2load) under load (default 32)
  --no-peers             measure the origin and remora only
  --no-h2                skip the HTTP/2 (h2load) runs
  --no-pin               do not pin the proxies to one CPU with taskset
  --profile              run remora with --cpu-prof and print where its time goes
  --write                append this run to bench/RESULTS.md (also BENCH_WRITE=1)
  --suite LIST           comma-separated: proxy (the peer comparison), lb (pick cost per policy at
                         3/100/10,000 hosts and end-to-end throughput per policy), xds (CDS of
                         10,000 clusters, EDS of 100,000 endpoints); default all three
`;

function parseOptions(argv: readonly string[]): BenchOptions {
  const o: BenchOptions = {
    duration: 5,
    latencyDuration: 3,
    conc: 32,
    peers: true,
    h2: true,
    pin: true,
    write: process.env.BENCH_WRITE === '1',
    profile: false,
    suites: new Set(SUITES),
  };
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--duration') o.duration = num(a, argv[++i]);
    else if (a === '--latency-duration') o.latencyDuration = num(a, argv[++i]);
    else if (a === '--conc') o.conc = num(a, argv[++i]);
    else if (a === '--no-peers') o.peers = false;
    else if (a === '--no-h2') o.h2 = false;
    else if (a === '--no-pin') o.pin = false;
    else if (a === '--write') o.write = true;
    else if (a === '--profile') o.profile = true;
    else if (a === '--suite') {
      const list = (argv[++i] ?? '').split(',').filter((x) => x !== '');
      const bad = list.filter((x) => !SUITES.includes(x as Suite));
      if (list.length === 0 || bad.length > 0) throw new Error(`--suite takes ${SUITES.join(',')}\n${USAGE}`);
      o.suites = new Set(list as Suite[]);
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  return o;
}

function machine(): Machine {
  let model = 'unknown CPU';
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? model;
  } catch {
    // Not Linux: keep the placeholder.
  }
  return { cpus: availableParallelism(), model, node: process.version, kernel: release() };
}

/** An origin of our own for when ../shared/bench-peers is absent: nginx, one worker, 18 bytes. */
const FALLBACK_ORIGIN = `worker_processes 1;
pid __WORK__/origin.pid;
error_log __WORK__/origin.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:${PORTS.origin}; location / { return 200 "hello from origin\\n"; } }
}
`;

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

async function measureH1(name: string, port: number, o: BenchOptions): Promise<Row> {
  const url = `http://127.0.0.1:${port}/`;
  log(`${name} (HTTP/1.1): wrk -c${o.conc} ${o.duration}s, -c1 ${o.latencyDuration}s`);
  await wrk(url, 8, 1); // warm-up: JIT, connection pools
  const loaded = await wrk(url, o.conc, o.duration);
  const single = await wrk(url, 1, o.latencyDuration);
  return { name, proto: 'h1', loaded, single };
}

async function measureH2(name: string, port: number, o: BenchOptions, work: string): Promise<Row> {
  const url = `http://127.0.0.1:${port}/`;
  const clients = Math.min(4, o.conc);
  const streams = Math.max(1, Math.round(o.conc / clients));
  log(`${name} (HTTP/2): h2load -c${clients} -m${streams} ${o.duration}s, -c1 -m1 ${o.latencyDuration}s`);
  const loaded = await h2load(url, clients, streams, o.duration, work);
  const single = await h2load(url, 1, 1, o.latencyDuration, work);
  return { name, proto: 'h2', loaded, single };
}

async function safely(name: string, proto: 'h1' | 'h2', f: () => Promise<Row>): Promise<Row> {
  try {
    return await f();
  } catch (err) {
    log(`${name} (${proto}) failed: ${err instanceof Error ? err.message : String(err)}`);
    return { name, proto, loaded: undefined, single: undefined, note: 'failed' };
  }
}

/** The peer comparison; returns the RESULTS.md section when --write and remora was measured. */
async function runProxyBench(o: BenchOptions): Promise<string | null> {
  const root = packageRoot();
  for (const tool of ['wrk', 'nginx']) {
    if (!have(tool))
      throw new Error(`${tool} is not installed (apt-get install wrk nghttp2-client nginx haproxy)`);
  }
  const h2 = o.h2 && have('h2load');
  if (o.h2 && !h2) log('h2load not found: skipping HTTP/2 (apt-get install nghttp2-client)');
  const cpus = availableParallelism();
  const pinCpu = o.pin && cpus >= 2 && have('taskset') ? cpus - 1 : undefined;
  log(pinCpu === undefined ? 'proxies not pinned' : `proxies pinned to CPU ${pinCpu} with taskset`);

  const peers = o.peers ? peersDir(root) : undefined;
  if (o.peers && peers === undefined)
    log('../shared/bench-peers not found: skipping the peers, using our own origin');

  // Another bench (or a remora started by hand on bench/bootstrap.yaml) would be measured in
  // place of ours, or make ours fail to bind: refuse to run over it.
  const ports = [...Object.values(PORTS), REMORA_ADMIN_PORT];
  const busy: number[] = [];
  for (const p of ports) if (await portInUse(p)) busy.push(p);
  // An origin already on :18080 (say, left by a profiling session) is the same nginx returning a
  // small body: measure against it rather than refuse, and say so.
  const reuseOrigin = busy.length === 1 && busy[0] === PORTS.origin;
  if (reuseOrigin) log(`using the origin already listening on :${PORTS.origin}`);
  else if (busy.length > 0) {
    throw new Error(`port(s) ${busy.join(', ')} already in use on 127.0.0.1; is another benchmark running?`);
  }

  const procs = new ProcessSet(pinCpu);
  const profDir = join(root, '.bench-prof');
  const waits: Promise<void>[] = [];
  let remora: Started | undefined;
  const onSignal = (): void => {
    void procs.stopAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const rows: Row[] = [];
  let rssKiB = Number.NaN;
  const extra: string[] = [];
  try {
    // The origin is not pinned: it stands for the application and must not limit the proxies.
    const originConf =
      peers !== undefined
        ? procs.templated(join(peers, 'nginx-origin.conf'), 'nginx-origin.conf')
        : join(procs.work, 'origin.conf');
    if (peers === undefined) writeFileSync(originConf, FALLBACK_ORIGIN.replaceAll('__WORK__', procs.work));
    if (!reuseOrigin) {
      const origin = procs.start('origin', 'nginx', ['-c', originConf, '-g', 'daemon off;'], { pin: false });
      waits.push(waitForPort(PORTS.origin, 5000, origin));
    } else extra.push('origin: an nginx already listening on :18080 (not started by this run)');

    const peerTargets: [string, number][] = [];
    if (peers !== undefined) {
      const nginxConf = procs.templated(join(peers, 'nginx-proxy.conf'), 'nginx-proxy.conf');
      const p1 = procs.start('nginx', 'nginx', ['-c', nginxConf, '-g', 'daemon off;'], { pin: true });
      const p2 = procs.start('haproxy', 'haproxy', ['-f', join(peers, 'haproxy.cfg'), '-q'], { pin: true });
      const nodeProxy = procs.besideNodeModules(
        join(peers, 'node-http-proxy.cjs'),
        root,
        '.bench-node-http-proxy.cjs',
      );
      const p3 = procs.start('node-http-proxy', process.execPath, [nodeProxy], { pin: true, cwd: root });
      const fastify = procs.besideNodeModules(
        join(peers, 'fastify-proxy.mjs'),
        root,
        '.bench-fastify-proxy.mjs',
      );
      const p4 = procs.start('fastify-http-proxy', process.execPath, [fastify], { pin: true, cwd: root });
      waits.push(
        waitForPort(PORTS.nginx, 5000, p1),
        waitForPort(PORTS.haproxy, 5000, p2),
        waitForPort(PORTS.nodeHttpProxy, 5000, p3),
        waitForPort(PORTS.fastify, 5000, p4),
      );
      peerTargets.push(
        ['nginx', PORTS.nginx],
        ['haproxy', PORTS.haproxy],
        ['node-http-proxy', PORTS.nodeHttpProxy],
        ['fastify-http-proxy', PORTS.fastify],
      );
    }
    let nginxH2 = false;
    if (h2 && o.peers) {
      const conf = procs.templated(join(root, 'bench', 'nginx-h2-proxy.conf'), 'nginx-h2-proxy.conf');
      const p = procs.start('nginx-h2', 'nginx', ['-c', conf, '-g', 'daemon off;'], { pin: true });
      waits.push(waitForPort(PORTS.nginxH2, 5000, p));
      nginxH2 = true;
    }

    const nodeArgs: string[] = [];
    if (o.profile) {
      rmSync(profDir, { recursive: true, force: true });
      mkdirSync(profDir, { recursive: true });
      nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profDir}`);
    }
    const cli = join(root, 'dist', 'proxy', 'cli.js');
    const bootstrap = join(root, 'bench', 'bootstrap.yaml');
    remora = procs.start(
      'remora',
      process.execPath,
      [...nodeArgs, cli, '-c', bootstrap, '--log-level', 'error', '--drain-time-s', '1'],
      { pin: true, cwd: root },
    );
    const remoraUp = waitForPort(PORTS.remora, 10_000, remora).then(
      () => true,
      (err: unknown) => {
        log(`remora did not start: ${err instanceof Error ? err.message : String(err)}`);
        return false;
      },
    );
    await Promise.all(waits);
    const remoraOk = await remoraUp;

    rows.push(await safely('direct', 'h1', () => measureH1('direct', PORTS.origin, o)));
    for (const [name, port] of peerTargets)
      rows.push(await safely(name, 'h1', () => measureH1(name, port, o)));
    if (remoraOk) rows.push(await safely('remora', 'h1', () => measureH1('remora', PORTS.remora, o)));
    if (nginxH2)
      rows.push(await safely('nginx', 'h2', () => measureH2('nginx', PORTS.nginxH2, o, procs.work)));
    if (h2 && remoraOk)
      rows.push(await safely('remora', 'h2', () => measureH2('remora', PORTS.remora, o, procs.work)));
    if (remoraOk && remora.child.pid !== undefined) rssKiB = peakRssKiB(remora.child.pid);
    if (remora.child.exitCode !== null)
      log(`remora exited early (${remora.child.exitCode}): ${remora.stderr.trim()}`);
  } finally {
    await procs.stopAll();
  }

  const cells = tableRows(rows, o.conc);
  const rss = Number.isNaN(rssKiB) ? 'not measured' : `${(rssKiB / 1024).toFixed(1)} MiB`;
  process.stdout.write(`\n${plainTable(cells)}\n\nremora peak RSS (VmHWM): ${rss}\n`);
  for (const l of [...ratioLines(rows), ...targetLines(rows)]) process.stdout.write(`${l}\n`);
  if (o.profile) {
    const summary = existsSync(profDir) ? summariseProfileDir(profDir, root) : ['no profile directory'];
    extra.push(...summary.slice(0, 1));
    process.stdout.write(`\n${summary.join('\n')}\n`);
  }

  const remoraMeasured = rows.some((r) => r.name === 'remora' && r.proto === 'h1' && r.loaded !== undefined);
  if (o.write && !remoraMeasured) log('remora was not measured: nothing written to bench/RESULTS.md');
  if (o.write && remoraMeasured) {
    const settings = [
      `wrk -t1 -c${o.conc} ${o.duration}s and -c1 ${o.latencyDuration}s`,
      h2
        ? `h2load -t1 -c${Math.min(4, o.conc)} -m${Math.max(1, Math.round(o.conc / Math.min(4, o.conc)))} and -c1 -m1`
        : 'no h2load',
      pinCpu === undefined
        ? 'proxies not pinned'
        : `proxies pinned to CPU ${pinCpu} (taskset), origin and load generators not`,
    ].join('; ');
    const section = resultsSection({
      date: new Date(),
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
      commit: versionInfo().commit,
      machine: machine(),
      settings,
      rows,
      conc: o.conc,
      rssKiB,
      extra,
    });
    return section;
  }
  return null;
}

function appendResults(sections: readonly string[]): void {
  const results = join(packageRoot(), 'bench', 'RESULTS.md');
  if (!existsSync(results)) {
    writeFileSync(
      results,
      '# Benchmark results\n\nAppended by `npm run bench -- --write`, newest last. Ratios only mean much within one run.\n\n',
    );
  }
  appendFileSync(results, `${sections.join('\n')}\n`);
  log(`appended to ${results}`);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const sections: string[] = [];
  if (o.suites.has('proxy')) {
    const section = await runProxyBench(o);
    if (section !== null) sections.push(section);
  }
  if (o.suites.has('lb')) {
    log('load balancing: cost of one pick per policy (in-process)');
    const picks = formatLbPickTable(runLbPickBench());
    process.stdout.write(`\n${picks}\n`);
    log('load balancing: end-to-end throughput per policy (wrk -> remora -> 3 nginx origins)');
    const e2e = formatLbE2eTable(await runLbE2eBench(o.pin ? {} : { pinCpu: null }));
    process.stdout.write(`\n${e2e}\n`);
    sections.push(
      `### Load balancing (npm run bench -- --suite lb)\n\nCost of one pick:\n\n${picks}\n\nEnd to end:\n\n${e2e}\n`,
    );
  }
  if (o.suites.has('xds')) {
    log('xDS scale: CDS of 10,000 clusters, EDS of 100,000 endpoints (remora in its own process)');
    const xds = formatXdsScaleTable(await runXdsScaleBench({ log }));
    process.stdout.write(`\n${xds}\n`);
    sections.push(`### xDS scale (npm run bench -- --suite xds)\n\n${xds}\n`);
  }
  if (o.write && sections.length > 0) appendResults(sections);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
