import { connect, type Socket } from 'node:net';
import type { Counter } from '../observability/stats.js';
import type { ClusterStats } from './cluster-stats.js';
import type { Host } from './host.js';

/**
 * Opens a TCP connection to a host and keeps the connection stats every upstream user shares (HTTP/1
 * pool, HTTP/2 pool, tcp_proxy): upstream_cx_total / _active / _connect_fail / _connect_timeout /
 * _destroy(_local|_remote), rx/tx bytes, and the host's cxTotal / cxActive / cxConnectFail.
 *
 * connect_timeout is enforced here: the socket is destroyed with an error whose code is
 * CONNECT_TIMEOUT_CODE, which callers map to the 'connect_timeout' failure.
 */
export const CONNECT_TIMEOUT_CODE = 'REMORA_CONNECT_TIMEOUT';

/** Per-socket bookkeeping, one object per connection (not per request). */
class TrackedSocket {
  connected = false;
  timedOut = false;
  remoteEnded = false;
  timer: NodeJS.Timeout | null = null;
  constructor(
    readonly socket: Socket,
    readonly host: Host,
    readonly stats: ClusterStats,
  ) {}
}

const tracked = new WeakMap<Socket, TrackedSocket>();

export function openUpstreamSocket(
  host: Host,
  stats: ClusterStats,
  connectTimeoutMs: number,
  protocolCounter: Counter | null,
): Socket {
  const socket = connect({ host: host.address, port: host.port, noDelay: true });
  const t = new TrackedSocket(socket, host, stats);
  tracked.set(socket, t);
  stats.upstream_cx_total.inc();
  stats.upstream_cx_active.inc();
  if (protocolCounter !== null) protocolCounter.inc();
  host.cxTotal++;
  host.cxActive++;
  if (connectTimeoutMs > 0) {
    t.timer = setTimeout(onConnectTimeout, connectTimeoutMs, t);
    t.timer.unref();
  }
  socket.once('connect', onConnect);
  socket.once('end', onEnd);
  socket.once('close', onClose);
  return socket;
}

/** True once the TCP handshake completed (distinguishes connect failures from resets). */
export function socketConnected(socket: Socket): boolean {
  const t = tracked.get(socket);
  return t === undefined ? !socket.connecting : t.connected;
}

function onConnectTimeout(t: TrackedSocket): void {
  t.timer = null;
  if (t.connected) return;
  t.timedOut = true;
  t.stats.upstream_cx_connect_timeout.inc();
  const err = new Error('upstream connect timeout') as NodeJS.ErrnoException;
  err.code = CONNECT_TIMEOUT_CODE;
  t.socket.destroy(err);
}

function onConnect(this: Socket): void {
  const t = tracked.get(this);
  if (t === undefined) return;
  t.connected = true;
  if (t.timer !== null) {
    clearTimeout(t.timer);
    t.timer = null;
  }
}

function onEnd(this: Socket): void {
  const t = tracked.get(this);
  if (t !== undefined) t.remoteEnded = true;
}

function onClose(this: Socket): void {
  const t = tracked.get(this);
  if (t === undefined) return;
  if (t.timer !== null) {
    clearTimeout(t.timer);
    t.timer = null;
  }
  const s = t.stats;
  s.upstream_cx_active.dec();
  t.host.cxActive--;
  s.upstream_cx_rx_bytes_total.inc(this.bytesRead);
  s.upstream_cx_tx_bytes_total.inc(this.bytesWritten);
  if (!t.connected) {
    s.upstream_cx_connect_fail.inc();
    t.host.cxConnectFail++;
    return;
  }
  s.upstream_cx_destroy.inc();
  if (t.remoteEnded) s.upstream_cx_destroy_remote.inc();
  else s.upstream_cx_destroy_local.inc();
}

/** Why a socket that never connected failed: our connect_timeout, or the connect itself. */
export function connectFailureOf(socket: Socket | null): 'connect_timeout' | 'connect_failure' {
  const t = socket === null ? undefined : tracked.get(socket);
  return t?.timedOut === true ? 'connect_timeout' : 'connect_failure';
}

/** Maps a socket error to the codec-neutral failure reason. */
export function connectFailureReason(
  err: NodeJS.ErrnoException | undefined,
): 'connect_timeout' | 'connect_failure' {
  return err !== undefined && err.code === CONNECT_TIMEOUT_CODE ? 'connect_timeout' : 'connect_failure';
}
