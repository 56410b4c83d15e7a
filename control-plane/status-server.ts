/**
 * The status endpoint, on its own port: GET /status (every connected proxy by node id with, per
 * type URL, the version sent and ACKed, the last NACK, the subscriptions), GET /snapshot (the
 * resources being served, decoded), GET /healthz. Read-only; anything else is 404 / 405.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdsServer } from './ads-server.js';
import type { MeshStatus } from './mesh-watcher.js';

export interface StatusSources {
  readonly ads: AdsServer;
  readonly mesh?: () => MeshStatus;
  readonly version: string;
  /** Load reporting and global balancing (control-plane/global-balancing.ts), when on. */
  readonly lrs?: () => object;
}

export class StatusServer {
  private server: Server | null = null;
  private readonly startedAt = new Date().toISOString();

  constructor(private readonly sources: StatusSources) {}

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    switch (path) {
      case '/healthz':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      case '/status':
        json(res, {
          version: this.sources.version,
          started_at: this.startedAt,
          mesh: this.sources.mesh?.() ?? null,
          ...this.sources.ads.status(),
          load_reporting: this.sources.lrs?.() ?? null,
        });
        return;
      case '/snapshot':
        json(res, this.sources.ads.snapshot.toJSON());
        return;
      default:
        res
          .writeHead(404, { 'content-type': 'text/plain' })
          .end('not found: try /status, /snapshot, /healthz\n');
    }
  }

  async listen(address: string, port: number): Promise<number> {
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function json(res: ServerResponse, body: object): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(body, null, 2)}\n`);
}
