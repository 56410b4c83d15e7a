/**
 * xDS at scale: how long remora takes from an xDS response to serving it, and its memory after.
 *
 *   node dist/bench/xds-scale.js [--clusters N] [--eds-clusters N] [--endpoints N] [--profile DIR]
 *
 * Processes: remora runs as its own process (dist/proxy/cli.js with a dynamic bootstrap: one
 * static cluster for the ADS server, everything else over ADS, state of the world); this process
 * runs the ADS server (bench/xds-push-server.ts: it writes each response when the bench says), the
 * HTTP origins (100 ports on 127.0.0.1) and the probing client. All resources are encoded before
 * the clock starts.
 *
 * The listener routes on `cluster_header: x-cluster`, so one route reaches any cluster. Each figure
 * is the time from the ADS server having serialized the response and handed it to HTTP/2 to the
 * first request through remora to the named cluster answering 200 (so it includes the transfer of
 * the response over loopback, gRPC's decode, remora's decode/validate/translate and the apply).
 * Beside it, remora's CPU time over the step (which includes answering the probes, about 0.1 ms
 * each): on a shared machine the wall time also measures the neighbours.
 *
 *   cds:  one CDS response adding N STATIC clusters with one endpoint each (names cds-0..cds-N-1);
 *         done when a request to the last one (cds-N-1) succeeds.
 *   eds:  after CDS brought M EDS clusters (warming, their EDS names subscribed), one EDS response
 *         with M ClusterLoadAssignments of E endpoints each; done when a request to the last
 *         cluster (eds-M-1) succeeds. The N static clusters are removed in the same CDS step.
 *   cds-resend: the last CDS sent again with one cluster changed (what a SotW control plane sends
 *         for one change); done when that cluster answers from its new endpoint.
 *   eds-behind-cds: a CDS response of N new STATIC clusters written, then at once an EDS response
 *         changing only eds-0 to one endpoint on a marker origin; done when a request to eds-0 is
 *         answered by the marker origin. Compared with the same EDS change alone (eds-alone).
 *
 * RSS is remora's VmRSS right after each step is serving (and VmHWM, the peak, at the end).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProtoObject } from '../proxy/config/proto-object.js';
import { CDS, EDS, encodeSet, LDS, PushServer } from './xds-push-server.js';

export interface XdsScaleOptions {
  /** STATIC clusters in the CDS step (default 10,000). */
  readonly clusters?: number;
  /** EDS clusters in the EDS step (default 1,000). */
  readonly edsClusters?: number;
  /** Endpoints per EDS cluster (default 100). */
  readonly endpointsPerCluster?: number;
  /** Run remora with --cpu-prof into this directory. */
  readonly profileDir?: string;
  readonly log?: (line: string) => void;
}

export interface XdsScaleRow {
  readonly step: string;
  readonly what: string;
  /** Response written → first request served by the new config, ms. */
  readonly ms: number;
  /** Bytes of resources in the response. */
  readonly bytes: number;
  /** remora's VmRSS right after, MiB. */
  readonly rssMiB: number;
  /**
   * CPU time remora used over the step (user + system, 10 ms resolution), ms: less sensitive than
   * the wall time to other processes competing for the cores.
   */
  readonly cpuMs: number;
}

export interface XdsScaleResult {
  readonly rows: XdsScaleRow[];
  readonly peakRssMiB: number;
  readonly nacks: string[];
}

const ORIGIN_PORTS = 100;
const HERE = dirname(fileURLToPath(import.meta.url));
/** dist/bench/ → the repository root (where dist/proxy/cli.js is found as ./dist/...). */
const ROOT = resolve(HERE, '..', '..');
const CLI = join(ROOT, 'dist', 'proxy', 'cli.js');
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const HCM =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function socket(port: number): ProtoObject {
  return { address: { socket_address: { address: '127.0.0.1', port_value: port } } };
}

