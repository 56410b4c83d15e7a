import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { DownstreamSink, DownstreamStream, UpgradeTakeover } from '../downstream-stream.js';
import { foldRequestHeaders } from './request-headers.js';
import { dateHeaderLine, lastChunkWithTrailers, seen, serializeFields, statusLine } from './response-head.js';
import type { H1ServerConnection } from './server-connection.js';

/** Response states. */
const RES_IDLE = 0;
const RES_HEAD = 1;
const RES_DONE = 2;
const RES_RESET = 3;

/**
 * Body chunks up to this size are copied into one buffer with the head (or chunk framing), so a
 * small response leaves in one write and one syscall; bigger ones go out corked, uncopied.
 */
const COPY_LIMIT = 16 * 1024;

const EMPTY = Buffer.alloc(0);

/**
 * One request/response exchange on a downstream HTTP/1.x connection: the parsed request head,
 * request body delivery to the sink (held while the sink paused it or the stream waits behind a
 * pipelined predecessor), and the response writer (framing, keep-alive decision, coalesced
 * writes). The connection (server-connection.ts) owns the socket and the parser.
 */
export class H1ServerStream implements DownstreamStream {
  readonly http2 = false;
  readonly headers: IncomingHttpHeaders;
  readonly isHead: boolean;
  sink: DownstreamSink | null = null;
  /** The request's body has been read whole (its trailers, if any, are in `trailers`). */
  requestEnded = false;
  trailers: IncomingHttpHeaders | null = null;
  /** Started: handed to the connection manager (it is first in the response order). */
  started = false;
  /** The sink paused request-body delivery. */
  readPaused = false;
  /** An upgrade the config allows (the parser stopped after the head). */
  upgrade = false;
  /** Bytes that followed an upgrade request's head. */
  upgradeHead: Buffer = EMPTY;
  /** The connection closes once this response is written. */
  closeAfter = false;
  private held: Buffer[] | null = null;
  private endHeld = false;
  private state = RES_IDLE;
  private pendingHead: string | null = null;
  private tickScheduled = false;
  private doneReported = false;
  private chunked = false;
  private noBody = false;

  constructor(
    readonly conn: H1ServerConnection,
    readonly method: string,
    readonly url: string,
    /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
    readonly minor: number,
    readonly rawHeaders: string[],
    /** llhttp's verdict from the version and the Connection header. */
    readonly keepAlive: boolean,
  ) {
    this.headers = foldRequestHeaders(rawHeaders);
    this.isHead = method === 'HEAD';
  }

  get version(): string {
    return this.minor === 0 ? '1.0' : '1.1';
  }

  get responseFinished(): boolean {
    return this.state === RES_DONE;
  }

  get responseStarted(): boolean {
    return this.state !== RES_IDLE;
  }

  bind(sink: DownstreamSink): void {
    this.sink = sink;
  }

  // ---- request side (called by the connection's parser callbacks) ----

  /** @internal */
  body(chunk: Buffer): void {
    if (this.state >= RES_DONE) return;
    if (this.held !== null || !this.started || this.readPaused) {
      if (this.held === null) this.held = [];
      this.held.push(chunk);
      return;
    }
    this.sink?.onRequestData(chunk);
  }

  /** @internal */
  end(trailers: IncomingHttpHeaders | null): void {
    this.requestEnded = true;
    this.trailers = trailers;
    if (this.state >= RES_DONE) return;
    if (this.held !== null || !this.started || this.readPaused) {
      this.endHeld = true;
      return;
    }
    this.sink?.onRequestEnd(trailers);
  }

  /** @internal Delivers what was held while the stream waited or was paused. */
  flushHeld(): void {
    const held = this.held;
    if (held !== null) {
      // Bounded by the chunks held; the sink may pause again or finish in between.
      while (held.length > 0 && !this.readPaused && this.state < RES_DONE) {
        const c = held.shift() as Buffer;
        this.sink?.onRequestData(c);
      }
      if (held.length > 0 && this.state < RES_DONE) return;
      this.held = null;
    }
    if (this.endHeld && !this.readPaused && this.state < RES_DONE) {
      this.endHeld = false;
      this.sink?.onRequestEnd(this.trailers);
    }
  }

  pauseRequest(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.conn.updateReading();
  }

  resumeRequest(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    if (this.started) this.flushHeld();
    this.conn.updateReading();
  }

  // ---- response side ----

