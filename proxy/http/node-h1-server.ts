import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HcmConfig } from '../model/listener.js';
import { H1Conn } from './downstream-connections.js';
import type { HcmStats } from './hcm-stats.js';
import { NO_UPGRADE_HEAD, NodeDownstream } from './node-downstream.js';

export interface NodeH1Owner {
  readonly cfg: HcmConfig;
  readonly stats: HcmStats;
  readonly draining: boolean;
  /** A request node:http parsed, on a connection that has not refused one before. */
  onNodeH1Request(req: IncomingMessage, down: NodeDownstream): void;
}

/**
 * The HTTP/1 fallback on node:http (REMORA_H1_CODEC=node, or a Node.js without the llhttp binding
 * remora's codec uses): a server that never listens itself and is fed accepted sockets, with the
 * per-connection bookkeeping node keeps only for servers that do listen (requests in flight,
 * header and idle timeouts).
 */
export class NodeH1Server {
  private readonly server: http.Server;
  private readonly conns = new Map<Socket, H1Conn>();
  /** Connections whose last request was refused as malformed; they close after the reply. */
  private readonly rejected = new WeakSet<Duplex>();

  constructor(
    private readonly owner: NodeH1Owner,
    maxHeaderBytes: number,
  ) {
    const cfg = owner.cfg;
    const allowed = cfg.upgradeTypes;
    this.server = http.createServer({
      maxHeaderSize: maxHeaderBytes,
      requireHostHeader: true,
      // Keep duplicates visible: smuggling checks read rawHeaders, the rest joins safely.
      joinDuplicateHeaders: false,
      keepAliveTimeout: cfg.idleTimeoutMs,
      // Node's own header/request timeouts need the server to listen itself; ours are below.
      headersTimeout: 0,
      requestTimeout: 0,
      // Only upgrades the config allows leave the HTTP parser; `Upgrade: h2c` and others are
      // ordinary requests whose Upgrade header is stripped.
      shouldUpgradeCallback: (req: IncomingMessage) =>
        typeof req.headers.upgrade === 'string' && allowed.includes(req.headers.upgrade.trim().toLowerCase()),
    });
    // Node silently drops header lines past maxHeadersCount; 0 = keep all, the limit is enforced.
    this.server.maxHeadersCount = 0;
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res, null));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
      this.onClientError(err, socket),
    );
    // CONNECT needs an upgrade config (`CONNECT`), which remora does not support yet: refuse it
    // like any upgrade the config does not allow.
    this.server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      this.owner.stats.downstream_rq_total.inc();
      this.owner.stats.recordResponse(403);
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    });
  }

  accept(socket: Socket): void {
    const cfg = this.owner.cfg;
    const stats = this.owner.stats;
    const conn = new H1Conn(socket, this.owner);
    this.conns.set(socket, conn);
    const headersTimeout = cfg.requestHeadersTimeoutMs;
    if (headersTimeout > 0) {
      // request_headers_timeout for the first request of the connection (a slowloris guard);
      // later requests on a keep-alive connection are bounded by the idle timeout instead.
      conn.headersTimer = setTimeout(() => {
        stats.downstream_rq_header_timeout.inc();
        socket.destroy();
      }, headersTimeout);
      conn.headersTimer.unref();
    }
    if (cfg.idleTimeoutMs > 0) {
      // idle_timeout also covers a connection that never sends a request; node's keep-alive timer
      // takes over between later requests.
      socket.setTimeout(cfg.idleTimeoutMs);
      conn.idleArmed = true;
    }
    socket.once('close', () => {
      this.conns.delete(socket);
      if (conn.headersTimer !== null) clearTimeout(conn.headersTimer);
    });
    this.server.emit('connection', socket);
    socket.resume();
  }

  /** The connection manager refused a request on `socket`: nothing after it is acted upon. */
  refuse(socket: Duplex): void {
    this.rejected.add(socket);
  }

  drain(): void {
    for (const c of this.conns.values()) {
      if (c.inflight === 0) {
        this.owner.stats.downstream_cx_drain_close.inc();
        c.socket.end();
      }
    }
  }

  forceClose(): void {
    for (const c of this.conns.values()) c.socket.destroy();
  }

  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    // Bytes after a rejected request are not a new request: the rejection closes the connection.
    if (this.rejected.has(socket)) return;
    if (!socket.writable || err.code === 'ECONNRESET') {
      // The client went away; nothing malformed was received.
      socket.destroy();
      return;
    }
    const stats = this.owner.stats;
    stats.downstream_cx_protocol_error.inc();
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    if (tooLarge) stats.downstream_rq_too_large.inc();
    const line = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${line}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node gives no response object for upgrades; build one on the raw socket so that a refused
    // upgrade (4xx/5xx from the route or the upstream) is answered like any other request.
    const res = new http.ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    this.onRequest(req, res, socket, head);
  }

  private onRequest(
    req: IncomingMessage,
    res: ServerResponse,
    upgradeSocket: Duplex | null,
    upgradeHead: Buffer = NO_UPGRADE_HEAD,
  ): void {
    // A request pipelined behind a refused one may be the smuggled half: never act on it.
    if (this.rejected.has(req.socket)) {
      req.resume();
      return;
    }
    const conn = this.conns.get(req.socket as Socket);
    if (conn !== undefined) {
      if (conn.headersTimer !== null) {
        clearTimeout(conn.headersTimer);
        conn.headersTimer = null;
      }
      if (conn.idleArmed) {
        conn.idleArmed = false;
        conn.socket.setTimeout(0);
      }
      conn.inflight++;
      // The response's 'close' handler (node-downstream.ts) tells the connection first: one
      // listener per response instead of two.
      (res as ServerResponse & { remoraConn?: H1Conn }).remoraConn = conn;
    }
    this.owner.onNodeH1Request(req, new NodeDownstream(req, res, upgradeSocket, upgradeHead, this.owner));
  }
}