function staticCluster(name: string, port: number): ProtoObject {
  return {
    name,
    type: 'STATIC',
    connect_timeout: 1000,
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: socket(port) }] }] },
  };
}

function edsCluster(name: string): ProtoObject {
  return {
    name,
    type: 'EDS',
    connect_timeout: 1000,
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name },
  };
}

function assignment(name: string, ports: readonly number[]): ProtoObject {
  return { cluster_name: name, endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: socket(p) })) }] };
}

function listener(port: number): ProtoObject {
  return {
    name: 'ingress',
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM,
              stat_prefix: 'ingress',
              route_config: {
                name: 'by-header',
                virtual_hosts: [
                  {
                    name: 'all',
                    domains: ['*'],
                    routes: [{ match: { prefix: '/' }, route: { cluster_header: 'x-cluster' } }],
                  },
                ],
              },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } }],
            },
          },
        ],
      },
    ],
  };
}

function bootstrap(xdsPort: number, adminPort: number): string {
  return `
node: { id: bench-sidecar, cluster: bench }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: ${adminPort} } }
static_resources:
  clusters:
    - name: xds
      type: STATIC
      connect_timeout: 1s
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config: { http2_protocol_options: {} }
      load_assignment:
        cluster_name: xds
        endpoints:
          - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${xdsPort} } } }
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services: [{ envoy_grpc: { cluster_name: xds } }]
  lds_config: { ads: {}, resource_api_version: V3, initial_fetch_timeout: 30s }
  cds_config: { ads: {}, resource_api_version: V3, initial_fetch_timeout: 30s }
`;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** HTTP origins: each answers 200 with its name in `x-origin`. */
async function startOrigin(name: string): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'x-origin': name, 'content-length': '2' });
    res.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

function rssMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? Number.NaN : Math.round(Number(m[1]) / 102.4) / 10;
  } catch {
    return Number.NaN;
  }
}

/** utime + stime of a process, ms (from /proc; the kernel counts in 10 ms ticks). */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

class Prober {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  constructor(private readonly port: number) {}

  /** One request for `cluster`; the x-origin of a 200, or null. */
  once(cluster: string): Promise<string | null> {
    return new Promise((resolve) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          path: '/',
          agent: this.agent,
          headers: { 'x-cluster': cluster },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode === 200 ? String(res.headers['x-origin'] ?? '') : null));
        },
      );
      req.on('error', () => resolve(null));
      req.setTimeout(30_000, () => req.destroy());
      req.end();
    });
  }

  /** Probes until `accept` holds; the time it first did. Bounded by `timeoutMs` and a count. */
  async until(
    cluster: string,
    accept: (origin: string | null) => boolean,
    timeoutMs: number,
  ): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (let i = 0; i < 1_000_000 && performance.now() < deadline; i++) {
      const origin = await this.once(cluster);
      if (accept(origin)) return performance.now();
      if (i > 50) await new Promise((r) => setTimeout(r, 1));
    }
    throw new Error(`cluster ${cluster} not serving within ${timeoutMs} ms`);
  }

  close(): void {
    this.agent.destroy();
  }
}

