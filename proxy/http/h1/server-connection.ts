import type { Socket } from 'node:net';
import { HTTPParser, type LlhttpParser, requestMethods } from '../../upstream/llhttp.js';
import type { UpgradeTakeover } from '../downstream-stream.js';
import type { HcmStats } from '../hcm-stats.js';
import type { TimerWheel } from '../timer-wheel.js';
import { ConnectionTimers, type TimedConnection } from './connection-timers.js';
import { foldRequestHeaders } from './request-headers.js';
import { H1ServerStream } from './server-stream.js';
import {
  consumeSocket,
  currentRead,
  releaseSocket,
  type StreamHandle,
  setHandleReading,
} from './socket-handle.js';

/** What the codec needs from its connection manager. */
export interface H1ServerOwner {
  readonly draining: boolean;
  readonly stats: HcmStats;
  readonly wheel: TimerWheel;
  /** A request head arrived and it is this stream's turn to be answered. */
  onH1Request(s: H1ServerStream): void;
}

export interface H1CodecOptions {
  readonly maxHeaderBytes: number;
  /** Connection idle timeout (no request in flight), 0 = none. */
  readonly idleTimeoutMs: number;
  /** Deadline for the first request head, 0 = none. */
  readonly headersTimeoutMs: number;
  /** Upgrade tokens (lower case) that leave HTTP; others are ordinary requests. */
  readonly allowedUpgrades: readonly string[];
}

const METHOD_CONNECT = 5;
/** Requests after a bodyless, refused upgrade request in one read (llhttp stops after each). */
const MAX_RESTARTS = 64;

const EMPTY = Buffer.alloc(0);

/**
 * remora's downstream HTTP/1.x server codec: one per connection, on node's llhttp binding in
 * REQUEST mode with every lenient flag off (smuggling defences). It parses requests, answers them
 * strictly in order (a pipelined request is started only once the response before it is
 * complete; reading pauses meanwhile), keeps the connection alive or closes it, and times out
 * idle connections and slow first heads on the shared timer wheel. Parser and socket callbacks
 * are arrow properties: closures per connection, none per request.
 */
export class H1ServerConnection implements TimedConnection {
  readonly parser: LlhttpParser;
  /** Streams whose response is not complete, in request order; [0] is the one answering. */
  private readonly queue: H1ServerStream[] = [];
  /** The stream whose request the parser is reading (it may already be answered). */
  private parsing: H1ServerStream | null = null;
  private lines: string[] = [];
  private url = '';
  private readPaused = false;
  /** No further request is read (refused request, protocol error, CONNECT, upgrade). */
  private stopped = false;
  /** The codec no longer owns the socket (closed, or handed to an upgrade). */
  closed = false;
  private upgrading: H1ServerStream | null = null;
  private peerEnded = false;
  private closing = false;
  private served = 0;
  private readonly timers: ConnectionTimers;
  /** The socket's handle when the parser consumes it directly; null when reading 'data' events. */
  private handle: StreamHandle | null = null;
  /** llhttp stopped early in the current read (an upgrade request that was not taken). */
  private partialRead = false;

  constructor(
    readonly socket: Socket,
    readonly owner: H1ServerOwner,
    readonly opts: H1CodecOptions,
  ) {
    const P = HTTPParser;
    if (P === null) throw new Error('llhttp is not available in this Node.js');
    const p = new P();
    p.initialize(P.REQUEST, {}, opts.maxHeaderBytes, P.kLenientNone);
    p[P.kOnHeaders] = this.onHeaderLines;
    p[P.kOnHeadersComplete] = this.onHeadersComplete;
    p[P.kOnBody] = this.onBody;
    p[P.kOnMessageComplete] = this.onMessageComplete;
    this.parser = p;
    this.timers = new ConnectionTimers(this, owner.wheel, opts.idleTimeoutMs, opts.headersTimeoutMs);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    // The parser reads the socket's handle itself where it can (socket-handle.ts).
    const consumed = P.kOnExecute === undefined ? null : consumeSocket(p, socket);
    if (consumed === null) {
      socket.on('data', this.onData);
      return;
    }
    p[P.kOnExecute as number] = this.onExecute;
    this.handle = consumed.handle;
    if (consumed.first !== null) this.onData(consumed.first);
  }

  /** Nothing in flight: no response pending and no request part-way. */
  get idle(): boolean {
    return this.queue.length === 0 && this.parsing === null && this.upgrading === null;
  }

  /**
   * Responses from now on close the connection (draining, or the connection is ending). A stopped
   * parser alone does not: responses queued before an upgrade or CONNECT still keep it open, and
   * those two close it themselves if they are answered as ordinary requests.
   */
  mustClose(): boolean {
    return this.owner.draining || this.closing;
  }

  // ---- socket ----

