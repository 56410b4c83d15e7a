/**
 * Load reporting from the running proxy: a bootstrap with cluster_manager.load_stats_config naming
 * a static HTTP/2 cluster of an in-test LoadReportingServer (the control plane's sink, on
 * loopback). The reports' per-locality counts must match what the test sent through the proxy,
 * with the 503s of one zone counted as errors, as Envoy counts them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LoadReportingServer } from '../../control-plane/lrs/index.js';
import { parseArgs } from '../../proxy/cli-options.js';
import { ConfigError } from '../../proxy/config/issues.js';
import { startProxy } from '../../proxy/main.js';
import { endpoints, freePort, get, lbBootstrap, startUpstreams, type Upstream } from './lb-harness.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Json = Record<string, unknown>;

/** An upstream that answers every request with `status`. */
async function failingUpstream(status: number): Promise<{ port: number }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = status;
      res.end('failing');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { port: (server.address() as AddressInfo).port };
}

function lrsCluster(port: number): Json {
  return {
    name: 'lrs',
    type: 'STATIC',
    connect_timeout: '1s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: {
      cluster_name: 'lrs',
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } },
          ],
        },
      ],
    },
  };
}

/** lb-harness's bootstrap plus the LRS cluster, node and load_stats_config (`edit` changes it further). */
async function bootstrapWithLrs(
  lrsPort: number,
  eps: Json[],
  edit: (b: Json) => void = () => {},
  route?: Json,
) {
  const listenerPort = await freePort();
  const b = JSON.parse(
    lbBootstrap({ listenerPort, cluster: { lb_policy: 'ROUND_ROBIN' }, endpoints: eps, route }),
  ) as Json;
  const sr = b.static_resources as { clusters: Json[] };
  sr.clusters.push(lrsCluster(lrsPort));
  b.node = { id: 'sidecar-lrs-test', cluster: 'web', locality: { region: 'r1', zone: 'A' } };
  b.cluster_manager = {
    load_stats_config: {
      api_type: 'GRPC',
      transport_api_version: 'V3',
      grpc_services: [{ envoy_grpc: { cluster_name: 'lrs' } }],
    },
  };
  edit(b);
  return { yaml: JSON.stringify(b), listenerPort };
}

function options(yaml: string) {
  const parsed = parseArgs(['--config-yaml', yaml, '--drain-time-s', '0', '--log-level', 'error']);
  if (parsed.kind !== 'run') throw new Error(`bad args: ${parsed.kind}`);
  return parsed.options;
}

