import type { IncomingHttpHeaders } from 'node:http';
import http2, { type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';

/**
 * Per-connection bookkeeping of the connection manager: HTTP/1 requests in flight on node:http
 * connections (for drain and idle timeouts; node keeps its own only for servers that listen
 * themselves; remora's own codec keeps its own) and the last HTTP/2 stream accepted (for a graceful
 * GOAWAY). Event handlers are module functions, not closures.
 */
export class H1Conn {
  inflight = 0;
  headersTimer: NodeJS.Timeout | null = null;
  /** The pre-first-request idle timeout is set on the socket. */
  idleArmed = false;
  constructor(
    readonly socket: Socket,
    readonly owner: { readonly draining: boolean },
  ) {}
  /** A response finished: an idle connection closes if the listener is draining. */
  done(): void {
    this.inflight--;
    if (this.owner.draining && this.inflight === 0) this.socket.end();
  }
}

/** 'timeout' before any byte arrived: the connection was idle from the start. */
export function destroySilent(this: Socket): void {
  this.destroy();
}

const lastStreamIds = new WeakMap<ServerHttp2Session, number>();

/** 'stream' on a server session: remember the highest stream id accepted. */
export function noteStream(this: ServerHttp2Session, st: ServerHttp2Stream): void {
  const id = st.id ?? 0;
  if (id > (lastStreamIds.get(this) ?? 0)) lastStreamIds.set(this, id);
}

/** GOAWAY naming the last stream we accepted, so those streams finish; then close when idle. */
export function goaway(s: ServerHttp2Session): void {
  if (s.closed || s.destroyed) return;
  s.goaway(http2.constants.NGHTTP2_NO_ERROR, lastStreamIds.get(s) ?? 0);
  s.close();
}

/** `Connection: upgrade` with an `Upgrade` token. */
export function isUpgradeRequest(headers: IncomingHttpHeaders): boolean {
  const u = headers.upgrade;
  const c = headers.connection;
  return typeof u === 'string' && typeof c === 'string' && /(^|,)\s*upgrade\s*(,|$)/i.test(c);
}
