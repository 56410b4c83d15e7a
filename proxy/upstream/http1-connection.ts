import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import {
  consumeSocket,
  currentRead,
  releaseSocket,
  type StreamHandle,
  setHandleReading,
} from '../http/h1/socket-handle.js';
import { foldHeaders } from './http1-headers.js';
import type { H1Stream, Http1Pool } from './http1-pool.js';
import { HTTPParser, type LlhttpParser } from './llhttp.js';
import { connectFailureOf, openUpstreamSocket } from './upstream-socket.js';

/**
 * One upstream HTTP/1.1 connection of the lean pool (http1-pool.ts): the socket, its llhttp
 * response parser, and the stream it is serving (one at a time). Parser and socket callbacks are
 * arrow properties, so a connection allocates its closures once, not per request.
 *
 * Once connected, the parser reads the socket's libuv handle itself where Node allows it
 * (socket-handle.ts, as the downstream codec and node's own server do): each read is parsed in
 * C++ and JS hears only the callbacks and kOnExecute, with no Buffer and 'data' event per read.
 * Otherwise (or with the pool's readHandle off) it parses Buffers from 'data' events. Either way a
 * finished response is handed on after the read that finished it, so bytes that follow it in the
 * same read (the server is out of step: nothing was asked) are caught before the connection is
 * reused.
 */
const P = HTTPParser!;
const K_ON_EXECUTE = P.kOnExecute;
const K_ON_MESSAGE_BEGIN = P.kOnMessageBegin;

export class H1Connection {
  readonly socket: Socket;
  readonly parser: LlhttpParser;
  stream: H1Stream | null = null;
  connected = false;
  closed = false;
  served = 0;
  private keepAlive = true;
  private lines: string[] = [];
  private informational = false;
  private upgrading = false;
  private error: NodeJS.ErrnoException | undefined = undefined;
  /** The socket's handle while the parser consumes it; null when reading 'data' events. */
  private handle: StreamHandle | null = null;
  /** Reads wanted (the stream's backpressure); applied once connected. */
  private readsOn = true;
  /** A response completed in the current read; handed on once the read is parsed. */
  private finished: H1Stream | null = null;
  private finishedTrailers: IncomingHttpHeaders | null = null;
  /** A message began with no response expected (bytes nobody asked for). */
  private stray = false;
  /**
   * The idle timeout: one timer per connection, re-armed (refresh) each time it goes idle and
   * ignored if it fires while busy, instead of a socket.setTimeout pair (a new Timeout and bound
   * function) per request.
   */
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(readonly pool: Http1Pool) {
    const o = pool.opts;
    const s = openUpstreamSocket(
      pool.host,
      pool.stats,
      o.connectTimeoutMs,
      pool.stats.upstream_cx_http1_total,
    );
    this.socket = s;
    const p = new P();
    p.initialize(P.RESPONSE, {}, 0, 0);
    p[P.kOnHeaders] = this.onHeaderLines;
    p[P.kOnHeadersComplete] = this.onHeadersComplete;
    p[P.kOnBody] = this.onBody;
    p[P.kOnMessageComplete] = this.onMessageComplete;
    if (K_ON_MESSAGE_BEGIN !== undefined) p[K_ON_MESSAGE_BEGIN] = this.onMessageBegin;
    this.parser = p;
    s.on('connect', this.onConnect);
    s.on('end', this.onEnd);
    s.on('error', this.onError);
    s.on('close', this.onClose);
    s.on('drain', this.onDrain);
  }

  /** The parser reads the socket's handle itself (for tests and profiles). */
  get readsHandle(): boolean {
    return this.handle !== null;
  }

  assign(stream: H1Stream): void {
    this.stream = stream;
    this.served++;
    this.keepAlive = true;
    if (this.served > 1) {
      this.socket.ref();
      // A previous stream may have paused reads as its response ended.
      this.applyReading(true);
    }
    stream.attach(this);
  }

  /** The stream `s` (still this connection's) wants the response read, or held back. */
  setReading(s: H1Stream, on: boolean): void {
    if (this.stream === s) this.applyReading(on);
  }

  /** Closes the connection now (reset, protocol error, no reuse). */
  destroy(): void {
    if (this.closed) return;
    // Closed from here on: the parser may still finish the current chunk (a reset from inside a
    // handler callback) and must not hand this connection back to the pool.
    this.closed = true;
    this.socket.destroy();
  }

