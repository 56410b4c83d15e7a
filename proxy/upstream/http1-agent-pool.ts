import {
  Agent,
  type ClientRequest,
  type ClientRequestArgs,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  request,
} from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ClusterStats } from './cluster-stats.js';
import type { Host } from './host.js';
import { connectFailureReason, openUpstreamSocket, socketConnected } from './upstream-socket.js';
import type {
  ConnectionPool,
  UpstreamFailure,
  UpstreamRequestHead,
  UpstreamResponseHandler,
  UpstreamStream,
} from './upstream-stream.js';

/**
 * HTTP/1.1 keep-alive connection pool for one host, built on node:http's client and an Agent of our
 * own: the agent reuses idle connections (LIFO, so a warm connection is preferred and surplus ones
 * reach the idle timeout), opens new ones while all are busy (up to maxConnections), and its
 * connections are opened through openUpstreamSocket so connect_timeout and the cx stats are kept in
 * one place. node:http does the framing: Content-Length when known, chunked otherwise, no body for
 * HEAD/204/304, trailers, and it does not reuse a connection the upstream marked Connection: close.
 */
export interface AgentHttp1PoolOptions {
  readonly connectTimeoutMs: number;
  /** Idle connections are closed after this long; 0 keeps them forever. */
  readonly idleTimeoutMs: number;
  /** 0 = unlimited. */
  readonly maxRequestsPerConnection: number;
  /** Concurrent connections; Infinity by default (circuit breakers come later). */
  readonly maxConnections?: number;
}

class PoolAgent extends Agent {
  /** Requests served per connection, only tracked when max_requests_per_connection is set. */
  private readonly served = new WeakMap<Duplex, number>();
  constructor(
    private readonly pool: AgentHttp1Pool,
    private readonly opts: AgentHttp1PoolOptions,
  ) {
    super({
      keepAlive: true,
      maxSockets: opts.maxConnections ?? Number.POSITIVE_INFINITY,
      maxFreeSockets: Number.POSITIVE_INFINITY,
      scheduling: 'lifo',
      timeout: opts.idleTimeoutMs > 0 ? opts.idleTimeoutMs : undefined,
    });
  }

  override createConnection(_options: ClientRequestArgs): Duplex {
    const p = this.pool;
    return openUpstreamSocket(p.host, p.stats, this.opts.connectTimeoutMs, p.stats.upstream_cx_http1_total);
  }

  override keepSocketAlive(socket: Duplex): boolean {
    if (this.pool.draining) return false;
    const max = this.opts.maxRequestsPerConnection;
    if (max > 0) {
      const n = (this.served.get(socket) ?? 0) + 1;
      if (n >= max) return false;
      this.served.set(socket, n);
    }
    return super.keepSocketAlive(socket) as unknown as boolean;
  }
}

/** The response headers that belong to the HTTP/1 connection, not to the message. */
function stripHopByHop(h: IncomingHttpHeaders): IncomingHttpHeaders {
  const conn = h.connection;
  if (conn !== undefined) {
    for (const name of conn.split(',')) {
      const n = name.trim().toLowerCase();
      if (n !== '' && n !== 'content-length') delete h[n];
    }
    delete h.connection;
  }
  if (h['transfer-encoding'] !== undefined) delete h['transfer-encoding'];
  if (h['keep-alive'] !== undefined) delete h['keep-alive'];
  if (h['proxy-connection'] !== undefined) delete h['proxy-connection'];
  return h;
}

type StreamReq = ClientRequest & { _remoraStream?: Http1Stream };
type StreamRes = IncomingMessage & { _remoraStream?: Http1Stream };

class Http1Stream implements UpstreamStream {
  readonly host: Host;
  private res: IncomingMessage | null = null;
  private paused = false;
  private done = false;
  private bound = false;
  private readonly req: ClientRequest;

  constructor(
    private readonly pool: AgentHttp1Pool,
    head: UpstreamRequestHead,
    private readonly handler: UpstreamResponseHandler,
  ) {
    this.host = pool.host;
    const headers: OutgoingHttpHeaders = { host: head.authority };
    const src = head.headers;
    for (const k in src) headers[k] = src[k];
    if (head.contentLength > 0) headers['content-length'] = head.contentLength;
    else if (head.contentLength < 0) headers['transfer-encoding'] = 'chunked';
    else if (head.method === 'POST' || head.method === 'PUT' || head.method === 'PATCH')
      headers['content-length'] = 0;
    if (head.upgrade !== null) {
      headers.connection = 'Upgrade';
      headers.upgrade = head.upgrade;
    }
    const req = request({
      agent: pool.agent,
      host: pool.host.address,
      port: pool.host.port,
      method: head.method,
      path: head.path,
      headers,
      setHost: false,
    }) as StreamReq;
    req._remoraStream = this;
    this.req = req;
    pool.pending++;
    req.on('socket', onReqSocket);
    req.on('response', onReqResponse);
    req.on('error', onReqError);
    if (head.upgrade !== null) req.on('upgrade', onReqUpgrade);
    if (head.contentLength === 0) req.end();
    else if (head.contentLength < 0 || src.expect !== undefined) {
      // node holds the head until the first body write; a streamed body (or one waiting for
      // 100-continue) may not come until the upstream answered, so the head goes now.
      req.flushHeaders();
    }
  }