export async function runXdsScaleBench(options: XdsScaleOptions = {}): Promise<XdsScaleResult> {
  const log = options.log ?? ((l: string) => console.log(l));
  const nClusters = options.clusters ?? 10_000;
  const nEds = options.edsClusters ?? 1_000;
  const nEndpoints = options.endpointsPerCluster ?? 100;
  const origins = await Promise.all(Array.from({ length: ORIGIN_PORTS }, (_, i) => startOrigin(`o${i}`)));
  const marker = await startOrigin('marker');
  const ports = origins.map((o) => o.port);
  const ads = new PushServer();
  const work = mkdtempSync(join(tmpdir(), 'remora-xds-scale-'));
  let child: ChildProcess | null = null;
  let prober: Prober | null = null;
  try {
    const xdsPort = await ads.listen();
    const listenPort = await freePort();
    const adminPort = await freePort();
    const bootPath = join(work, 'bootstrap.yaml');
    writeFileSync(bootPath, bootstrap(xdsPort, adminPort));

    log('encoding resources...');
    const warm = staticCluster('warmup', ports[0]);
    const edsProtos = Array.from({ length: nEds }, (_, i) => edsCluster(`eds-${i}`));
    const lds = encodeSet(LDS, 'l1', [listener(listenPort)]);
    const cds0 = encodeSet(CDS, 'c0', [warm]);
    const cdsBig = encodeSet(CDS, 'c1', [
      warm,
      ...Array.from({ length: nClusters }, (_, i) => staticCluster(`cds-${i}`, ports[i % ORIGIN_PORTS])),
    ]);
    const cdsEds = encodeSet(CDS, 'c2', [warm, ...edsProtos]);
    const endpointPorts = Array.from({ length: nEndpoints }, (_, i) => ports[i % ORIGIN_PORTS]);
    const edsBig = encodeSet(
      EDS,
      'e1',
      edsProtos.map((_, i) => assignment(`eds-${i}`, endpointPorts)),
    );
    const cdsBig2 = encodeSet(CDS, 'c3', [
      warm,
      ...edsProtos,
      ...Array.from({ length: nClusters }, (_, i) => staticCluster(`cds2-${i}`, ports[i % ORIGIN_PORTS])),
    ]);
    const cdsResend = encodeSet(CDS, 'c4', [
      warm,
      ...edsProtos,
      ...Array.from({ length: nClusters }, (_, i) =>
        staticCluster(`cds2-${i}`, i === nClusters - 1 ? marker.port : ports[i % ORIGIN_PORTS]),
      ),
    ]);
    const edsMarker = encodeSet(EDS, 'e2', [assignment('eds-0', [marker.port])]);
    const edsBack = encodeSet(EDS, 'e3', [assignment('eds-0', endpointPorts)]);
    const edsMarkerAgain = encodeSet(EDS, 'e4', [assignment('eds-0', [marker.port])]);

    ads.push(cds0);
    ads.push(lds);
    const nodeArgs = options.profileDir
      ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, '--max-old-space-size=4096']
      : ['--max-old-space-size=4096'];
    const proc = spawn(process.execPath, [...nodeArgs, CLI, '-c', bootPath, '--log-level', 'error'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr?.setEncoding('utf8').on('data', (c: string) => {
      if (stderr.length < 8192) stderr += c;
    });
    const pid = proc.pid ?? 0;
    const probe = new Prober(listenPort);
    prober = probe;
    await probe
      .until('warmup', (o) => o !== null, 30_000)
      .catch((err: Error) => {
        throw new Error(`${err.message}; remora stderr: ${stderr.trim()}`);
      });
    const rows: XdsScaleRow[] = [];
    const row = (step: string, what: string, t: [number, number], c0: number, bytes: number): void => {
      const ms = Math.round((t[1] - t[0]) * 10) / 10;
      const r = { step, what, ms, bytes, rssMiB: rssMiB(pid, 'VmRSS'), cpuMs: cpuMs(pid) - c0 };
      rows.push(r);
      log(`${step}: ${r.ms} ms (remora CPU ${r.cpuMs} ms), remora RSS ${r.rssMiB} MiB`);
    };
    log(`remora serving (RSS ${rssMiB(pid, 'VmRSS')} MiB); measuring`);

    // (a) CDS: N STATIC clusters in one response.
    let c0 = cpuMs(pid);
    let t0 = ads.push(cdsBig);
    let t1 = await probe.until(`cds-${nClusters - 1}`, (o) => o !== null, 60_000);
    row('cds', `${nClusters} STATIC clusters, 1 endpoint each`, [t0, t1], c0, cdsBig.bytes);
    await ads.ack(CDS, 'c1');

    // (b) EDS: M EDS clusters arrive (warming) and subscribe; then all their endpoints in one response.
    const subscribed = ads.nextRequest((r) => r.type_url === EDS && r.resource_names.length === nEds);
    ads.push(cdsEds);
    await subscribed;
    await ads.ack(CDS, 'c2');
    c0 = cpuMs(pid);
    t0 = ads.push(edsBig);
    t1 = await probe.until(`eds-${nEds - 1}`, (o) => o !== null, 60_000);
    row('eds', `${nEds} clusters x ${nEndpoints} endpoints`, [t0, t1], c0, edsBig.bytes);
    await ads.ack(EDS, 'e1');

    // (d) EDS alone, then EDS written right behind a big CDS response.
    c0 = cpuMs(pid);
    t0 = ads.push(edsMarker);
    t1 = await probe.until('eds-0', (o) => o === 'marker', 30_000);
    row('eds-alone', 'EDS change of 1 cluster', [t0, t1], c0, edsMarker.bytes);
    await ads.ack(EDS, 'e2');
    ads.push(edsBack);
    await probe.until('eds-0', (o) => o !== null && o !== 'marker', 30_000);
    await ads.ack(EDS, 'e3');
    c0 = cpuMs(pid);
    const tCds = ads.push(cdsBig2);
    t0 = ads.push(edsMarkerAgain);
    t1 = await probe.until('eds-0', (o) => o === 'marker', 60_000);
    const what = `EDS change of 1 cluster written right after a CDS of ${nClusters} new`;
    row('eds-behind-cds', what, [t0, t1], c0, edsMarkerAgain.bytes);
    const t2 = await probe.until(`cds2-${nClusters - 1}`, (o) => o !== null, 60_000);
    const cdsWhat = `that CDS (${nClusters} new STATIC + ${nEds} unchanged EDS clusters)`;
    row('cds-with-eds', cdsWhat, [tCds, t2], c0, cdsBig2.bytes);
    await ads.ack(CDS, 'c3');

    // A SotW push as a control plane sends it for one changed cluster: all of them again.
    c0 = cpuMs(pid);
    t0 = ads.push(cdsResend);
    t1 = await probe.until(`cds2-${nClusters - 1}`, (o) => o === 'marker', 60_000);
    row('cds-resend', `the same CDS again with 1 cluster changed`, [t0, t1], c0, cdsResend.bytes);
    await ads.ack(CDS, 'c4');
    const peak = rssMiB(pid, 'VmHWM');
    log(`remora peak RSS ${peak} MiB; NACKs: ${ads.nacks.length}`);
    return { rows, peakRssMiB: peak, nacks: [...ads.nacks] };
  } finally {
    prober?.close();
    if (child !== null && child.exitCode === null) {
      const c = child;
      const gone = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    ads.close();
    for (const o of [...origins, marker]) o.server.closeAllConnections();
    await Promise.all([...origins, marker].map((o) => new Promise<void>((r) => o.server.close(() => r()))));
    rmSync(work, { recursive: true, force: true });
  }
}

export function formatXdsScaleTable(result: XdsScaleResult): string {
  const lines = [
    '| step | what | response → serving (ms) | remora CPU (ms) | resources (MiB) | remora RSS after (MiB) |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const r of result.rows) {
    const mib = (r.bytes / 1048576).toFixed(2);
    lines.push(`| ${r.step} | ${r.what} | ${r.ms} | ${r.cpuMs} | ${mib} | ${r.rssMiB} |`);
  }
  lines.push('', `remora peak RSS (VmHWM): ${result.peakRssMiB} MiB`);
  return lines.join('\n');
}

function argValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const num = (flag: string): number | undefined => {
    const v = argValue(args, flag);
    return v === undefined ? undefined : Number(v);
  };
  runXdsScaleBench({
    clusters: num('--clusters'),
    edsClusters: num('--eds-clusters'),
    endpointsPerCluster: num('--endpoints'),
    profileDir: argValue(args, '--profile'),
  }).then(
    (r) => console.log(`\n${formatXdsScaleTable(r)}`),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
