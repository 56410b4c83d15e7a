import {
  type ClientHttp2Stream,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import type { ClusterBreakers } from './circuit-breakers.js';
import type { ClusterStats } from './cluster-stats.js';
import type { Host } from './host.js';
import { H2Connection } from './http2-connection.js';
import { OverflowStream } from './overflow-stream.js';
import { connectFailureOf } from './upstream-socket.js';
import type {
  ConnectionPool,
  UpstreamFailure,
  UpstreamRequestHead,
  UpstreamResponseHandler,
  UpstreamStream,
} from './upstream-stream.js';

/**
 * HTTP/2 connection pool for one host: streams are multiplexed on one session; another session is
 * opened only when every open one is at its concurrent-stream limit (the peer's SETTINGS or ours,
 * whichever is lower). A session that received GOAWAY (or is draining) takes no new streams and is
 * closed when its last stream ends. Request trailers (gRPC) are sent through waitForTrailers.
 */
export interface Http2PoolOptions {
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxConcurrentStreams: number;
  readonly initialStreamWindowSize: number;
  readonly initialConnectionWindowSize: number;
  /** Streams per session before it is retired; 0 = unlimited. */
  readonly maxRequestsPerConnection: number;
  /** The cluster's circuit breakers: max_connections and max_pending_requests across its pools. */
  readonly breakers?: ClusterBreakers;
}

/** Connection-specific fields HTTP/2 forbids (RFC 9113 §8.2.2); node:http2 would throw on them. */
const FORBIDDEN = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
]);

type StreamH2 = ClientHttp2Stream & { _remoraStream?: Http2Stream };

class Http2Stream implements UpstreamStream {
  readonly host: Host;
  private stream: ClientHttp2Stream | null = null;
  private done = false;
  private gotHeaders = false;
  private localReset = false;
  private trailers: OutgoingHttpHeaders | undefined = undefined;
  /** Response trailers received, held until the body before them has been delivered ('end'). */
  private trailersReceived: IncomingHttpHeaders | null = null;
  /**
   * Counted in the cluster's pending requests (upstream_rq_pending_active): 'connecting' until its
   * session is up, 'queued' (behind the peer's stream limit, where nghttp2 holds it) until the
   * response starts; null when it started at once or the pool has no breakers.
   */
  private pending: 'connecting' | 'queued' | null;

  constructor(
    private readonly conn: H2Connection,
    head: UpstreamRequestHead,
    private readonly handler: UpstreamResponseHandler,
    pending: 'connecting' | 'queued' | null = null,
  ) {
    this.pending = pending;
    this.host = conn.pool.host;
    const headers: OutgoingHttpHeaders = {
      ':method': head.method,
      ':path': head.path,
      ':authority': head.authority,
      ':scheme': head.scheme,
    };
    const src = head.headers;
    for (const k in src) {
      if (FORBIDDEN.has(k) || (k === 'te' && src[k] !== 'trailers')) continue;
      headers[k] = src[k];
    }
    if (head.contentLength > 0) headers['content-length'] = head.contentLength;
    const noBody = head.contentLength === 0;
    conn.active++;
    conn.served++;
    conn.pool.active++;
    try {
      const st = conn.session.request(headers, { endStream: noBody, waitForTrailers: !noBody }) as StreamH2;
      st._remoraStream = this;
      this.stream = st;
      st.on('response', onResponse);
      st.on('data', onData);
      st.on('trailers', onTrailers);
      st.on('end', onEnd);
      st.on('error', onStreamError);
      st.on('close', onClose);
      if (!noBody) st.on('wantTrailers', onWantTrailers);
      if (pending === 'connecting') st.once('ready', onReady);
    } catch (err) {
      // A session that died between the pick and the request: fail asynchronously, as pools do.
      process.nextTick(failLater, this, err as Error);
    }
    const max = conn.pool.opts.maxRequestsPerConnection;
    if (max > 0 && conn.served >= max) conn.retire();
  }

  write(chunk: Buffer): boolean {
    const st = this.stream;
    if (st === null || this.done || st.writableEnded) return true;
    return st.write(chunk);
  }

  end(trailers?: OutgoingHttpHeaders): void {
    const st = this.stream;
    if (st === null || this.done || st.writableEnded) return;
    this.trailers = trailers;
    st.end();
  }

  onDrain(cb: () => void): void {
    if (this.stream !== null) this.stream.once('drain', cb);
  }

  pause(): void {
    this.stream?.pause();
  }

  resume(): void {
    this.stream?.resume();
  }

  reset(): void {
    if (this.done) return;
    this.localReset = true;
    this.finish();
    this.stream?.close(constants.NGHTTP2_CANCEL);
  }

  sendTrailers(st: ClientHttp2Stream): void {
    const t: OutgoingHttpHeaders = {};
    const src = this.trailers;
    if (src !== undefined) for (const k in src) if (!FORBIDDEN.has(k)) t[k] = src[k];
    st.sendTrailers(t);
  }

  /** The stream left the pending state (its session is up, or its response began, or it ended). */
  started(): void {
    if (this.pending === null) return;
    this.pending = null;
    this.conn.pool.opts.breakers?.endPending();
  }

  response(headers: IncomingHttpHeaders & { ':status'?: number }): void {
    if (this.done) return;
    this.started();
    this.gotHeaders = true;
    const status = headers[':status'] ?? 502;
    delete headers[':status'];
    this.handler.onHeaders(status, headers);
  }

  data(chunk: Buffer): void {
    if (!this.done) this.handler.onData(chunk);
  }