  write(chunk: Buffer): boolean {
    if (this.done || this.req.writableEnded) return true;
    return this.req.write(chunk);
  }

  end(trailers?: OutgoingHttpHeaders): void {
    if (this.done || this.req.writableEnded) return;
    if (trailers !== undefined && this.req.chunkedEncoding) this.req.addTrailers(trailers);
    this.req.end();
  }

  onDrain(cb: () => void): void {
    this.req.once('drain', cb);
  }

  pause(): void {
    this.paused = true;
    if (this.res !== null) this.res.pause();
  }

  resume(): void {
    this.paused = false;
    if (this.res !== null) this.res.resume();
  }

  reset(): void {
    if (this.done) return;
    this.finish();
    this.req.destroy();
  }

  // --- events (called from the module-level listeners below) ---

  bind(socket: Socket): void {
    if (this.bound) return;
    this.bound = true;
    this.pool.pending--;
    this.pool.active++;
    void socket;
  }

  response(res: IncomingMessage): void {
    if (this.done) return;
    this.res = res;
    (res as StreamRes)._remoraStream = this;
    if (this.paused) res.pause();
    res.on('data', onResData);
    res.on('end', onResEnd);
    res.on('close', onResClose);
    res.on('error', onResError);
    this.handler.onHeaders(res.statusCode ?? 502, stripHopByHop(res.headers));
  }

  data(chunk: Buffer): void {
    if (!this.done) this.handler.onData(chunk);
  }

  end_(res: IncomingMessage): void {
    if (this.done) return;
    this.finish();
    if (res.rawTrailers.length > 0) this.handler.onTrailers(res.trailers);
    this.handler.onEnd();
  }

  upgrade(res: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.done) {
      socket.destroy();
      return;
    }
    this.finish();
    this.handler.onUpgrade(res.headers, socket, head);
  }

  fail(err: NodeJS.ErrnoException | undefined): void {
    if (this.done) return;
    const socket = this.req.socket;
    let reason: UpstreamFailure = 'connection_termination';
    if (this.res === null && (socket === null || !socketConnected(socket as Socket)))
      reason = connectFailureReason(err);
    else if (err?.code?.startsWith('HPE_')) {
      reason = 'protocol_error';
      this.pool.stats.upstream_cx_protocol_error.inc();
    }
    this.finish();
    this.handler.onError(reason, err?.message ?? 'upstream connection closed');
  }

  private finish(): void {
    this.done = true;
    if (this.bound) this.pool.active--;
    else {
      this.bound = true;
      this.pool.pending--;
    }
  }
}

function onReqSocket(this: StreamReq, socket: Socket): void {
  this._remoraStream?.bind(socket);
}
function onReqResponse(this: StreamReq, res: IncomingMessage): void {
  this._remoraStream?.response(res);
}
function onReqError(this: StreamReq, err: NodeJS.ErrnoException): void {
  this._remoraStream?.fail(err);
}
function onReqUpgrade(this: StreamReq, res: IncomingMessage, socket: Duplex, head: Buffer): void {
  this._remoraStream?.upgrade(res, socket, head);
}
function onResData(this: StreamRes, chunk: Buffer): void {
  this._remoraStream?.data(chunk);
}
function onResEnd(this: StreamRes): void {
  this._remoraStream?.end_(this);
}
function onResClose(this: StreamRes): void {
  if (!this.complete) this._remoraStream?.fail(undefined);
}
function onResError(this: StreamRes, err: NodeJS.ErrnoException): void {
  this._remoraStream?.fail(err);
}

export class AgentHttp1Pool implements ConnectionPool {
  readonly agent: PoolAgent;
  draining = false;
  /** Streams waiting for a connection, and streams on one (see ConnectionPool). */
  pending = 0;
  active = 0;

  constructor(
    readonly host: Host,
    readonly stats: ClusterStats,
    opts: AgentHttp1PoolOptions,
  ) {
    this.agent = new PoolAgent(this, opts);
  }

  get activeStreams(): number {
    return this.active;
  }

  get pendingStreams(): number {
    return this.pending;
  }

  newStream(head: UpstreamRequestHead, handler: UpstreamResponseHandler): UpstreamStream {
    return new Http1Stream(this, head, handler);
  }

  drain(): void {
    this.draining = true;
    for (const list of Object.values(this.agent.freeSockets)) {
      if (list !== undefined) for (const s of [...list]) s.destroy();
    }
  }

  destroy(): void {
    this.draining = true;
    this.agent.destroy();
  }
}
