import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HcmConfig } from '../model/listener.js';
import type { MatchedRoute } from '../router/types.js';
import type { ClusterLookup } from '../upstream/cluster.js';
import type { FilterStatus, HttpFilter, RequestHead, StreamCallbacks } from './filter.js';
import type { HcmStats } from './hcm-stats.js';
import { encodeGrpcMessage, grpcStatusForHttp } from './local-reply.js';
import { ResponseFlag } from './response-flags.js';
import { StreamInfo } from './stream-info.js';
import { TimerEntry, type TimerTarget, type TimerWheel } from './timer-wheel.js';
import { spliceUpgrade } from './upgrade.js';

/** What an active stream needs from its connection manager (narrow on purpose). */
export interface StreamOwner {
  readonly cfg: HcmConfig;
  readonly stats: HcmStats;
  readonly clusters: ClusterLookup;
  readonly wheel: TimerWheel;
  readonly draining: boolean;
  streamDone(s: ActiveStream): void;
}

type DownReq = IncomingMessage | Http2ServerRequest;
type DownRes = ServerResponse | Http2ServerResponse;

const TIMER_IDLE = 0;
const TIMER_REQUEST = 1;

const EMPTY = Buffer.alloc(0);

/**
 * One downstream request/response: runs the HTTP filters (the router last), writes the response
 * downstream with backpressure, enforces the stream timeouts, and reports the finished stream to
 * stats and access logs. HTTP/1.1 and HTTP/2 downstreams use Node's common request/response API.
 */
export class ActiveStream implements StreamCallbacks, TimerTarget {
  readonly info = new StreamInfo();
  readonly clusters: ClusterLookup;
  readonly downstreamHttp2: boolean;
  head: RequestHead | null = null;
  filters: HttpFilter[] = [];
  /** Index of the filter that stopped decodeHeaders, -1 when not stopped. */
  private stoppedAt = -1;
  private cachedRoute: MatchedRoute | null = null;
  private routeComputed = false;
  private requestEnded = false;
  private responseStarted = false;
  private pendingHeaders: OutgoingHttpHeaders | null = null;
  private pendingStatus = 0;
  private done = false;
  private drainHooked = false;
  private lastActivity = 0;
  private idleTimeoutMs: number;
  private readonly idleTimer: TimerEntry;
  /** Created only when request_timeout is configured. */
  private requestTimer: TimerEntry | null = null;

  constructor(
    readonly owner: StreamOwner,
    readonly req: DownReq,
    readonly res: DownRes,
    /** Set for an HTTP/1.1 upgrade request: the raw downstream socket. */
    readonly upgradeSocket: Duplex | null,
  ) {
    this.clusters = owner.clusters;
    this.downstreamHttp2 = req.httpVersionMajor === 2;
    this.idleTimeoutMs = owner.cfg.streamIdleTimeoutMs;
    this.idleTimer = new TimerEntry(this, TIMER_IDLE);
    // Event handlers are shared module functions that find the stream on the emitter, so a stream
    // costs no closures.
    (req as Tagged).remoraStream = this;
    (res as Tagged).remoraStream = this;
  }

  /** Called by the connection manager once the head is validated and prepared. */
  /** Watches the response; enough on its own for a stream answered before any filter runs. */
  start0(): void {
    const res = this.res;
    // A reset or aborted stream reports through 'close'; its 'error' must not become uncaught.
    this.req.on('error', ignoreError);
    res.on('error', ignoreError);
    // 'drain' is listened for only once a write is refused (encodeData): most responses never are.
    res.on('finish', onResFinish);
    res.on('close', onResClose);
  }

  start(head: RequestHead, filters: HttpFilter[]): void {
    this.head = head;
    this.filters = filters;
    this.start0();
    const cfg = this.owner.cfg;
    if (this.idleTimeoutMs > 0) {
      this.lastActivity = performance.now();
      this.owner.wheel.schedule(this.idleTimer, this.idleTimeoutMs);
    }
    if (cfg.requestTimeoutMs > 0) {
      this.requestTimer = new TimerEntry(this, TIMER_REQUEST);
      this.owner.wheel.schedule(this.requestTimer, cfg.requestTimeoutMs);
    }
    const endStream = head.contentLength === 0 && head.upgrade === null;
    if (endStream) this.requestEnded = true;
    this.runDecodeHeaders(0, endStream);
    if (this.done) return;
    const req = this.req;
    if (!endStream) {
      req.on('data', onReqData);
      req.on('end', onReqEnd);
    } else {
      // Drain whatever the codec still delivers (nothing, or an empty end) so the socket moves on.
      req.resume();
    }
  }

