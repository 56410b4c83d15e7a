/**
 * Shared pieces of the load-balancing integration tests: named upstreams that count what they
 * serve (optionally slow), a bootstrap builder (JSON is YAML, so the config is built as an
 * object), the whole proxy started in-process through startProxy, and a small HTTP client that
 * can pick its source address.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { parseArgs } from '../../proxy/cli-options.js';
import { startProxy } from '../../proxy/main.js';
import type { RunningProxy } from '../../proxy/main-contract.js';

export class Upstream {
  readonly server: http.Server;
  port = 0;
  hits = 0;
  constructor(
    readonly name: string,
    readonly delayMs = 0,
  ) {
    this.server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        this.hits++;
        const answer = () => {
          res.setHeader('x-upstream', this.name);
          res.end(this.name);
        };
        // A slow backend: its answer takes delayMs (latency under test, not a wait for an event).
        if (this.delayMs > 0) setTimeout(answer, this.delayMs);
        else answer();
      });
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export async function startUpstreams(delays: readonly number[]): Promise<Upstream[]> {
  const ups = delays.map((d, i) => new Upstream(`u${i}`, d));
  await Promise.all(ups.map((u) => u.listen()));
  return ups;
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

type Json = Record<string, unknown>;

export interface EndpointSpec {
  readonly upstream: Upstream;
  readonly weight?: number;
  readonly zone?: string;
  readonly localityWeight?: number;
}

/** LocalityLbEndpoints grouped by zone (one group when no zone is given). */
export function endpoints(specs: readonly EndpointSpec[]): Json[] {
  const groups = new Map<string, { weight: number | undefined; eps: Json[] }>();
  for (const s of specs) {
    const z = s.zone ?? '';
    let g = groups.get(z);
    if (g === undefined) {
      g = { weight: s.localityWeight, eps: [] };
      groups.set(z, g);
    }
    g.eps.push({
      endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: s.upstream.port } } },
      ...(s.weight === undefined ? {} : { load_balancing_weight: s.weight }),
    });
  }
  return [...groups].map(([zone, g]) => ({
    ...(zone === '' ? {} : { locality: { region: 'r1', zone } }),
    ...(g.weight === undefined ? {} : { load_balancing_weight: g.weight }),
    lb_endpoints: g.eps,
  }));
}

export interface BootstrapSpec {
  readonly listenerPort: number;
  /** Cluster fields besides name/type/load_assignment (lb_policy, *_lb_config, ...). */
  readonly cluster: Json;
  readonly endpoints: Json[];
  /** Extra RouteAction fields (hash_policy, ...). */
  readonly route?: Json;
  /** HTTP filters before the router. */
  readonly filters?: Json[];
}

export function lbBootstrap(spec: BootstrapSpec): string {
  const cfg = {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    static_resources: {
      listeners: [
        {
          name: 'lb',
          address: { socket_address: { address: '127.0.0.1', port_value: spec.listenerPort } },
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
                              route: { cluster: 'backend', timeout: '5s', ...spec.route },
                            },
                          ],
                        },
                      ],
                    },
                    http_filters: [
                      ...(spec.filters ?? []),
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
          name: 'backend',
          type: 'STATIC',
          connect_timeout: '1s',
          ...spec.cluster,
          load_assignment: { cluster_name: 'backend', endpoints: spec.endpoints },
        },
      ],
    },
  };
  return JSON.stringify(cfg);
}

export interface LbProxy {
  readonly proxy: RunningProxy;
  readonly port: number;
}

/** Starts the whole proxy in-process from a bootstrap built by lbBootstrap (minus the port). */
export async function startLbProxy(spec: Omit<BootstrapSpec, 'listenerPort'>): Promise<LbProxy> {
  const port = await freePort();
  const yaml = lbBootstrap({ ...spec, listenerPort: port });
  const parsed = parseArgs(['--config-yaml', yaml, '--drain-time-s', '0', '--log-level', 'error']);
  if (parsed.kind !== 'run') throw new Error(`bad args: ${parsed.kind}`);
  const proxy = await startProxy(parsed.options);
  return { proxy, port };
}

export interface LbTestScope {
  /** Upstreams with these response delays (ms), or this many without delay. */
  upstreams(delays: readonly number[] | number): Promise<Upstream[]>;
  proxy(spec: Omit<BootstrapSpec, 'listenerPort'>): Promise<LbProxy>;
}

/**
 * For a test file: what `upstreams` and `proxy` start is closed after each test, newest first
 * (proxies before the upstreams they forward to).
 */
export function lbTestScope(): LbTestScope {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    async upstreams(delays) {
      const ups = await startUpstreams(
        typeof delays === 'number' ? Array.from({ length: delays }, () => 0) : delays,
      );
      cleanups.push(() => Promise.all(ups.map((u) => u.close())));
      return ups;
    },
    async proxy(spec) {
      const p = await startLbProxy(spec);
      cleanups.push(() => p.proxy.shutdown('test'));
      return p;
    },
  };
}

export interface Reply {
  readonly status: number;
  readonly upstream: string;
  readonly headers: http.IncomingHttpHeaders;
}

/** One request; `agent` keeps connections alive across calls, `localAddress` picks the source IP. */
export function get(
  port: number,
  opts: { path?: string; headers?: http.OutgoingHttpHeaders; agent?: http.Agent; localAddress?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/',
        headers: opts.headers,
        agent: opts.agent ?? false,
        localAddress: opts.localAddress,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            upstream: String(res.headers['x-upstream'] ?? ''),
            headers: res.headers,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** `total` requests over `concurrency` keep-alive connections; returns upstream name → count. */
export async function spread(
  port: number,
  total: number,
  concurrency: number,
  opts: { path?: (i: number) => string; headers?: (i: number) => http.OutgoingHttpHeaders } = {},
): Promise<Map<string, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const counts = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const r = await get(port, { agent, path: opts.path?.(i), headers: opts.headers?.(i) });
      if (r.status !== 200) throw new Error(`request ${i}: status ${r.status}`);
      counts.set(r.upstream, (counts.get(r.upstream) ?? 0) + 1);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return counts;
}