async function until<T>(what: string, probe: () => T | undefined, deadlineMs = 5000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (let i = 0; i < 1000; i++) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function adminGet(port: number, path: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe('load reporting from the proxy (cluster_manager.load_stats_config)', () => {
  it('reports per-locality issued/success/error matching the traffic, 5xx as errors', async () => {
    const lrs = new LoadReportingServer({ policy: { clusters: 'all', intervalMs: 150 } });
    const lrsPort = await lrs.listen('127.0.0.1', 0);
    cleanups.push(() => lrs.close());
    const ups: Upstream[] = await startUpstreams([0]);
    cleanups.push(() => Promise.all(ups.map((u) => u.close())));
    const bad = await failingUpstream(503);
    const eps = endpoints([{ upstream: ups[0], zone: 'A' }]);
    eps.push({
      locality: { region: 'r1', zone: 'B' },
      lb_endpoints: [
        { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: bad.port } } } },
      ],
    });
    const { yaml, listenerPort } = await bootstrapWithLrs(lrsPort, eps);
    const proxy = await startProxy(options(yaml));
    cleanups.push(() => proxy.shutdown('test'));

    // The counts start when the server's response is applied; a first report says it was.
    let reports = 0;
    cleanups.push(lrs.onRequest(({ first }) => void (first ? 0 : reports++)));
    await until('a first report', () => (reports > 0 ? true : undefined));
    expect(lrs.connectedNodes()).toEqual(['sidecar-lrs-test']);

    const N = 40;
    let ok = 0;
    let failed = 0;
    for (let i = 0; i < N; i++) {
      const r = await get(listenerPort);
      if (r.status === 200) ok++;
      else if (r.status === 503) failed++;
    }
    // Round robin over one host per zone: both zones took traffic.
    expect(ok + failed).toBe(N);
    expect(ok).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);

    const totals = await until('reports covering every request', () => {
      const a = lrs.store.totals('sidecar-lrs-test', 'backend', 'r1/A/');
      const b = lrs.store.totals('sidecar-lrs-test', 'backend', 'r1/B/');
      if (a === undefined || b === undefined) return undefined;
      return a.issued + b.issued === N && a.success + a.error + b.success + b.error === N
        ? { a, b }
        : undefined;
    });
    expect(totals.a).toMatchObject({ issued: ok, success: ok, error: 0, inProgress: 0 });
    expect(totals.b).toMatchObject({ issued: failed, success: 0, error: failed, inProgress: 0 });
    // The host counters agree (Envoy's rq_error counts 5xx responses too).
    const clusters = await adminGet(proxy.adminAddress!.port, '/clusters');
    expect(clusters).toContain(`backend::127.0.0.1:${bad.port}::rq_error::${failed}`);
    expect(clusters).toContain(`backend::127.0.0.1:${bad.port}::rq_success::0`);
    expect(clusters).toContain(`backend::127.0.0.1:${ups[0].port}::rq_success::${ok}`);
    // Envoy's load_reporter.* stats.
    const stats = await adminGet(proxy.adminAddress!.port, '/stats');
    expect(stats).toMatch(/^load_reporter\.connected_state: 1$/m);
    expect(Number(/^load_reporter\.responses: (\d+)$/m.exec(stats)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/^load_reporter\.requests: (\d+)$/m.exec(stats)?.[1])).toBeGreaterThanOrEqual(2);
    expect(stats).toMatch(/^load_reporter\.errors: 0$/m);
    // The LRS cluster itself carries no request traffic of the router: nothing issued there.
    expect(lrs.store.totals('sidecar-lrs-test', 'lrs', '//')?.issued ?? 0).toBe(0);
  });

  it('a retried try ends as an error on its own locality; the retry counts where it went', async () => {
    const lrs = new LoadReportingServer({ policy: { clusters: 'all', intervalMs: 100 } });
    const lrsPort = await lrs.listen('127.0.0.1', 0);
    cleanups.push(() => lrs.close());
    const ups: Upstream[] = await startUpstreams([0]);
    cleanups.push(() => Promise.all(ups.map((u) => u.close())));
    const bad = await failingUpstream(503);
    const eps = endpoints([{ upstream: ups[0], zone: 'A' }]);
    eps.push({
      locality: { region: 'r1', zone: 'B' },
      lb_endpoints: [
        { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: bad.port } } } },
      ],
    });
    const { yaml, listenerPort } = await bootstrapWithLrs(lrsPort, eps, undefined, {
      retry_policy: { retry_on: '5xx', num_retries: 2 },
    });
    const proxy = await startProxy(options(yaml));
    cleanups.push(() => proxy.shutdown('test'));
    let reports = 0;
    cleanups.push(lrs.onRequest(({ first }) => void (first ? 0 : reports++)));
    await until('a first report', () => (reports > 0 ? true : undefined));

    const N = 30;
    const statuses = new Map<number, number>();
    for (let i = 0; i < N; i++) {
      const r = await get(listenerPort);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    const ok = statuses.get(200) ?? 0;
    const t = await until('every try reported', () => {
      const a = lrs.store.totals('sidecar-lrs-test', 'backend', 'r1/A/');
      const b = lrs.store.totals('sidecar-lrs-test', 'backend', 'r1/B/');
      if (a === undefined || b === undefined) return undefined;
      const done = a.success + a.error + b.success + b.error;
      return done === a.issued + b.issued && a.success === ok ? { a, b } : undefined;
    });
    // Every 200 came from zone A; every try that reached zone B failed there and is an error.
    expect(t.a).toMatchObject({ success: ok, error: 0, inProgress: 0 });
    expect(t.b).toMatchObject({ success: 0, inProgress: 0 });
    expect(t.b.error).toBe(t.b.issued);
    // Tries, not requests: B's failed tries were retried, so there are more tries than requests.
    expect(t.a.issued + t.b.issued).toBeGreaterThan(N);
    expect(t.b.issued).toBeGreaterThan(statuses.get(503) ?? 0);
  });

  it('a connect failure counts as an error of its locality', async () => {
    const lrs = new LoadReportingServer({ policy: { clusters: ['backend'], intervalMs: 100 } });
    const lrsPort = await lrs.listen('127.0.0.1', 0);
    cleanups.push(() => lrs.close());
    const dead = await freePort(); // nothing listens here: every connect is refused
    const eps = [
      {
        locality: { region: 'r1', zone: 'C' },
        lb_endpoints: [
          { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: dead } } } },
        ],
      },
    ];
    const { yaml, listenerPort } = await bootstrapWithLrs(lrsPort, eps);
    const proxy = await startProxy(options(yaml));
    cleanups.push(() => proxy.shutdown('test'));
    // A cluster named in the server's list starts counting when the response arrives (as Envoy):
    // a first report (sent for idle clusters too) says the proxy has applied it.
    let reports = 0;
    cleanups.push(lrs.onRequest(({ first }) => void (first ? 0 : reports++)));
    await until('a first report', () => (reports > 0 ? true : undefined));
    for (let i = 0; i < 5; i++) expect((await get(listenerPort)).status).toBe(503);
    const c = await until('the connect failures to be reported', () => {
      const t = lrs.store.totals('sidecar-lrs-test', 'backend', 'r1/C/');
      return t !== undefined && t.error === 5 ? t : undefined;
    });
    expect(c).toMatchObject({ issued: 5, success: 0, error: 5 });
  });

  it('bad load_stats_config is refused with field paths', async () => {
    const cases: Array<[(b: Json) => void, RegExp]> = [
      [
        (b) => {
          (b.cluster_manager as Json).load_stats_config = {
            api_type: 'REST',
            grpc_services: [{ envoy_grpc: { cluster_name: 'lrs' } }],
          };
        },
        /cluster_manager\.load_stats_config\.api_type: must be GRPC/,
      ],
      [
        (b) => {
          (b.cluster_manager as Json).load_stats_config = {
            api_type: 'GRPC',
            grpc_services: [{ envoy_grpc: { cluster_name: 'nope' } }],
          };
        },
        /cluster_manager\.load_stats_config\.grpc_services\[0\]\.envoy_grpc\.cluster_name: unknown cluster 'nope'/,
      ],
      [
        (b) => {
          (b.cluster_manager as Json).load_stats_config = { api_type: 'GRPC' };
        },
        /cluster_manager\.load_stats_config\.grpc_services: exactly one grpc_service is required/,
      ],
    ];
    for (const [edit, message] of cases) {
      const { yaml } = await bootstrapWithLrs(1, [], edit);
      const err = await startProxy(options(yaml)).then(
        (p) => {
          cleanups.push(() => p.shutdown('test'));
          return null;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.list.map((i) => `${i.path}: ${i.message}`).join('\n')).toMatch(
        message,
      );
    }
  });
});
