import type { Socket } from 'node:net';
import { foldHeaders } from './http1-headers.js';
import type { H1Stream, Http1Pool } from './http1-pool.js';
import { HTTPParser, type LlhttpParser } from './llhttp.js';
import { connectFailureOf, openUpstreamSocket } from './upstream-socket.js';

/**
 * One upstream HTTP/1.1 connection of the lean pool (http1-pool.ts): the socket, its llhttp
 * response parser, and the stream it is serving (one at a time). Parser and socket callbacks are
 * arrow properties, so a connection allocates its closures once, not per request.
 */
const P = HTTPParser!;

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
    this.parser = p;
    s.on('connect', this.onConnect);
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('error', this.onError);
    s.on('close', this.onClose);
    s.on('drain', this.onDrain);
    s.on('timeout', this.onTimeout);
  }

  assign(stream: H1Stream): void {
    this.stream = stream;
    this.served++;
    this.keepAlive = true;
    if (this.served > 1) {
      this.socket.ref();
      if (this.pool.opts.idleTimeoutMs > 0) this.socket.setTimeout(0);
    }
    stream.attach(this);
  }

  /** Closes the connection now (reset, protocol error, no reuse). */
  destroy(): void {
    if (this.closed) return;
    // Closed from here on: the parser may still finish the current chunk (a reset from inside a
    // handler callback) and must not hand this connection back to the pool.
    this.closed = true;
    this.socket.destroy();
  }

  // --- parser callbacks (arrow properties: one closure per connection, none per request) ---

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
    if (s === null || this.upgrading) return;
    const trailers = this.lines.length > 0 ? foldHeaders(this.lines, true) : null;
    this.lines = [];
    this.stream = null;
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
  };

  // --- socket events ---

  private readonly onConnect = (): void => {
    this.connected = true;
    this.stream?.connected();
  };

  private readonly onData = (d: Buffer): void => {
    const s = this.stream;
    if (s === null) {
      // Bytes nobody asked for: the connection is out of step; drop it.
      this.destroy();
      return;
    }
    s.responseStarted = true;
    const r = this.parser.execute(d);
    if (r instanceof Error) {
      this.pool.stats.upstream_cx_protocol_error.inc();
      this.stream?.fail(
        'protocol_error',
        `invalid HTTP response: ${(r as NodeJS.ErrnoException).code ?? r.message}`,
      );
      this.destroy();
      return;
    }
    if (this.upgrading) this.detachForUpgrade(s, d.subarray(r));
  };

  private readonly onEnd = (): void => {
    // A body delimited by the connection's end completes here.
    if (this.stream !== null && !this.upgrading) this.parser.finish();
    this.destroy();
  };

  private readonly onError = (err: NodeJS.ErrnoException): void => {
    this.error = err;
  };

  private readonly onClose = (): void => {
    this.closed = true;
    this.parser.close();
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

  private readonly onTimeout = (): void => {
    if (this.stream === null) this.destroy();
  };

  /** Idle in the pool: the idle timer runs and the socket does not hold the process open. */
  idle(): void {
    if (this.pool.opts.idleTimeoutMs > 0) this.socket.setTimeout(this.pool.opts.idleTimeoutMs);
    this.socket.unref();
    this.socket.resume();
  }

  private detachForUpgrade(s: H1Stream, head: Buffer): void {
    const sock = this.socket;
    sock.removeListener('connect', this.onConnect);
    sock.removeListener('data', this.onData);
    sock.removeListener('end', this.onEnd);
    sock.removeListener('error', this.onError);
    sock.removeListener('close', this.onClose);
    sock.removeListener('drain', this.onDrain);
    sock.removeListener('timeout', this.onTimeout);
    sock.setTimeout(0);
    this.stream = null;
    this.closed = true;
    this.parser.close();
    this.pool.forget(this);
    s.upgraded(sock, head);
  }
}