  /** Idle in the pool: the idle timer runs and the socket does not hold the process open. */
  idle(): void {
    const ms = this.pool.opts.idleTimeoutMs;
    if (ms > 0) {
      if (this.idleTimer === null) {
        this.idleTimer = setTimeout(idleTimedOut, ms, this);
        this.idleTimer.unref();
      } else this.idleTimer.refresh();
    }
    this.socket.unref();
    // Reads go on while idle, so the server closing (or misbehaving) is seen at once.
    this.applyReading(true);
  }

  private applyReading(on: boolean): void {
    this.readsOn = on;
    if (!this.connected || this.closed) return;
    const h = this.handle;
    if (h !== null) setHandleReading(h, on);
    else if (on) this.socket.resume();
    else this.socket.pause();
  }

  // --- parser callbacks (arrow properties: one closure per connection, none per request) ---

  private readonly onMessageBegin = (): void => {
    const s = this.stream;
    if (s === null || this.finished !== null) this.stray = true;
    else s.responseStarted = true;
  };

  private readonly onHeaderLines = (raw: string[]): void => {
    for (let i = 0; i < raw.length; i++) this.lines.push(raw[i]);
  };

  private readonly onHeadersComplete = (
    _major: number,
    _minor: number,
    raw: string[] | undefined,
    _method: unknown,
    _url: unknown,
    status: number,
    _statusMessage: string,
    upgrade: boolean,
    shouldKeepAlive: boolean,
  ): number => {
    let lines = raw;
    if (lines === undefined) {
      lines = this.lines;
      this.lines = [];
    }
    const s = this.stream;
    if (s === null) return 1;
    if (status >= 100 && status < 200 && status !== 101) {
      this.informational = true;
      return 1;
    }
    this.keepAlive = shouldKeepAlive;
    if (upgrade && status === 101 && s.upgrade) {
      this.upgrading = true;
      s.upgradeHeaders = foldHeaders(lines, true);
      return 2;
    }
    s.headers(status, foldHeaders(lines, false));
    return s.isHead ? 1 : 0;
  };

  private readonly onBody = (chunk: Buffer): void => {
    this.stream?.data(chunk);
  };

  private readonly onMessageComplete = (): void => {
    if (this.informational) {
      this.informational = false;
      this.lines = [];
      return;
    }
    const s = this.stream;
    if (s === null || this.upgrading) {
      this.lines = [];
      return;
    }
    this.finishedTrailers = this.lines.length > 0 ? foldHeaders(this.lines, true) : null;
    this.lines = [];
    this.stream = null;
    this.finished = s;
  };

  // --- reads ---

  private readonly onData = (d: Buffer): void => {
    const s = this.stream;
    if (s === null) {
      // Bytes nobody asked for: the connection is out of step; drop it.
      this.pool.stats.upstream_cx_protocol_error.inc();
      this.destroy();
      return;
    }
    s.responseStarted = true;
    const r = this.parser.execute(d);
    this.parsed(r, this.upgrading && typeof r === 'number' ? d.subarray(r) : null);
  };

  /** The parser consumed a read from the handle: `r` is what execute returned for it. */
  private readonly onExecute = (r: number | Error): void => {
    // The read is fetched back (a copy) only for an upgrade: the bytes after the 101 head.
    this.parsed(r, this.upgrading && typeof r === 'number' ? currentRead(this.parser).subarray(r) : null);
  };

  /** After each read: protocol errors, stray bytes, the upgrade hand-over, the finished response. */
  private parsed(r: number | Error, upgradeHead: Buffer | null): void {
    const done = this.finished;
    this.finished = null;
    if (this.stray || r instanceof Error) {
      this.stray = false;
      this.pool.stats.upstream_cx_protocol_error.inc();
      const s = this.stream;
      if (done === null && s !== null && r instanceof Error) {
        s.fail('protocol_error', `invalid HTTP response: ${(r as NodeJS.ErrnoException).code ?? r.message}`);
      }
      this.destroy();
      // A response that completed before the bad bytes stands; the connection is not reused.
      if (done !== null) this.finishResponse(done);
      return;
    }
    if (upgradeHead !== null && !this.closed) {
      const s = this.stream;
      if (s !== null) this.detachForUpgrade(s, upgradeHead);
      return;
    }
    if (done !== null) this.finishResponse(done);
  }