  writeHeaders(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void {
    if (this.state !== RES_IDLE) return;
    this.state = RES_HEAD;
    let text = statusLine(status) + serializeFields(headers);
    const conn = this.conn;
    let close = seen.close || !this.keepAlive || this.upgrade || conn.mustClose();
    const noBody = this.isHead || status === 204 || status === 304 || status < 200;
    if (!noBody && !seen.contentLength) {
      if (endStream) text += 'content-length: 0\r\n';
      else if (this.minor >= 1) {
        this.chunked = true;
        text += 'transfer-encoding: chunked\r\n';
      } else {
        // An HTTP/1.0 client knows no chunked coding: the body ends with the connection.
        close = true;
      }
    }
    if (!seen.date) text += dateHeaderLine();
    if (close) text += 'connection: close\r\n';
    else if (this.minor === 0) text += 'connection: keep-alive\r\n';
    text += '\r\n';
    this.noBody = noBody;
    this.closeAfter = close;
    if (endStream) {
      conn.write(text);
      this.finishResponse();
      return;
    }
    // Held so the first body bytes leave in the same write; flushed at the end of this tick if
    // none come (a response whose body is slow to arrive still shows its head at once).
    this.pendingHead = text;
    this.scheduleTick();
  }

  /**
   * One tick per response in the common case (head and body in the same turn): it flushes a head
   * still held and reports a finished response, like node's 'finish', after the current call
   * stack has unwound.
   */
  private scheduleTick(): void {
    if (this.tickScheduled) return;
    this.tickScheduled = true;
    process.nextTick(streamTick, this);
  }

  /** @internal */
  tick(): void {
    this.tickScheduled = false;
    const h = this.pendingHead;
    if (h !== null && this.state === RES_HEAD) {
      this.pendingHead = null;
      this.conn.write(h);
    }
    if (this.state === RES_DONE && !this.doneReported) {
      this.doneReported = true;
      this.sink?.onClosed(true);
      this.conn.responseDone(this);
    }
  }

  writeData(chunk: Buffer, endStream: boolean): boolean {
    if (this.state !== RES_HEAD) return true;
    const body = this.noBody ? EMPTY : chunk;
    const len = body.length;
    let pre = this.pendingHead ?? '';
    this.pendingHead = null;
    let post = '';
    if (this.chunked) {
      if (len > 0) {
        pre += `${len.toString(16)}\r\n`;
        post = '\r\n';
      }
      if (endStream) post += '0\r\n\r\n';
    }
    const conn = this.conn;
    let ok: boolean;
    if (len === 0) {
      ok = pre.length + post.length > 0 ? conn.write(pre + post) : true;
    } else if (len <= COPY_LIMIT) {
      const buf = Buffer.allocUnsafe(pre.length + len + post.length);
      if (pre.length > 0) buf.write(pre, 0, 'latin1');
      body.copy(buf, pre.length);
      if (post.length > 0) buf.write(post, pre.length + len, 'latin1');
      ok = conn.write(buf);
    } else {
      ok = conn.writeParts(pre, body, post);
    }
    if (endStream) this.finishResponse();
    return ok;
  }

  writeTrailers(trailers: OutgoingHttpHeaders): void {
    if (this.state !== RES_HEAD) return;
    const pre = this.pendingHead ?? '';
    this.pendingHead = null;
    // Trailers need the chunked coding; with Content-Length framing they are dropped.
    const tail = this.chunked ? lastChunkWithTrailers(trailers) : '';
    if (pre.length + tail.length > 0) this.conn.write(pre + tail);
    this.finishResponse();
  }

  private finishResponse(): void {
    // Written into a connection already gone: the client never gets it (reported at 'close').
    this.state = this.conn.writable ? RES_DONE : RES_RESET;
    this.readPaused = false;
    this.held = null;
    this.endHeld = false;
    if (this.closeAfter) this.conn.closeAfterResponse();
    this.scheduleTick();
  }

  reset(): void {
    if (this.state >= RES_DONE) return;
    this.state = RES_RESET;
    this.pendingHead = null;
    this.conn.destroy();
  }

  /** @internal The connection closed before this response was complete. */
  closed(): void {
    if (this.state === RES_DONE || this.doneReported) return;
    this.state = RES_RESET;
    this.pendingHead = null;
    this.doneReported = true;
    if (this.started) this.sink?.onClosed(false);
  }

  /** @internal The request was malformed part way (bad body framing): it is not served. */
  abort(): void {
    this.closed();
  }

  detachUpgrade(): UpgradeTakeover | null {
    if (!this.upgrade || this.state !== RES_IDLE) return null;
    this.state = RES_DONE;
    // The splice owns the connection from here; this stream reports nothing more.
    this.doneReported = true;
    return this.conn.detach(this);
  }

  /** `Expect: 100-continue` from an HTTP/1.1 client. */
  expectsContinue(): boolean {
    const e = this.headers.expect;
    return this.minor >= 1 && typeof e === 'string' && e.toLowerCase() === '100-continue';
  }
}

function streamTick(s: H1ServerStream): void {
  s.tick();
}
