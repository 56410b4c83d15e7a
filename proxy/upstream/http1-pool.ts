import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { ClusterBreakers } from './circuit-breakers.js';
import type { ClusterStats } from './cluster-stats.js';
import type { Host } from './host.js';
import { H1Connection } from './http1-connection.js';
import { serializeHead, serializeLastChunk } from './http1-headers.js';
import type {
  ConnectionPool,
  UpstreamFailure,
  UpstreamRequestHead,
  UpstreamResponseHandler,
  UpstreamStream,
} from './upstream-stream.js';

/**
 * Lean HTTP/1.1 keep-alive pool for one host: requests are written straight to the socket as one
 * latin1 head string and responses parsed by node's llhttp binding, which reads the socket's
 * handle itself where Node allows it (http1-connection.ts), with no ClientRequest /
 * IncomingMessage / Agent in between (about a quarter of node:http's client CPU per request).
 *
 * One request at a time per connection (no pipelining). Idle connections are reused LIFO (a warm
 * one first; surplus ones reach the idle timeout). While all are busy a new one is opened, up to
 * maxConnections (unbounded by default). A connection is not reused when the upstream said
 * Connection: close (or HTTP/1.0 without keep-alive), when the response finished before the
 * request body, after max_requests_per_connection, or while draining. A request without a body on
 * a reused connection that the upstream closed before any response byte is replayed once on a new
 * connection (the keep-alive race every HTTP/1.1 client meets).
 */
export interface Http1PoolOptions {
  readonly connectTimeoutMs: number;
  /** Idle connections are closed after this long; 0 keeps them forever. */
  readonly idleTimeoutMs: number;
  /** 0 = unlimited. */
  readonly maxRequestsPerConnection: number;
  /** Concurrent connections of this pool; unbounded by default. */
  readonly maxConnections?: number;
  /** The cluster's circuit breakers: max_connections and max_pending_requests across its pools. */
  readonly breakers?: ClusterBreakers;
  /**
   * Let llhttp read each socket's handle directly where Node allows it (default); false parses
   * Buffers from 'data' events, the fallback, kept selectable so tests cover both.
   */
  readonly readHandle?: boolean;
}

export class H1Stream implements UpstreamStream {
  readonly host: Host;
  readonly isHead: boolean;
  readonly upgrade: boolean;
  responseStarted = false;
  requestEnded: boolean;
  upgradeHeaders: IncomingHttpHeaders | null = null;
  private conn: H1Connection | null = null;
  private done = false;
  private replayed = false;
  private drainCb: (() => void) | null = null;
  private paused = false;
  private readonly chunked: boolean;
  /** Body bytes still allowed by a known Content-Length (-1 when chunked). */
  private remaining: number;
  /** Body written while the stream waited for a connection (maxConnections reached). */
  private waiting: Buffer[] | null = null;
  private lastChunk: string | null = null;
  /** Counted in the cluster's pending requests (the breakers' upstream_rq_pending_active). */
  cbPending = false;

  constructor(
    private readonly pool: Http1Pool,
    private readonly head: UpstreamRequestHead,
    private readonly handler: UpstreamResponseHandler,
  ) {
    this.host = pool.host;
    this.isHead = head.method === 'HEAD';
    this.upgrade = head.upgrade !== null;
    this.chunked = head.contentLength < 0;
    this.requestEnded = head.contentLength === 0;
    this.remaining = head.contentLength;
  }

  attach(conn: H1Connection): void {
    this.conn = conn;
    if (conn.connected) {
      this.pool.pending--;
      if (this.cbPending) this.leavePending();
    }
    const text = serializeHead(this.head, this.chunked);
    if (text === null) {
      process.nextTick(failUnsafe, this);
      return;
    }
    const sock = conn.socket;
    sock.write(text, 'latin1');
    if (this.paused) conn.setReading(this, false);
    const waiting = this.waiting;
    if (waiting !== null) {
      this.waiting = null;
      for (const chunk of waiting) this.writeBody(sock, chunk);
    }
    if (this.lastChunk !== null) sock.write(this.lastChunk, 'latin1');
    if (waiting !== null) this.drained();
  }

