/**
 * The tcp_proxy filter balancing connections with every policy, through the whole proxy started
 * in-process from a bootstrap: hash_policy source_ip keeps a client on one backend (and a second
 * proxy agrees), random / least request spread, a connect retry goes to another host, and each
 * session is counted under Envoy's names and access-logged.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseArgs } from '../../proxy/cli-options.js';
import { startProxy } from '../../proxy/main.js';
import type { RunningProxy } from '../../proxy/main-contract.js';
import { waitFor } from '../helpers/http.js';
import { freePort } from './lb-harness.js';

type Json = Record<string, unknown>;

const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const FILE_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';

/** A TCP backend that answers every connection with its name, then closes. */
class NameServer {
  readonly server: net.Server;
  port = 0;
  hits = 0;
  constructor(readonly name: string) {
    this.server = net.createServer((s) => {
      this.hits++;
      s.on('error', () => {});
      s.end(this.name);
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }
  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** One connection through the proxy (from `localAddress`); resolves with what the backend said. */
function connectOnce(port: number, localAddress = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    const parts: Buffer[] = [];
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('error', () => {});
    s.on('close', () => resolve(Buffer.concat(parts).toString()));
  });
}

function adminStats(p: RunningProxy): Promise<Map<string, number>> {
  const a = p.adminAddress!;
  return new Promise((resolve, reject) => {
    http
      .get({ host: a.host, port: a.port, path: '/stats' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => {
          const m = new Map<string, number>();
          for (const line of body.split('\n')) {
            const i = line.lastIndexOf(': ');
            if (i > 0) m.set(line.slice(0, i), Number(line.slice(i + 2)));
          }
          resolve(m);
        });
      })
      .on('error', reject);
  });
}

interface Spec {
  readonly cluster: Json;
  readonly ports: readonly number[];
  readonly tcp?: Json;
}

async function startTcpProxy(spec: Spec): Promise<{ proxy: RunningProxy; port: number }> {
  const port = await freePort();
  const cfg = {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    static_resources: {
      listeners: [
        {
          name: 'tcp',
          address: { socket_address: { address: '127.0.0.1', port_value: port } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.tcp_proxy',
                  typed_config: { '@type': TCP_PROXY, stat_prefix: 'lb', cluster: 'backend', ...spec.tcp },
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
          load_assignment: {
            cluster_name: 'backend',
            endpoints: [
              {
                lb_endpoints: spec.ports.map((p) => ({
                  endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } },
                })),
              },
            ],
          },
        },
      ],
    },
  };
  const parsed = parseArgs([
    '--config-yaml',
    JSON.stringify(cfg),
    '--drain-time-s',
    '0',
    '--log-level',
    'error',
  ]);
  if (parsed.kind !== 'run') throw new Error(`bad args: ${parsed.kind}`);
  const proxy = await startProxy(parsed.options);
  return { proxy, port };
}

/** A port nothing listens on: bound, noted, closed. */
async function deadPort(): Promise<number> {
  return freePort();
}