  private runDecodeHeaders(from: number, endStream: boolean): void {
    const head = this.head!;
    const filters = this.filters;
    for (let i = from; i < filters.length; i++) {
      const status: FilterStatus = filters[i].decodeHeaders(head, endStream);
      if (this.done || this.responseStarted) return;
      if (status === 'stop') {
        this.stoppedAt = i;
        this.req.pause();
        return;
      }
    }
  }

  continueDecoding(): void {
    if (this.stoppedAt < 0 || this.done) return;
    const from = this.stoppedAt + 1;
    this.stoppedAt = -1;
    this.runDecodeHeaders(from, this.head!.contentLength === 0 && this.head!.upgrade === null);
    if (!this.done) this.req.resume();
  }

  /** @internal (event handler) */
  decodeData(chunk: Buffer): void {
    if (this.done) return;
    this.info.bytesReceived += chunk.length;
    this.lastActivity = performance.now();
    const filters = this.filters;
    for (let i = 0; i < filters.length; i++) {
      if (filters[i].decodeData(chunk, false) === 'stop' || this.done) return;
    }
  }

  /** @internal (event handler) */
  decodeEnd(): void {
    if (this.done || this.requestEnded) return;
    this.requestEnded = true;
    if (this.requestTimer !== null) this.owner.wheel.cancel(this.requestTimer);
    const trailers = this.req.trailers as IncomingHttpHeaders;
    let hasTrailers = false;
    for (const _ in trailers) {
      hasTrailers = true;
      break;
    }
    const filters = this.filters;
    for (let i = 0; i < filters.length; i++) {
      const s = hasTrailers ? filters[i].decodeTrailers(trailers) : filters[i].decodeData(EMPTY, true);
      if (s === 'stop' || this.done) return;
    }
  }

  route(): MatchedRoute | null {
    if (!this.routeComputed) {
      const h = this.head!;
      this.cachedRoute = this.owner.cfg.routeTable.match({
        authority: h.authority,
        path: h.path,
        method: h.method,
        scheme: h.scheme,
        headers: h.headers as IncomingHttpHeaders,
      });
      this.routeComputed = true;
      if (this.cachedRoute !== null) {
        this.info.routeName = this.cachedRoute.name;
        const action = this.cachedRoute.action;
        if (action.kind === 'route' && action.idleTimeoutMs >= 0) this.setIdleTimeout(action.idleTimeoutMs);
      }
    }
    return this.cachedRoute;
  }

  clearRouteCache(): void {
    this.routeComputed = false;
    this.cachedRoute = null;
  }

  private setIdleTimeout(ms: number): void {
    this.idleTimeoutMs = ms;
    if (ms === 0) this.owner.wheel.cancel(this.idleTimer);
    else {
      this.lastActivity = performance.now();
      this.owner.wheel.schedule(this.idleTimer, ms);
    }
  }

  pauseDecoding(): void {
    this.req.pause();
  }

  resumeDecoding(): void {
    if (!this.done && this.stoppedAt < 0) this.req.resume();
  }

  sendLocalReply(status: number, body: string, details: string, flag: number): void {
    if (this.done) return;
    const info = this.info;
    if (flag !== 0) info.responseFlags |= flag;
    info.responseCodeDetails = details;
    if (this.responseStarted) {
      // Too late for a response: the client must see the stream fail, not a truncated success.
      this.resetStream();
      return;
    }
    const grpc = this.head?.grpc === true;
    if (grpc) {
      const headers: OutgoingHttpHeaders = {
        'content-type': 'application/grpc',
        'grpc-status': String(grpcStatusForHttp(status)),
        'grpc-message': encodeGrpcMessage(body === '' ? details : body),
      };
      this.encodeHeaders(200, headers, true);
      return;
    }
    const buf = body === '' ? EMPTY : Buffer.from(body);
    const headers: OutgoingHttpHeaders = { 'content-length': buf.length };
    if (buf.length > 0) headers['content-type'] = 'text/plain';
    if (status >= 400 && status < 500 && this.head === null && !this.downstreamHttp2) {
      // Framing errors: the connection can not be trusted for another request.
      headers.connection = 'close';
    }
    this.encodeHeaders(status, headers, buf.length === 0);
    if (buf.length > 0) this.encodeData(buf, true);
  }