  trailersIn(t: IncomingHttpHeaders): void {
    // node emits 'trailers' when the frame arrives, even while the stream is paused with body
    // still buffered (downstream backpressure): passed on now they would overtake that body and
    // end the response short. They go at 'end', after the last byte.
    if (!this.done) this.trailersReceived = t;
  }

  ended(st: ClientHttp2Stream): void {
    if (this.done) return;
    // node ends the readable side also when the stream is torn down (session lost): that is not a
    // complete response; 'close' reports it.
    if (st.rstCode !== undefined && st.rstCode !== constants.NGHTTP2_NO_ERROR) return;
    if (!this.gotHeaders) {
      this.fail('protocol_error', 'stream ended without response headers');
      return;
    }
    const t = this.trailersReceived;
    if (t !== null) {
      this.trailersReceived = null;
      this.handler.onTrailers(t);
      if (this.done) return;
    }
    this.finish();
    this.handler.onEnd();
  }

  closed(st: ClientHttp2Stream): void {
    if (this.done || this.localReset) return;
    const c = this.conn;
    if (!c.connected()) {
      this.fail(connectFailureOf(c.socket), c.error?.message ?? 'connect failed');
      return;
    }
    if (c.session.destroyed) {
      this.fail('connection_termination', c.error?.message ?? 'upstream connection closed');
      return;
    }
    if (st.rstCode !== undefined && st.rstCode !== constants.NGHTTP2_NO_ERROR) {
      this.fail('remote_reset', `stream reset by upstream (code ${st.rstCode})`);
      return;
    }
    this.fail('connection_termination', c.error?.message ?? 'upstream connection closed');
  }

  fail(reason: UpstreamFailure, detail: string): void {
    if (this.done) return;
    this.finish();
    this.handler.onError(reason, detail);
  }

  private finish(): void {
    this.started();
    this.done = true;
    this.conn.pool.active--;
    this.conn.streamDone();
  }
}

function failLater(s: Http2Stream, err: Error): void {
  s.fail('connection_termination', err.message);
}
function onResponse(this: StreamH2, headers: IncomingHttpHeaders & { ':status'?: number }): void {
  this._remoraStream?.response(headers);
}
function onData(this: StreamH2, chunk: Buffer): void {
  this._remoraStream?.data(chunk);
}
function onTrailers(this: StreamH2, t: IncomingHttpHeaders): void {
  this._remoraStream?.trailersIn(t);
}
function onEnd(this: StreamH2): void {
  this._remoraStream?.ended(this);
}
function onStreamError(this: StreamH2): void {
  // The outcome is decided on 'close' (rstCode, session state); the listener keeps node from throwing.
}
function onClose(this: StreamH2): void {
  this._remoraStream?.closed(this);
}
function onReady(this: StreamH2): void {
  this._remoraStream?.started();
}
function onWantTrailers(this: StreamH2): void {
  this._remoraStream?.sendTrailers(this);
}

export class Http2Pool implements ConnectionPool {
  private conns: H2Connection[] = [];
  private draining = false;
  active = 0;

  constructor(
    readonly host: Host,
    readonly stats: ClusterStats,
    readonly opts: Http2PoolOptions,
  ) {}

  get activeStreams(): number {
    return this.active;
  }

  /** Streams are never held back by the pool; nghttp2 queues beyond the peer's limit. */
  get pendingStreams(): number {
    return 0;
  }

  /** Open sessions (for tests and /clusters). */
  get connectionCount(): number {
    return this.conns.length;
  }

  newStream(head: UpstreamRequestHead, handler: UpstreamResponseHandler): UpstreamStream {
    let conn: H2Connection | null = null;
    for (const c of this.conns) {
      if (!c.retired && c.capacity > 0) {
        conn = c;
        break;
      }
    }
    const br = this.opts.breakers;
    let pending: 'connecting' | 'queued' | null = null;
    if (conn === null && br !== undefined && this.conns.length > 0) {
      // max_connections reached: the stream joins the least busy session, where nghttp2 queues it
      // until the peer's stream limit lets it start: a pending request, as in Envoy.
      if (!br.canOpenConnection(this.conns.length)) {
        conn = this.leastBusy();
        if (conn !== null) pending = 'queued';
      }
    }
    if (conn === null) pending = 'connecting';
    else if (pending === null && !conn.connected()) pending = 'connecting';
    if (br === undefined) pending = null;
    // Envoy checks max_pending_requests before opening a connection for the request.
    else if (pending !== null && !br.startPending())
      return new OverflowStream(this.host, handler, 'max_pending_requests');
    if (conn === null) {
      conn = new H2Connection(this);
      br?.connectionOpened();
      if (this.draining) conn.retired = true;
      else this.conns.push(conn);
    }
    return new Http2Stream(conn, head, handler, pending);
  }

  /** The session takes no new streams (GOAWAY, drain, or closed). */
  forget(c: H2Connection): void {
    const i = this.conns.indexOf(c);
    if (i >= 0) this.conns.splice(i, 1);
  }

  private leastBusy(): H2Connection | null {
    let best: H2Connection | null = null;
    for (const c of this.conns) if (!c.retired && (best === null || c.active < best.active)) best = c;
    return best;
  }

  drain(): void {
    this.draining = true;
    for (const c of [...this.conns]) c.retire();
  }

  destroy(): void {
    this.draining = true;
    for (const c of [...this.conns]) {
      c.retired = true;
      c.session.destroy();
    }
    this.conns = [];
  }
}