  private readonly onData = (d: Buffer): void => {
    // After a refused request nothing more is acted upon: bytes are read and dropped so the
    // client sees the reply, not a reset.
    if (this.stopped || this.closed) return;
    let buf = d;
    for (let n = 0; n < MAX_RESTARTS; n++) {
      const r = this.parser.execute(buf);
      if (typeof r !== 'number') {
        this.protocolError(r);
        return;
      }
      if (this.upgrading !== null) {
        this.holdForUpgrade(this.upgrading, buf.subarray(r));
        return;
      }
      // llhttp stops after a bodyless request that asked for an upgrade it was not given; the
      // rest of the read is the next request.
      if (this.stopped || this.closed || r >= buf.length || r === 0) return;
      buf = buf.subarray(r);
    }
  };

  /** The parser consumed a read from the handle: `r` is what execute returned for it. */
  private readonly onExecute = (r: number | Error): void => {
    if (this.closed) return;
    if (typeof r !== 'number') {
      if (!this.stopped) this.protocolError(r);
      return;
    }
    if (this.upgrading === null && !this.partialRead) return;
    // Rare: an upgrade head, or a bodyless upgrade request that was not taken (llhttp stops after
    // it) with more requests behind it. The read is fetched back (a copy) for what follows.
    this.partialRead = false;
    const buf = currentRead(this.parser);
    if (this.upgrading !== null) {
      this.holdForUpgrade(this.upgrading, buf.subarray(r));
      return;
    }
    if (r < buf.length && !this.stopped) this.onData(buf.subarray(r));
  };

  private readonly onEnd = (): void => {
    this.peerEnded = true;
    if (this.closed || this.upgrading !== null) return;
    // A client that half-closes has gone away (node:http and Envoy treat it so too): requests in
    // flight are aborted (DC), an idle connection just closes.
    if (this.idle && this.lines.length === 0) this.closeSoon();
    else this.destroy();
  };

