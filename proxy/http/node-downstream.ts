import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { DownstreamSink, DownstreamStream, UpgradeTakeover } from './downstream-stream.js';

type NodeReq = IncomingMessage | Http2ServerRequest;
type NodeRes = ServerResponse | Http2ServerResponse;

const EMPTY = Buffer.alloc(0);

/**
 * A downstream stream on node's request/response API: HTTP/2 through the http2 compat layer, and
 * HTTP/1 through node:http where remora's own codec (h1/) is not used. Event handlers are module
 * functions that find the adapter on the emitter, so a stream costs no closures.
 */
export class NodeDownstream implements DownstreamStream {
  readonly http2: boolean;
  private sink: DownstreamSink | null = null;
  /** A gRPC trailers-only response held until its end (HTTP/2). */
  private pendingHeaders: OutgoingHttpHeaders | null = null;
  private pendingStatus = 0;
  private drainHooked = false;
  private detached = false;
  private over = false;

  constructor(
    readonly req: NodeReq,
    readonly res: NodeRes,
    /** HTTP/1 upgrade requests through node:http: the raw socket and the bytes after the head. */
    readonly upgradeSocket: Duplex | null,
    private readonly upgradeHead: Buffer,
    private readonly owner: { readonly draining: boolean },
  ) {
    this.http2 = req.httpVersionMajor === 2;
    (req as Tagged).remoraDown = this;
    (res as Tagged).remoraDown = this;
  }

  get responseFinished(): boolean {
    return !this.http2 && (this.res as ServerResponse).writableFinished;
  }

  bind(sink: DownstreamSink): void {
    this.sink = sink;
    const req = this.req;
    const res = this.res;
    // A reset or aborted stream reports through 'close'; its 'error' must not become uncaught.
    req.on('error', ignoreError);
    res.on('error', ignoreError);
    // 'drain' is listened for only once a write is refused: most responses never are.
    res.on('finish', onResFinish);
    res.on('close', onResClose);
    req.on('data', onReqData);
    req.on('end', onReqEnd);
  }

  pauseRequest(): void {
    this.req.pause();
  }

  resumeRequest(): void {
    this.req.resume();
  }

  writeHeaders(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void {
    if (!this.http2) {
      if (this.owner.draining || this.upgradeSocket !== null) headers.connection = 'close';
    } else if (!endStream && headers['grpc-status'] !== undefined) {
      // Looks like a gRPC trailers-only response: hold it so it can go out as one HEADERS frame
      // with END_STREAM, which is the only form gRPC clients accept for it.
      this.pendingHeaders = headers;
      this.pendingStatus = status;
      return;
    }
    this.writeHead(status, headers, endStream);
  }

  private writeHead(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void {
    const res = this.res;
    if (this.http2 && endStream) {
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
    const h = this.pendingHeaders as OutgoingHttpHeaders;
    this.pendingHeaders = null;
    this.writeHead(this.pendingStatus, h, endStream);
  }

  writeData(chunk: Buffer, endStream: boolean): boolean {
    if (this.pendingHeaders !== null) {
      if (endStream && chunk.length === 0) {
        this.flushPending(true);
        return true;
      }
      this.flushPending(false);
    }
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

  writeTrailers(trailers: OutgoingHttpHeaders): void {
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

  reset(): void {
    if (this.http2) {
      (this.res as Http2ServerResponse).stream.close(2); // INTERNAL_ERROR
    } else {
      (this.res as ServerResponse).socket?.destroy();
      this.upgradeSocket?.destroy();
    }
  }

  detachUpgrade(): UpgradeTakeover | null {
    const down = this.upgradeSocket;
    if (down === null || this.detached) return null;
    this.detached = true;
    // The response object owns nothing from here on; the two sockets are spliced.
    (this.res as ServerResponse).detachSocket(down as Socket);
    return { socket: down, head: this.upgradeHead };
  }

  /** @internal */
  requestData(chunk: Buffer): void {
    this.sink?.onRequestData(chunk);
  }

  /** @internal */
  requestEnd(): void {
    const trailers = this.req.trailers as IncomingHttpHeaders;
    let has = false;
    for (const _ in trailers) {
      has = true;
      break;
    }
    this.sink?.onRequestEnd(has ? trailers : null);
  }

  /** @internal */
  writable(): void {
    this.sink?.onWritable();
  }

  /** @internal 'finish' (finished) or 'close'. */
  ended(finished: boolean): void {
    if (this.over) return;
    this.over = true;
    let complete = finished;
    if (this.http2) {
      // The compat layer emits 'finish' for a stream the client reset too; the RST code tells.
      const rst = (this.res as Http2ServerResponse).stream.rstCode;
      if (rst !== undefined && rst !== 0) complete = false;
    }
    const up = this.upgradeSocket;
    if (up !== null && !this.detached) {
      // An upgrade answered with an ordinary response: the connection is not reusable (its
      // response object was built by hand, so node's keep-alive bookkeeping does not apply).
      if (complete) up.end();
      else up.destroy();
    }
    this.sink?.onClosed(complete);
  }
}

function ignoreError(): void {}

interface Tagged {
  remoraDown?: NodeDownstream;
  /** HTTP/1 responses: the connection's in-flight bookkeeping (downstream-connections.ts H1Conn). */
  remoraConn?: { done(): void };
}

function onReqData(this: Tagged, c: Buffer): void {
  this.remoraDown?.requestData(c);
}

function onReqEnd(this: Tagged): void {
  this.remoraDown?.requestEnd();
}

function onResDrain(this: Tagged): void {
  this.remoraDown?.writable();
}

function onResFinish(this: Tagged): void {
  this.remoraDown?.ended(true);
}

function onResClose(this: Tagged): void {
  this.remoraConn?.done();
  this.remoraDown?.ended(false);
}

export const NO_UPGRADE_HEAD = EMPTY;