  /** The stream's connection finished connecting. */
  connected(): void {
    this.pool.pending--;
    if (this.cbPending) this.leavePending();
  }

  leavePending(): void {
    this.cbPending = false;
    this.pool.breakers?.endPending();
  }

  write(chunk: Buffer): boolean {
    if (this.done || this.requestEnded || chunk.length === 0) return true;
    const c = this.conn;
    if (c === null) {
      // Queued for a connection: hold the bytes and ask the writer to wait (onDrain on attach).
      if (this.waiting === null) this.waiting = [];
      this.waiting.push(chunk);
      return false;
    }
    return this.writeBody(c.socket, chunk);
  }

  private writeBody(sock: Socket, chunk: Buffer): boolean {
    if (!this.chunked) {
      // Never more than the declared length: extra bytes would be read as the next request.
      if (chunk.length > this.remaining) chunk = chunk.subarray(0, this.remaining);
      this.remaining -= chunk.length;
      return chunk.length === 0 ? true : sock.write(chunk);
    }
    sock.cork();
    sock.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
    sock.write(chunk);
    const ok = sock.write('\r\n', 'latin1');
    sock.uncork();
    return ok;
  }

  end(trailers?: OutgoingHttpHeaders): void {
    if (this.done || this.requestEnded) return;
    this.requestEnded = true;
    if (!this.chunked) return;
    const last = serializeLastChunk(trailers);
    const c = this.conn;
    if (c === null) this.lastChunk = last;
    else c.socket.write(last, 'latin1');
  }

  onDrain(cb: () => void): void {
    this.drainCb = cb;
  }

  pause(): void {
    this.paused = true;
    this.conn?.setReading(this, false);
  }

  resume(): void {
    this.paused = false;
    this.conn?.setReading(this, true);
  }

  reset(): void {
    if (this.done) return;
    this.finish();
    this.conn?.destroy();
  }

  // --- from the connection ---

  drained(): void {
    const cb = this.drainCb;
    if (cb !== null) {
      this.drainCb = null;
      cb();
    }
  }

  headers(status: number, h: IncomingHttpHeaders): void {
    if (!this.done) this.handler.onHeaders(status, h);
  }

  data(chunk: Buffer): void {
    if (!this.done) this.handler.onData(chunk);
  }

  complete(trailers: IncomingHttpHeaders | null): void {
    if (this.done) return;
    this.finish();
    if (trailers !== null) this.handler.onTrailers(trailers);
    this.handler.onEnd();
  }

  upgraded(socket: Socket, head: Buffer): void {
    if (this.done) {
      socket.destroy();
      return;
    }
    this.finish();
    this.handler.onUpgrade(this.upgradeHeaders ?? {}, socket, head);
  }

  /** A request with no body, not yet replayed, may go again on a fresh connection. */
  replayable(): boolean {
    return !this.done && !this.replayed && this.head.contentLength === 0 && !this.upgrade;
  }

  prepareReplay(): void {
    this.replayed = true;
    this.conn = null;
    this.pool.pending++;
  }

  fail(reason: UpstreamFailure, detail: string): void {
    if (this.done) return;
    this.finish();
    this.handler.onError(reason, detail);
  }

  /** Nothing was sent that the connection could be reused after. */
  closeConnection(): void {
    this.conn?.destroy();
  }

  private finish(): void {
    this.done = true;
    const c = this.conn;
    if (c === null || !c.connected) this.pool.pending--;
    if (this.cbPending) this.leavePending();
    this.pool.active--;
  }
}

function failOverflow(s: H1Stream): void {
  s.fail('overflow', 'max_pending_requests');
}

