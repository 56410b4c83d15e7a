import { type ClientHttp2Session, connect } from 'node:http2';
import type { Socket } from 'node:net';
import type { Http2Pool } from './http2-pool.js';
import { openUpstreamSocket, socketConnected } from './upstream-socket.js';

/**
 * One HTTP/2 session of an Http2Pool: its socket, the streams on it against the peer's
 * SETTINGS_MAX_CONCURRENT_STREAMS and ours, and its retirement (GOAWAY, drain, max requests per
 * connection): a retired session takes no new streams and closes when its last one ends. Session
 * event handlers are module functions (no closures per session).
 */
export class H2Connection {
  readonly session: ClientHttp2Session;
  socket: Socket | null = null;
  active = 0;
  served = 0;
  /** No new streams: GOAWAY received, drained, or closed. */
  retired = false;
  peerMaxStreams = Number.POSITIVE_INFINITY;
  error: NodeJS.ErrnoException | undefined = undefined;

  constructor(readonly pool: Http2Pool) {
    const o = pool.opts;
    this.session = connect(`http://${pool.host.key}`, {
      createConnection: () => {
        this.socket = openUpstreamSocket(
          pool.host,
          pool.stats,
          o.connectTimeoutMs,
          pool.stats.upstream_cx_http2_total,
        );
        return this.socket;
      },
      settings: { enablePush: false, initialWindowSize: o.initialStreamWindowSize },
    });
    const s = this.session as ClientHttp2Session & { _remoraConn?: H2Connection };
    s._remoraConn = this;
    s.on('connect', onSessionConnect);
    s.on('remoteSettings', onRemoteSettings);
    s.on('goaway', onGoaway);
    s.on('error', onSessionError);
    s.on('close', onSessionClose);
    if (o.idleTimeoutMs > 0) s.setTimeout(o.idleTimeoutMs, onSessionTimeout);
  }

  get capacity(): number {
    return Math.min(this.pool.opts.maxConcurrentStreams, this.peerMaxStreams) - this.active;
  }

  connected(): boolean {
    return this.socket !== null && socketConnected(this.socket);
  }

  streamDone(): void {
    this.active--;
    if (this.active === 0 && this.retired && !this.session.closed) this.session.close();
  }

  retire(): void {
    this.retired = true;
    this.pool.forget(this);
    if (this.active === 0 && !this.session.closed) this.session.close();
  }
}

type ConnSession = ClientHttp2Session & { _remoraConn?: H2Connection };

function onSessionConnect(this: ConnSession): void {
  const c = this._remoraConn;
  if (c !== undefined && c.pool.opts.initialConnectionWindowSize > 65535) {
    this.setLocalWindowSize(c.pool.opts.initialConnectionWindowSize);
  }
}
function onRemoteSettings(this: ConnSession, settings: { maxConcurrentStreams?: number }): void {
  const c = this._remoraConn;
  if (c !== undefined && settings.maxConcurrentStreams !== undefined)
    c.peerMaxStreams = settings.maxConcurrentStreams;
}
function onGoaway(this: ConnSession): void {
  this._remoraConn?.retire();
}
function onSessionError(this: ConnSession, err: NodeJS.ErrnoException): void {
  const c = this._remoraConn;
  if (c === undefined) return;
  c.error = err;
}
function onSessionClose(this: ConnSession): void {
  const c = this._remoraConn;
  if (c === undefined) return;
  c.retired = true;
  c.pool.forget(c);
  // 'close' comes once per session: the connection no longer counts against max_connections.
  c.pool.opts.breakers?.connectionClosed();
}
function onSessionTimeout(this: ConnSession): void {
  const c = this._remoraConn;
  if (c !== undefined && c.active === 0) c.retire();
}