describe('tcp_proxy load balancing', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function backends(n: number): Promise<NameServer[]> {
    const list = Array.from({ length: n }, (_, i) => new NameServer(`b${i}`));
    await Promise.all(list.map((b) => b.listen()));
    cleanups.push(() => Promise.all(list.map((b) => b.close())));
    return list;
  }

  async function proxy(spec: Spec): Promise<{ proxy: RunningProxy; port: number }> {
    const p = await startTcpProxy(spec);
    cleanups.push(() => p.proxy.shutdown('test'));
    return p;
  }

  async function tally(port: number, n: number, localAddress = '127.0.0.1'): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const name = await connectOnce(port, localAddress);
      seen.set(name, (seen.get(name) ?? 0) + 1);
    }
    return seen;
  }

  for (const policy of ['RING_HASH', 'MAGLEV']) {
    it(`${policy} with hash_policy source_ip keeps a client on one backend, and a second proxy agrees`, async () => {
      const bs = await backends(3);
      const spec: Spec = {
        cluster: { lb_policy: policy },
        ports: bs.map((b) => b.port),
        tcp: { hash_policy: [{ source_ip: {} }] },
      };
      const a = await proxy(spec);
      const b = await proxy(spec);
      const fromA = await tally(a.port, 20);
      expect(fromA.size).toBe(1);
      const [only] = [...fromA.keys()];
      expect(only).toMatch(/^b[012]$/);
      const fromB = await tally(b.port, 10);
      expect([...fromB.entries()]).toEqual([[only, 10]]);
      // Other source addresses hash elsewhere: over 16 loopback IPs more than one backend is used,
      // and each IP stays on its own backend.
      const perIp = new Set<string>();
      for (let i = 2; i < 18; i++) {
        const ip = `127.0.0.${i}`;
        const first = await connectOnce(a.port, ip);
        expect(await connectOnce(b.port, ip)).toBe(first);
        perIp.add(first);
      }
      expect(perIp.size).toBeGreaterThan(1);
    });
  }

  for (const policy of ['RANDOM', 'LEAST_REQUEST', 'ROUND_ROBIN']) {
    it(`${policy} spreads connections over the backends`, async () => {
      const bs = await backends(3);
      const a = await proxy({ cluster: { lb_policy: policy }, ports: bs.map((b) => b.port) });
      const seen = await tally(a.port, 60);
      expect(seen.size).toBe(3);
      for (const n of seen.values()) expect(n).toBeGreaterThanOrEqual(5);
    });
  }

  it('a connect retry goes to another host, also when the client hashes onto the dead one', async () => {
    const [live] = await backends(1);
    const dead = await deadPort();
    const a = await proxy({
      cluster: { lb_policy: 'RING_HASH' },
      ports: [live!.port, dead],
      tcp: { hash_policy: [{ source_ip: {} }], max_connect_attempts: 2 },
    });
    // 16 client IPs: with two hosts on the ring some hash onto the dead one and must be retried.
    for (let i = 2; i < 18; i++) expect(await connectOnce(a.port, `127.0.0.${i}`)).toBe('b0');
    const stats = await adminStats(a.proxy);
    expect(stats.get('cluster.backend.upstream_cx_connect_fail')).toBeGreaterThan(0);
    expect(stats.get('tcp.lb.downstream_cx_total')).toBe(16);
  });

  it('a single attempt to a dead host closes the client without data', async () => {
    const dead = await deadPort();
    const a = await proxy({ cluster: {}, ports: [dead] });
    expect(await connectOnce(a.port)).toBe('');
    const stats = await adminStats(a.proxy);
    expect(stats.get('cluster.backend.upstream_cx_connect_fail')).toBe(1);
  });

  it('max_connections 1: a second connection is refused (UO, upstream_cx_overflow) while the first is open', async () => {
    // A backend that holds each connection open until the test ends it.
    const held: net.Socket[] = [];
    const server = net.createServer((s) => {
      s.on('error', () => {});
      held.push(s);
      s.write('hi');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(() => r(undefined))));
    const a = await proxy({
      cluster: { circuit_breakers: { thresholds: [{ max_connections: 1 }] } },
      ports: [(server.address() as AddressInfo).port],
    });
    const first = net.connect({ port: a.port, host: '127.0.0.1' });
    first.on('error', () => {});
    await new Promise<void>((r) => first.once('data', () => r()));
    expect(await connectOnce(a.port)).toBe('');
    let stats = await adminStats(a.proxy);
    expect(stats.get('cluster.backend.upstream_cx_overflow')).toBe(1);
    expect(stats.get('cluster.backend.circuit_breakers.default.cx_open')).toBe(1);
    expect(held).toHaveLength(1);
    // The first one closes: the slot is free again.
    first.destroy();
    await waitFor(() => held[0]!.destroyed || held[0]!.readableEnded, 3000, 'first upstream closed');
    const cxOpen = async () =>
      (await adminStats(a.proxy)).get('cluster.backend.circuit_breakers.default.cx_open');
    for (let i = 0; i < 300 && (await cxOpen()) !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await cxOpen()).toBe(0);
    const third = net.connect({ port: a.port, host: '127.0.0.1' });
    third.on('error', () => {});
    await new Promise<void>((r) => third.once('data', () => r()));
    third.destroy();
    stats = await adminStats(a.proxy);
    expect(stats.get('cluster.backend.upstream_cx_overflow')).toBe(1);
    for (const s of held) s.destroy();
  });

  it("counts sessions and bytes under Envoy's tcp.<stat_prefix> names and access-logs each session", async () => {
    const bs = await backends(1);
    const dir = mkdtempSync(join(tmpdir(), 'remora-tcp-log-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'tcp.log');
    const a = await proxy({
      cluster: {},
      ports: bs.map((b) => b.port),
      tcp: {
        access_log: [
          {
            name: 'envoy.access_loggers.file',
            typed_config: {
              '@type': FILE_LOG,
              path,
              log_format: {
                text_format_source: { inline_string: '%UPSTREAM_HOST% %BYTES_SENT% %UPSTREAM_CLUSTER%\n' },
              },
            },
          },
        ],
      },
    });
    for (let i = 0; i < 3; i++) expect(await connectOnce(a.port)).toBe('b0');
    const stats = await adminStats(a.proxy);
    expect(stats.get('tcp.lb.downstream_cx_total')).toBe(3);
    expect(stats.get('tcp.lb.downstream_cx_tx_bytes_total')).toBe(6);
    expect(stats.get('tcp.lb.downstream_cx_rx_bytes_total')).toBe(0);
    expect(stats.get('tcp.lb.downstream_cx_no_route')).toBe(0);
    expect(stats.get('tcp.lb.idle_timeout')).toBe(0);
    const line = `127.0.0.1:${bs[0]!.port} 2 backend`;
    await waitFor(
      () => {
        try {
          return (
            readFileSync(path, 'utf8')
              .split('\n')
              .filter((l) => l === line).length === 3
          );
        } catch {
          return false;
        }
      },
      3000,
      'three access log lines',
    );
  });
});

describe('tcp_proxy hash_policy config', () => {
  it('rejects filter_state and more than one entry with field paths', async () => {
    for (const [hp, msg] of [
      [[{ filter_state: { key: 'k' } }], 'hash_policy[0].filter_state: not supported by remora'],
      [[{ source_ip: {} }, { source_ip: {} }], 'hash_policy: must have at most one entry'],
    ] as const) {
      await expect(startTcpProxy({ cluster: {}, ports: [1], tcp: { hash_policy: hp } })).rejects.toThrow(msg);
    }
  });
});
