/** Shared pieces of the whole-process tests: free ports, a bootstrap writer, a held upstream. */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A port that was free a moment ago (bind 0, read, close). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'remora-e2e-'));
  write(name: string, text: string): string {
    const p = join(this.path, name);
    writeFileSync(p, text);
    return p;
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** An Envoy v3 bootstrap: one HTTP listener routing everything to one STATIC cluster. */
export function httpBootstrap(opts: {
  listenerPort: number;
  upstreamPort: number;
  adminPort?: number;
}): string {
  return `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: ${opts.adminPort ?? 0} } }
static_resources:
  listeners:
    - name: e2e
      address: { socket_address: { address: 127.0.0.1, port_value: ${opts.listenerPort} } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: e2e
                route_config:
                  virtual_hosts:
                    - name: all
                      domains: ["*"]
                      routes:
                        - match: { prefix: "/" }
                          route: { cluster: origin, timeout: 0s }
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: origin
      type: STATIC
      connect_timeout: 1s
      lb_policy: ROUND_ROBIN
      load_assignment:
        cluster_name: origin
        endpoints:
          - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${opts.upstreamPort} } } }
`;
}

/**
 * An upstream whose answers to /held wait until release() (the "slow response" that keeps a
 * request in flight across a shutdown); every other path answers at once.
 */
export class HeldUpstream {
  readonly server: http.Server;
  private held: http.ServerResponse[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];

  constructor() {
    this.server = http.createServer((req, res) => {
      if (req.url?.startsWith('/held')) {
        this.held.push(res);
        this.wake();
      } else {
        res.end('fast');
      }
    });
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** Resolves once n requests are being held (bounded by the test timeout). */
  waitHeld(n: number): Promise<void> {
    if (this.held.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  release(body = 'released'): void {
    for (const res of this.held.splice(0)) res.end(body);
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private wake(): void {
    this.waiters = this.waiters.filter((w) => {
      if (this.held.length < w.n) return true;
      w.resolve();
      return false;
    });
  }
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 request on a fresh connection. */
export function get(port: number, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

export function post(port: number, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
