import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../observability/logger.js';
import { AdminContext, type AdminHandler, type AdminResponse, text } from './admin-context.js';
import { clustersHandler } from './handlers/clusters.js';
import { configDumpHandler } from './handlers/config-dump.js';
import { drainHandler, healthcheckHandler, loggingHandler, quitHandler } from './handlers/lifecycle.js';
import { listenersHandler, memoryHandler, readyHandler, serverInfoHandler } from './handlers/server.js';
import { prometheusHandler, resetCountersHandler, statsHandler } from './handlers/stats.js';
import type { AdminSources } from './sources.js';

/**
 * The admin HTTP server (Envoy's admin interface) on node:http. Requests are rare and small, so
 * every handler builds its whole body as a string; nothing here touches the data path.
 *
 * Endpoints that change server state answer only POST (GET → 405), as Envoy does, so a browser or
 * a crawler cannot fail health checks or stop the process by following a link.
 */

interface Endpoint {
  readonly path: string;
  readonly help: string;
  readonly mutates: boolean;
  readonly handler: AdminHandler;
}

const ENDPOINTS: readonly Endpoint[] = [
  { path: '/clusters', help: 'upstream cluster status', mutates: false, handler: clustersHandler },
  { path: '/config_dump', help: 'dump current Envoy configs', mutates: false, handler: configDumpHandler },
  { path: '/drain_listeners', help: 'drain listeners', mutates: true, handler: drainHandler },
  {
    path: '/healthcheck/fail',
    help: 'cause the server to fail health checks',
    mutates: true,
    handler: healthcheckHandler(true),
  },
  {
    path: '/healthcheck/ok',
    help: 'cause the server to pass health checks',
    mutates: true,
    handler: healthcheckHandler(false),
  },
  { path: '/listeners', help: 'print listener info', mutates: false, handler: listenersHandler },
  { path: '/logging', help: 'query/change logging levels', mutates: true, handler: loggingHandler },
  { path: '/memory', help: 'print current allocation/heap usage', mutates: false, handler: memoryHandler },
  { path: '/quitquitquit', help: 'exit the server', mutates: true, handler: quitHandler },
  {
    path: '/ready',
    help: 'print server state, return 200 if LIVE, otherwise return 503',
    mutates: false,
    handler: readyHandler,
  },
  {
    path: '/reset_counters',
    help: 'reset all counters to zero',
    mutates: true,
    handler: resetCountersHandler,
  },
  {
    path: '/server_info',
    help: 'print server version/status information',
    mutates: false,
    handler: serverInfoHandler,
  },
  { path: '/stats', help: 'print server stats', mutates: false, handler: statsHandler },
  {
    path: '/stats/prometheus',
    help: 'print server stats in prometheus format',
    mutates: false,
    handler: prometheusHandler,
  },
];

function helpText(): string {
  let s = 'admin commands are:\n  /: Admin home page\n  /help: print out list of admin commands\n';
  for (const e of ENDPOINTS) s += `  ${e.path}: ${e.help}\n`;
  return s;
}

export interface AdminServerOptions {
  /** Bind address (the bootstrap's admin.address); Envoy's docs advise loopback. */
  readonly address: string;
  /** 0 picks a free port (tests); read `port` after listen(). */
  readonly port: number;
  readonly logger?: Logger;
}

export class AdminServer {
  readonly context: AdminContext;
  private readonly server: Server;
  private readonly byPath = new Map<string, Endpoint>();
  private readonly logger: Logger | undefined;

  constructor(
    sources: AdminSources,
    private readonly opts: AdminServerOptions,
  ) {
    this.context = new AdminContext(sources);
    this.logger = opts.logger;
    for (const e of ENDPOINTS) this.byPath.set(e.path, e);
    this.server = createServer((req, res) => this.onRequest(req, res));
    // Admin connections are few; do not let an idle keep-alive one hold shutdown up.
    this.server.keepAliveTimeout = 5000;
  }

  /** True after POST /healthcheck/fail until POST /healthcheck/ok. */
  get healthCheckFailed(): boolean {
    return this.context.healthCheckFailed;
  }

  /**
   * Sets the flag as the endpoints do, e.g. on SIGTERM so that /ready says DRAINING while
   * listeners drain. Does not call `healthCheckChanged` (the caller knows).
   */
  setHealthCheckFailed(failed: boolean): void {
    this.context.healthCheckFailed = failed;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.address, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.logger?.error({ err }, 'admin server error'));
        resolve();
      });
    });
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get address(): string {
    return (this.server.address() as AddressInfo).address;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    // Bodies are not used by any endpoint; read and discard so keep-alive works.
    req.resume();
    let resp: AdminResponse;
    try {
      resp = this.dispatch(req);
    } catch (err) {
      this.logger?.error({ err, url: req.url }, 'admin handler failed');
      resp = text(`internal error: ${(err as Error).message}\n`, 500);
    }
    res.writeHead(resp.status, {
      'content-type': resp.contentType,
      'cache-control': 'no-cache, max-age=0',
      'x-content-type-options': 'nosniff',
      'content-length': Buffer.byteLength(resp.body),
    });
    const after = resp.after;
    if (after !== undefined) res.once('finish', after);
    res.end(req.method === 'HEAD' ? undefined : resp.body);
  }

  private dispatch(req: IncomingMessage): AdminResponse {
    // Split by hand: `new URL` would read `//stats` as a host name, and the path is matched exactly.
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    const method = req.method ?? 'GET';
    if (path === '/' || path === '/help') return text(helpText());
    const e = this.byPath.get(path);
    if (e === undefined) return text(`invalid path. ${helpText()}`, 404);
    if (e.mutates && method !== 'POST') {
      this.logger?.warn({ path, method }, 'admin path mutates state; POST required');
      return text(`Method ${method} not allowed, POST required.\n`, 405);
    }
    if (!e.mutates && method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      return text(`Method ${method} not allowed.\n`, 405);
    }
    return e.handler({ method, path, query }, this.context);
  }
}

export type { AdminRequest, AdminResponse } from './admin-context.js';
