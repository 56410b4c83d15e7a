import type { Socket } from 'node:net';
import type { ClusterStats } from './cluster-stats.js';
import type { Host } from './host.js';
import { connectFailureReason, openUpstreamSocket } from './upstream-socket.js';

/**
 * Opens a raw TCP connection to an upstream host for tcp_proxy, with connect_timeout and the same
 * cx stats as the HTTP pools (upstream_cx_total/active/connect_fail/connect_timeout/destroy*, host
 * cxTotal/cxActive/cxConnectFail). The callback runs exactly once.
 */
export type TcpConnectResult =
  | { readonly ok: true; readonly socket: Socket }
  | { readonly ok: false; readonly reason: 'connect_failure' | 'connect_timeout'; readonly detail: string };

export function connectTcp(
  host: Host,
  stats: ClusterStats,
  connectTimeoutMs: number,
  cb: (result: TcpConnectResult) => void,
): Socket {
  const socket = openUpstreamSocket(host, stats, connectTimeoutMs, null);
  const attempt = new TcpAttempt(socket, cb);
  socket.once('connect', attempt.onConnect);
  socket.once('error', attempt.onError);
  return socket;
}

class TcpAttempt {
  private settled = false;
  constructor(
    private readonly socket: Socket,
    private readonly cb: (result: TcpConnectResult) => void,
  ) {}

  readonly onConnect = (): void => {
    if (this.settled) return;
    this.settled = true;
    this.socket.removeListener('error', this.onError);
    this.cb({ ok: true, socket: this.socket });
  };

  readonly onError = (err: NodeJS.ErrnoException): void => {
    if (this.settled) return;
    this.settled = true;
    this.cb({ ok: false, reason: connectFailureReason(err), detail: err.message });
  };
}

/** Promise form of connectTcp. */
export function connectTcpAsync(
  host: Host,
  stats: ClusterStats,
  connectTimeoutMs: number,
): Promise<TcpConnectResult> {
  return new Promise((resolve) => {
    connectTcp(host, stats, connectTimeoutMs, resolve);
  });
}