function failUnsafe(s: H1Stream): void {
  s.fail('protocol_error', 'request head carries CR, LF or NUL');
  s.closeConnection();
}

export class Http1Pool implements ConnectionPool {
  draining = false;
  /** Streams not finished, pending included. */
  active = 0;
  /** Streams waiting for a connection (queued or on one still connecting). */
  pending = 0;
  private readonly idleConns: H1Connection[] = [];
  private readonly conns = new Set<H1Connection>();
  private readonly queue: H1Stream[] = [];
  private readonly maxConnections: number;
  readonly breakers: ClusterBreakers | null;

  constructor(
    readonly host: Host,
    readonly stats: ClusterStats,
    readonly opts: Http1PoolOptions,
  ) {
    this.maxConnections = opts.maxConnections ?? Number.POSITIVE_INFINITY;
    this.breakers = opts.breakers ?? null;
  }

  /** Streams on a connected connection (pending ones are counted apart, as Envoy does). */
  get activeStreams(): number {
    return this.active - this.pending;
  }

  get pendingStreams(): number {
    return this.pending;
  }

  /** Open connections (for tests and /clusters). */
  get connectionCount(): number {
    return this.conns.size;
  }

  /** Connections waiting for a request. */
  get idleConnectionCount(): number {
    return this.idleConns.length;
  }

  /** Connections whose parser reads the socket's handle directly (for tests). */
  get handleReadingCount(): number {
    let n = 0;
    for (const c of this.conns) if (c.readsHandle) n++;
    return n;
  }

  newStream(head: UpstreamRequestHead, handler: UpstreamResponseHandler): UpstreamStream {
    const s = new H1Stream(this, head, handler);
    this.active++;
    this.pending++;
    this.dispatch(s);
    return s;
  }

  private dispatch(s: H1Stream): void {
    let c = this.idleConns.pop();
    while (c?.closed) c = this.idleConns.pop();
    if (c !== undefined) {
      c.assign(s);
      return;
    }
    // No ready connection: the request is pending (Envoy checks max_pending_requests here, before
    // opening a connection for it). Failed on the next tick so newStream returns first.
    const br = this.breakers;
    if (br !== null) {
      if (!br.startPending()) {
        process.nextTick(failOverflow, s);
        return;
      }
      s.cbPending = true;
    }
    if (this.conns.size < this.maxConnections && (br === null || br.canOpenConnection(this.conns.size))) {
      c = new H1Connection(this);
      this.conns.add(c);
      br?.connectionOpened();
      c.assign(s);
      return;
    }
    this.queue.push(s);
  }

  /** A connection finished its response and may be reused. */
  release(c: H1Connection): void {
    const next = this.queue.shift();
    if (next !== undefined) {
      c.assign(next);
      return;
    }
    this.idleConns.push(c);
    c.idle();
  }

  /** A reused connection died before answering a body-less request: send it again on a new one. */
  replay(s: H1Stream): void {
    s.prepareReplay();
    this.dispatch(s);
  }

  forget(c: H1Connection): void {
    this.conns.delete(c);
    const i = this.idleConns.indexOf(c);
    if (i >= 0) this.idleConns.splice(i, 1);
    this.breakers?.connectionClosed();
    // A slot opened: a queued stream gets a new connection.
    if (
      this.queue.length > 0 &&
      !this.draining &&
      this.conns.size < this.maxConnections &&
      (this.breakers === null || this.breakers.canOpenConnection(this.conns.size))
    ) {
      const s = this.queue.shift()!;
      const n = new H1Connection(this);
      this.conns.add(n);
      this.breakers?.connectionOpened();
      n.assign(s);
    }
  }

  drain(): void {
    this.draining = true;
    for (const c of this.idleConns.splice(0)) c.destroy();
  }

  destroy(): void {
    this.draining = true;
    for (const s of this.queue.splice(0)) s.fail('connection_termination', 'connection pool destroyed');
    for (const c of [...this.conns]) c.destroy();
  }
}