  private readonly onError = (): void => {
    // 'close' follows; the streams hear of it there.
  };

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.timers.cancel();
    const q = this.queue.splice(0);
    for (let i = 0; i < q.length; i++) q[i].closed();
    this.parsing = null;
    this.releaseParser();
  };

  private readonly onDrain = (): void => {
    const s = this.queue[0];
    if (s?.started) s.sink?.onWritable();
  };

  /** The socket still takes writes. */
  get writable(): boolean {
    return !this.closed && this.socket.writable;
  }

  write(data: string | Buffer): boolean {
    if (this.closed || !this.socket.writable) return true;
    return typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data);
  }

  /** A large body chunk between framing strings: one corked writev, no copy. */
  writeParts(pre: string, body: Buffer, post: string): boolean {
    if (this.closed || !this.socket.writable) return true;
    const s = this.socket;
    s.cork();
    if (pre.length > 0) s.write(pre, 'latin1');
    let ok = s.write(body);
    if (post.length > 0) ok = s.write(post, 'latin1');
    s.uncork();
    return ok;
  }

  destroy(): void {
    if (!this.closed) this.socket.destroy();
  }

  /** Ends the connection once written (node's destroySoon). */
  private closeSoon(): void {
    if (this.closed) return;
    this.closing = true;
    this.socket.destroySoon();
  }

  /** @internal The response just written carried `Connection: close`. */
  closeAfterResponse(): void {
    this.stopped = true;
    this.closeSoon();
  }

  /** Closes an idle connection (drain). */
  close(): void {
    if (this.idle) this.closeSoon();
    else this.closing = true;
  }

  // ---- parser callbacks ----

  private readonly onHeaderLines = (raw: string[], url: string): void => {
    for (let i = 0; i < raw.length; i++) this.lines.push(raw[i]);
    if (url) this.url += url;
  };

  private readonly onHeadersComplete = (
    major: number,
    minor: number,
    raw: string[] | undefined,
    method: number,
    url: string | undefined,
    _status: number,
    _statusMessage: string,
    upgrade: boolean,
    shouldKeepAlive: boolean,
  ): number => {
    let lines = raw;
    if (lines === undefined) {
      lines = this.lines;
      this.lines = [];
    }
    let target = url;
    if (target === undefined || this.url !== '') {
      target = this.url + (url ?? '');
      this.url = '';
    }
    if (this.stopped || this.closed) return 0;
    this.timers.headArrived();
    if (major !== 1) {
      this.protocolError(null);
      return 0;
    }
    const s = new H1ServerStream(this, requestMethods[method] ?? '', target, minor, lines, shouldKeepAlive);
    let ret = 0;
    if (upgrade) {
      if (method === METHOD_CONNECT) {
        // A tunnel: what follows the head is not HTTP. The connection manager refuses it.
        this.stopped = true;
      } else {
        const token = s.headers.upgrade;
        if (typeof token === 'string' && this.opts.allowedUpgrades.includes(token.trim().toLowerCase())) {
          // Leaves HTTP: llhttp stops after this head (return 2) and the socket waits for the 101.
          s.upgrade = true;
          this.stopped = true;
          this.upgrading = s;
          ret = 2;
        } else {
          this.partialRead = true;
        }
      }
    }
    this.parsing = s;
    this.queue.push(s);
    if (this.queue.length === 1) this.start(s);
    else this.updateReading();
    return ret;
  };

  private readonly onBody = (chunk: Buffer): void => {
    this.parsing?.body(chunk);
  };

  private readonly onMessageComplete = (): void => {
    const s = this.parsing;
    const trailers = this.lines.length > 0 ? foldRequestHeaders(this.lines) : null;
    this.lines = [];
    if (s === null) return;
    this.parsing = null;
    s.end(trailers);
  };

  private protocolError(err: (Error & { code?: string }) | null): void {
    if (this.closed) return;
    this.stopped = true;
    const stats = this.owner.stats;
    if (this.socket.destroyed || !this.socket.writable) {
      this.destroy();
      return;
    }
    const s = this.parsing;
    if (s !== null && !s.requestEnded) {
      // The request being read is malformed part way (bad chunk framing): it is not served. Too
      // late for an error response once its response started.
      this.parsing = null;
      const started = s.responseStarted;
      const i = this.queue.indexOf(s);
      if (i >= 0) this.queue.splice(i, 1);
      s.abort();
      if (started) {
        stats.downstream_cx_protocol_error.inc();
        this.destroy();
        return;
      }
    }
    stats.downstream_cx_protocol_error.inc();
    if (this.queue.length > 0) {
      // Responses in flight finish first; the connection closes after them.
      this.closing = true;
      return;
    }
    const tooLarge = err?.code === 'HPE_HEADER_OVERFLOW';
    if (tooLarge) stats.downstream_rq_too_large.inc();
    const line = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
    this.timers.cancel();
    // Half-close only: the client's further bytes are read and dropped, so it is not reset
    // before it reads this reply.
    this.socket.end(`HTTP/1.1 ${line}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`, 'latin1');
  }

  /** The connection manager refused the request (malformed head): nothing after it is read. */
  refuse(): void {
    this.stopped = true;
  }

  // ---- request order ----

  private start(s: H1ServerStream): void {
    this.served++;
    if (s.expectsContinue()) this.write('HTTP/1.1 100 Continue\r\n\r\n');
    s.started = true;
    this.owner.onH1Request(s);
    s.flushHeld();
    this.updateReading();
  }

  /** @internal A response completed (one tick after its last write). */
  responseDone(s: H1ServerStream): void {
    const q = this.queue;
    const i = q.indexOf(s);
    if (i >= 0) q.splice(i, 1);
    if (this.closed || s.closeAfter) return;
    if (q.length > 0) {
      this.start(q[0]);
      return;
    }
    if (this.parsing === null && (this.closing || this.peerEnded || this.owner.draining)) {
      if (this.owner.draining) this.owner.stats.downstream_cx_drain_close.inc();
      this.closeSoon();
      return;
    }
    this.timers.idleFromNow();
    this.updateReading();
  }

  /**
   * Reads while the request being parsed wants body and no request waits for its turn; a
   * pipelined request is read up to its head and then waits with the socket paused.
   */
  updateReading(): void {
    if (this.closed || this.upgrading !== null) return;
    const p = this.parsing;
    const want = this.queue.length <= 1 && (p === null || !p.readPaused);
    const h = this.handle;
    if (want && this.readPaused) {
      this.readPaused = false;
      if (h === null) this.socket.resume();
      else setHandleReading(h, true);
    } else if (!want && !this.readPaused) {
      this.readPaused = true;
      if (h === null) this.socket.pause();
      else setHandleReading(h, false);
    }
  }

  private unconsume(resumeReads: boolean): void {
    const h = this.handle;
    if (h === null) return;
    this.handle = null;
    releaseSocket(this.parser, h, resumeReads);
  }

  private releaseParser(): void {
    this.unconsume(false);
    this.parser.close();
  }

  // ---- upgrade ----

  private holdForUpgrade(s: H1ServerStream, head: Buffer): void {
    s.upgradeHead = head.length > 0 ? Buffer.from(head) : EMPTY;
    // Bytes after the head stay in the socket until the upgrade is spliced or refused.
    this.socket.pause();
    if (this.handle !== null) this.unconsume(true);
    else this.socket.removeListener('data', this.onData);
  }

  /** @internal Hands the socket over to an upgrade (after the upstream's 101). */
  detach(s: H1ServerStream): UpgradeTakeover {
    const sock = this.socket;
    sock.removeListener('end', this.onEnd);
    sock.removeListener('error', this.onError);
    sock.removeListener('close', this.onClose);
    sock.removeListener('drain', this.onDrain);
    this.closed = true;
    this.timers.cancel();
    this.queue.length = 0;
    this.parsing = null;
    this.upgrading = null;
    this.releaseParser();
    return { socket: sock, head: s.upgradeHead };
  }

  // ---- timers (connection-timers.ts) ----

  get busy(): boolean {
    return this.queue.length > 0 || this.parsing !== null || this.upgrading !== null;
  }

  idleTimedOut(): void {
    if (this.closed) return;
    this.owner.stats.downstream_cx_idle_timeout.inc();
    this.destroy();
  }

  headersTimedOut(): void {
    if (this.closed || this.served > 0) return;
    this.owner.stats.downstream_rq_header_timeout.inc();
    this.destroy();
  }
}