  private finishResponse(s: H1Stream): void {
    const trailers = this.finishedTrailers;
    this.finishedTrailers = null;
    const max = this.pool.opts.maxRequestsPerConnection;
    const reuse =
      this.keepAlive &&
      s.requestEnded &&
      !this.pool.draining &&
      (max === 0 || this.served < max) &&
      !this.closed;
    // Release before telling the handler, so a request it starts can take this connection.
    if (reuse) this.pool.release(this);
    s.complete(trailers);
    if (!reuse) this.destroy();
  }

  // --- socket events ---

  private readonly onConnect = (): void => {
    this.connected = true;
    const consumed =
      K_ON_EXECUTE === undefined || K_ON_MESSAGE_BEGIN === undefined || this.pool.opts.readHandle === false
        ? null
        : consumeSocket(this.parser, this.socket);
    if (consumed === null) {
      this.socket.on('data', this.onData);
      if (!this.readsOn) this.socket.pause();
    } else {
      this.parser[K_ON_EXECUTE as number] = this.onExecute;
      this.handle = consumed.handle;
      // node starts the first read right after 'connect'; a stream paused before that stops it
      // once it has (the tick runs before any read can complete).
      if (!this.readsOn) process.nextTick(applyPausedReads, this);
    }
    this.stream?.connected();
  };

  /** @internal */
  pausedAtConnect(): void {
    if (!this.readsOn) this.applyReading(false);
  }

  private readonly onEnd = (): void => {
    // A body delimited by the connection's end completes here.
    if (this.stream !== null && !this.upgrading) this.parser.finish();
    const done = this.finished;
    this.finished = null;
    this.destroy();
    // Closed first, so the response finished by the end is not taken for a reusable one.
    if (done !== null) this.finishResponse(done);
  };

  private readonly onError = (err: NodeJS.ErrnoException): void => {
    this.error = err;
  };

  private readonly onClose = (): void => {
    this.closed = true;
    this.releaseParser();
    this.pool.forget(this);
    const s = this.stream;
    this.stream = null;
    if (s === null) return;
    if (!this.connected) {
      s.fail(connectFailureOf(this.socket), this.error?.message ?? 'upstream connect failed');
    } else if (!s.responseStarted && this.served > 1 && s.replayable()) {
      this.pool.replay(s);
    } else {
      s.fail('connection_termination', this.error?.message ?? 'upstream connection closed');
    }
  };

  private readonly onDrain = (): void => {
    this.stream?.drained();
  };

  /** @internal The idle timer fired: closes the connection unless a request took it since. */
  idleTimerFired(): void {
    if (this.stream === null) this.destroy();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
  }

  private releaseParser(): void {
    this.clearIdleTimer();
    const h = this.handle;
    if (h !== null) {
      this.handle = null;
      releaseSocket(this.parser, h, false);
    }
    this.parser.close();
  }

  private detachForUpgrade(s: H1Stream, head: Buffer): void {
    const sock = this.socket;
    sock.removeListener('connect', this.onConnect);
    sock.removeListener('data', this.onData);
    sock.removeListener('end', this.onEnd);
    sock.removeListener('error', this.onError);
    sock.removeListener('close', this.onClose);
    sock.removeListener('drain', this.onDrain);
    this.clearIdleTimer();
    this.stream = null;
    this.closed = true;
    const h = this.handle;
    if (h !== null) {
      // Reads go back to the socket's own stream (restarted if the stream had paused them). We
      // are inside the parser's read callback, which touches the parser after it returns: it is
      // closed on a later turn of the loop.
      this.handle = null;
      releaseSocket(this.parser, h, true);
      setImmediate(closeParser, this.parser);
    } else {
      this.parser.close();
    }
    this.pool.forget(this);
    s.upgraded(sock, head);
  }
}

function idleTimedOut(c: H1Connection): void {
  c.idleTimerFired();
}

function applyPausedReads(c: H1Connection): void {
  c.pausedAtConnect();
}

function closeParser(p: LlhttpParser): void {
  p.close();
}