  encodeHeaders(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void {
    if (this.done || this.responseStarted) return;
    this.responseStarted = true;
    this.lastActivity = performance.now();
    const filters = this.filters;
    for (let i = filters.length - 2; i >= 0; i--) filters[i].encodeHeaders?.(status, headers, endStream);
    const cfg = this.owner.cfg;
    if (cfg.serverName !== '') {
      if (cfg.serverHeaderTransformation === 'OVERWRITE' || headers.server === undefined) {
        if (cfg.serverHeaderTransformation !== 'PASS_THROUGH') headers.server = cfg.serverName;
      }
    }
    if (cfg.alwaysSetRequestIdInResponse && this.info.requestId !== '')
      headers['x-request-id'] = this.info.requestId;
    if (!this.downstreamHttp2 && (this.owner.draining || this.upgradeSocket !== null))
      headers.connection = 'close';
    const info = this.info;
    info.responseCode = status;
    info.responseHeaders = headers as StreamInfo['responseHeaders'];
    if (this.downstreamHttp2 && !endStream && headers['grpc-status'] !== undefined) {
      // Looks like a gRPC trailers-only response: hold it so it can go out as one HEADERS frame with
      // END_STREAM, which is the only form gRPC clients accept for it.
      this.pendingHeaders = headers;
      this.pendingStatus = status;
      return;
    }
    this.writeHead(status, headers, endStream);
  }

  private writeHead(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void {
    const res = this.res;
    if (this.downstreamHttp2 && endStream) {
      const h2 = (res as Http2ServerResponse).stream;
      if (!h2.destroyed && !h2.headersSent) {
        headers[':status'] = status;
        h2.respond(headers, { endStream: true });
      }
      // The compat layer only finishes when its end() runs; nothing more goes on the wire.
      (res as Http2ServerResponse).end();
      return;
    }
    (res as ServerResponse).writeHead(status, headers as Record<string, string | string[] | number>);
    if (endStream) res.end();
  }

  private flushPending(endStream: boolean): void {
    const h = this.pendingHeaders!;
    this.pendingHeaders = null;
    this.writeHead(this.pendingStatus, h, endStream);
  }

  encodeData(chunk: Buffer, endStream: boolean): boolean {
    if (this.done) return true;
    // Response-data hooks (the fault filter's rate limit); the terminal filter is the writer.
    const filters = this.filters;
    for (let i = filters.length - 2; i >= 0; i--) {
      const f = filters[i];
      if (f.encodeData !== undefined && f.encodeData(chunk, endStream) === 'stop') return false;
    }
    return this.writeData(chunk, endStream);
  }

  continueEncoding(from: HttpFilter, chunk: Buffer, endStream: boolean): boolean {
    if (this.done) return true;
    const filters = this.filters;
    for (let i = filters.indexOf(from) - 1; i >= 0; i--) {
      const f = filters[i];
      if (f.encodeData !== undefined && f.encodeData(chunk, endStream) === 'stop') return false;
    }
    return this.writeData(chunk, endStream);
  }

  encodingWritable(): void {
    if (!this.done) this.resDrain();
  }

  private writeData(chunk: Buffer, endStream: boolean): boolean {
    if (this.pendingHeaders !== null) {
      if (endStream && chunk.length === 0) {
        this.flushPending(true);
        return true;
      }
      this.flushPending(false);
    }
    this.lastActivity = performance.now();
    this.info.bytesSent += chunk.length;
    const res = this.res;
    if (endStream) {
      if (chunk.length > 0) res.end(chunk);
      else res.end();
      return true;
    }
    const ok = (res as ServerResponse).write(chunk);
    if (!ok && !this.drainHooked) {
      this.drainHooked = true;
      res.on('drain', onResDrain);
    }
    return ok;
  }

  encodeTrailers(trailers: OutgoingHttpHeaders): void {
    if (this.done) return;
    this.info.responseTrailers = trailers as StreamInfo['responseTrailers'];
    if (this.pendingHeaders !== null) {
      const h = this.pendingHeaders;
      // Trailers-only: merge the trailers into the single HEADERS frame.
      for (const k in trailers) h[k] = trailers[k];
      this.flushPending(true);
      return;
    }
    this.res.addTrailers(trailers as Record<string, string>);
    this.res.end();
  }

  upgradeTo(headers: IncomingHttpHeaders, upstream: Duplex, head: Buffer): void {
    const down = this.upgradeSocket;
    if (down === null || this.done) {
      upstream.destroy();
      return;
    }
    this.responseStarted = true;
    this.info.responseCode = 101;
    const stats = this.owner.stats;
    stats.downstream_cx_upgrades_total.inc();
    stats.downstream_cx_upgrades_active.inc();
    const rest = (this.req as IncomingMessage & { upgradeHead?: Buffer }).upgradeHead ?? EMPTY;
    // The response object owns nothing from here on; the two sockets are spliced.
    (this.res as ServerResponse).detachSocket(down as Socket);
    spliceUpgrade(down, upstream, headers, this.head!.upgrade ?? '', head, rest, this);
  }

  /** @internal The spliced upgrade connection closed. */
  upgradeClosed(): void {
    this.owner.stats.downstream_cx_upgrades_active.dec();
    this.finish(true);
  }

  resetStream(): void {
    if (this.done) return;
    this.owner.stats.downstream_rq_tx_reset.inc();
    this.info.responseFlags |= ResponseFlag.LocalReset;
    const res = this.res;
    if (this.downstreamHttp2) {
      const h2 = (res as Http2ServerResponse).stream;
      h2.close(2); // INTERNAL_ERROR
    } else {
      (res as ServerResponse).socket?.destroy();
      this.upgradeSocket?.destroy();
    }
    this.finish(false);
  }

  /** @internal (event handler) */
  resDrain(): void {
    const filters = this.filters;
    for (let i = filters.length - 1; i >= 0; i--) filters[i].onDownstreamWritable?.();
  }

  onTimer(kind: number): void {
    if (this.done) return;
    if (kind === TIMER_IDLE) {
      const idle = performance.now() - this.lastActivity;
      if (idle < this.idleTimeoutMs) {
        this.owner.wheel.schedule(this.idleTimer, this.idleTimeoutMs - idle);
        return;
      }
      this.owner.stats.downstream_rq_idle_timeout.inc();
      // Envoy: 408 while the request is still arriving, 504 once it is waiting on the response.
      const status = this.requestEnded ? 504 : 408;
      this.destroyFilters();
      this.sendLocalReply(status, 'stream timeout', 'stream_idle_timeout', ResponseFlag.StreamIdleTimeout);
    } else {
      this.owner.stats.downstream_rq_timeout.inc();
      this.destroyFilters();
      this.sendLocalReply(408, 'request timeout', 'request_overall_timeout', 0);
    }
  }

  private destroyFilters(): void {
    const filters = this.filters;
    this.filters = [];
    for (let i = 0; i < filters.length; i++) filters[i].onDestroy();
  }

  /** The response finished (`complete`) or the downstream stream closed early. */
  /** @internal (event handler) */
  finish(finished: boolean): void {
    if (this.done) return;
    let complete = finished;
    if (this.downstreamHttp2) {
      // The compat layer emits 'finish' for a stream the client reset too; the RST code tells.
      const rst = (this.res as Http2ServerResponse).stream.rstCode;
      if (rst !== undefined && rst !== 0) complete = false;
    }
    if (
      !complete &&
      this.upgradeSocket === null &&
      (this.downstreamHttp2 || !(this.res as ServerResponse).writableFinished)
    ) {
      this.owner.stats.downstream_rq_rx_reset.inc();
      this.info.responseFlags |= ResponseFlag.DownstreamConnectionTermination;
    }
    this.done = true;
    const up = this.upgradeSocket;
    if (up !== null && this.info.responseCode !== 101) {
      // An upgrade answered with an ordinary response: the connection is not reusable (its
      // response object was built by hand, so Node's keep-alive bookkeeping does not apply).
      if (complete) up.end();
      else up.destroy();
    }
    const wheel = this.owner.wheel;
    wheel.cancel(this.idleTimer);
    if (this.requestTimer !== null) wheel.cancel(this.requestTimer);
    this.info.endMono = performance.now();
    this.destroyFilters();
    this.req.removeListener('data', onReqData);
    this.owner.streamDone(this);
  }
}

function ignoreError(): void {}

interface Tagged {
  remoraStream?: ActiveStream;
  /** HTTP/1 responses: the connection's in-flight bookkeeping (downstream-connections.ts H1Conn). */
  remoraConn?: { done(): void };
}

function onReqData(this: Tagged, c: Buffer): void {
  this.remoraStream?.decodeData(c);
}

function onReqEnd(this: Tagged): void {
  this.remoraStream?.decodeEnd();
}

function onResDrain(this: Tagged): void {
  this.remoraStream?.resDrain();
}

function onResFinish(this: Tagged): void {
  this.remoraStream?.finish(true);
}

function onResClose(this: Tagged): void {
  this.remoraConn?.done();
  this.remoraStream?.finish(false);
}
