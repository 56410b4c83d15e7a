import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HcmConfig } from '../model/listener.js';
import type { MatchedRoute } from '../router/types.js';
import type { ClusterLookup } from '../upstream/cluster.js';
import type { DownstreamSink, DownstreamStream } from './downstream-stream.js';
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

const TIMER_IDLE = 0;
const TIMER_REQUEST = 1;

const EMPTY = Buffer.alloc(0);

/**
 * One downstream request/response: runs the HTTP filters (the router last), writes the response
 * downstream with backpressure, enforces the stream timeouts, and reports the finished stream to
 * stats and access logs. The codec (remora's HTTP/1 codec, or node's HTTP/2) sits behind
 * DownstreamStream and calls this stream directly as its sink.
 */
export class ActiveStream implements StreamCallbacks, TimerTarget, DownstreamSink {
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
  private done = false;
  private lastActivity = 0;
  private idleTimeoutMs: number;
  private readonly idleTimer: TimerEntry;
  /** Created only when request_timeout is configured. */
  private requestTimer: TimerEntry | null = null;

  constructor(
    readonly owner: StreamOwner,
    readonly down: DownstreamStream,
    /** An HTTP/1.1 upgrade request the config allows. */
    readonly upgradeRequest: boolean,
  ) {
    this.clusters = owner.clusters;
    this.downstreamHttp2 = down.http2;
    this.idleTimeoutMs = owner.cfg.streamIdleTimeoutMs;
    this.idleTimer = new TimerEntry(this, TIMER_IDLE);
    down.bind(this);
  }

  /** Called by the connection manager once the head is validated and prepared. */
  start(head: RequestHead, filters: HttpFilter[]): void {
    this.head = head;
    this.filters = filters;
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
  }

  private runDecodeHeaders(from: number, endStream: boolean): void {
    const head = this.head!;
    const filters = this.filters;
    for (let i = from; i < filters.length; i++) {
      const status: FilterStatus = filters[i].decodeHeaders(head, endStream);
      if (this.done || this.responseStarted) return;
      if (status === 'stop') {
        this.stoppedAt = i;
        this.down.pauseRequest();
        return;
      }
    }
  }

  continueDecoding(): void {
    if (this.stoppedAt < 0 || this.done) return;
    const from = this.stoppedAt + 1;
    this.stoppedAt = -1;
    this.runDecodeHeaders(from, this.head!.contentLength === 0 && this.head!.upgrade === null);
    if (!this.done && this.stoppedAt < 0) this.down.resumeRequest();
  }

  /** Request body from the codec. */
  onRequestData(chunk: Buffer): void {
    if (this.done) return;
    this.info.bytesReceived += chunk.length;
    this.lastActivity = performance.now();
    const filters = this.filters;
    for (let i = 0; i < filters.length; i++) {
      if (filters[i].decodeData(chunk, false) === 'stop' || this.done) return;
    }
  }

  /** The request is complete (from the codec). */
  onRequestEnd(trailers: IncomingHttpHeaders | null): void {
    if (this.done || this.requestEnded) return;
    this.requestEnded = true;
    if (this.requestTimer !== null) this.owner.wheel.cancel(this.requestTimer);
    const filters = this.filters;
    for (let i = 0; i < filters.length; i++) {
      const s = trailers !== null ? filters[i].decodeTrailers(trailers) : filters[i].decodeData(EMPTY, true);
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
    this.down.pauseRequest();
  }

  resumeDecoding(): void {
    if (!this.done && this.stoppedAt < 0) this.down.resumeRequest();
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
    const info = this.info;
    info.responseCode = status;
    info.responseHeaders = headers as StreamInfo['responseHeaders'];
    // The codec adds `Connection: close` itself when draining or answering an upgrade request.
    this.down.writeHeaders(status, headers, endStream);
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
    if (!this.done) this.onWritable();
  }

  private writeData(chunk: Buffer, endStream: boolean): boolean {
    this.lastActivity = performance.now();
    this.info.bytesSent += chunk.length;
    return this.down.writeData(chunk, endStream);
  }

  encodeTrailers(trailers: OutgoingHttpHeaders): void {
    if (this.done) return;
    const filters = this.filters;
    for (let i = filters.length - 2; i >= 0; i--) {
      const f = filters[i];
      if (f.encodeTrailers !== undefined && f.encodeTrailers(trailers) === 'stop') return;
    }
    this.writeTrailers(trailers);
  }

  continueEncodingTrailers(from: HttpFilter, trailers: OutgoingHttpHeaders): void {
    if (this.done) return;
    const filters = this.filters;
    for (let i = filters.indexOf(from) - 1; i >= 0; i--) {
      const f = filters[i];
      if (f.encodeTrailers !== undefined && f.encodeTrailers(trailers) === 'stop') return;
    }
    this.writeTrailers(trailers);
  }

  private writeTrailers(trailers: OutgoingHttpHeaders): void {
    this.info.responseTrailers = trailers as StreamInfo['responseTrailers'];
    this.down.writeTrailers(trailers);
  }

  upgradeTo(headers: IncomingHttpHeaders, upstream: Duplex, head: Buffer): void {
    const taken = this.done ? null : this.down.detachUpgrade();
    if (taken === null) {
      upstream.destroy();
      return;
    }
    this.responseStarted = true;
    this.info.responseCode = 101;
    const stats = this.owner.stats;
    stats.downstream_cx_upgrades_total.inc();
    stats.downstream_cx_upgrades_active.inc();
    spliceUpgrade(taken.socket, upstream, headers, this.head!.upgrade ?? '', head, taken.head, this);
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
    this.down.reset();
    this.finish(false);
  }

  /** The downstream can take more response data (from the codec). */
  onWritable(): void {
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

  /** The codec is done with the stream: the response went out whole, or the downstream closed. */
  onClosed(complete: boolean): void {
    this.finish(complete);
  }

  private finish(complete: boolean): void {
    if (this.done) return;
    if (!complete && !this.upgradeRequest && !this.down.responseFinished) {
      this.owner.stats.downstream_rq_rx_reset.inc();
      this.info.responseFlags |= ResponseFlag.DownstreamConnectionTermination;
    }
    this.done = true;
    const wheel = this.owner.wheel;
    wheel.cancel(this.idleTimer);
    if (this.requestTimer !== null) wheel.cancel(this.requestTimer);
    this.info.endMono = performance.now();
    this.destroyFilters();
    this.owner.streamDone(this);
  }
}
