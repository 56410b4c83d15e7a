import http2, {
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { HcmConfig } from '../model/listener.js';
import { goaway, noteStream } from './downstream-connections.js';
import type { HcmStats } from './hcm-stats.js';

export interface H2Owner {
  readonly cfg: HcmConfig;
  readonly stats: HcmStats;
  readonly draining: boolean;
  onH2Request(req: Http2ServerRequest, res: Http2ServerResponse): void;
}

/** Stream and connection windows bigger than HTTP/2's 64 KiB default. */
const H2_STREAM_WINDOW = 1024 * 1024;
const H2_CONNECTION_WINDOW = 8 * 1024 * 1024;

/**
 * Downstream HTTP/2 (prior knowledge) on node's http2 server, which never listens itself and is
 * fed the connections the manager sniffed: settings from http2_protocol_options, the session
 * idle timeout, and GOAWAY naming the last accepted stream on drain.
 */
export class H2Server {
  private readonly server: http2.Http2Server;
  private readonly sessions = new Set<ServerHttp2Session>();
  /** Opens a new session's connection-level flow-control window to the configured size. */
  private readonly setConnectionWindow: (this: ServerHttp2Session) => void;

  constructor(
    private readonly owner: H2Owner,
    maxHeaderBytes: number,
  ) {
    const cfg = owner.cfg;
    this.server = http2.createServer({
      maxHeaderListPairs: cfg.maxHeadersCount * 2 + 16,
      maxSessionMemory: 64,
      // Windows bigger than HTTP/2's 64 KiB default so one stream can fill a fast link; they also
      // bound what a paused stream (upstream backpressure) and a whole connection may buffer here.
      settings: {
        maxHeaderListSize: maxHeaderBytes * 2,
        enablePush: false,
        initialWindowSize: cfg.http2?.initialStreamWindowSize ?? H2_STREAM_WINDOW,
        // The HCM's http2_protocol_options; unset leaves node's defaults.
        ...(cfg.http2?.maxConcurrentStreams === undefined
          ? {}
          : { maxConcurrentStreams: cfg.http2.maxConcurrentStreams }),
        ...(cfg.http2?.hpackTableSize === undefined ? {} : { headerTableSize: cfg.http2.hpackTableSize }),
      },
    });
    const connWindow = cfg.http2?.initialConnectionWindowSize ?? H2_CONNECTION_WINDOW;
    // One function per server (not per session): sessions call it with `this` bound.
    this.setConnectionWindow = function (this: ServerHttp2Session): void {
      if (!this.destroyed) this.setLocalWindowSize(connWindow);
    };
    this.server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) =>
      owner.onH2Request(req, res),
    );
    this.server.on('session', (s: ServerHttp2Session) => this.onSession(s));
    this.server.on('sessionError', () => owner.stats.downstream_cx_protocol_error.inc());
  }

  accept(socket: Socket): void {
    const stats = this.owner.stats;
    stats.downstream_cx_http2_total.inc();
    stats.downstream_cx_http2_active.inc();
    socket.once('close', () => stats.downstream_cx_http2_active.dec());
    this.server.emit('connection', socket);
  }

  drain(): void {
    for (const s of this.sessions) {
      this.owner.stats.downstream_cx_drain_close.inc();
      goaway(s);
    }
  }

  forceClose(): void {
    for (const s of this.sessions) s.destroy();
  }

  private onSession(s: ServerHttp2Session): void {
    const owner = this.owner;
    this.sessions.add(s);
    s.once('connect', this.setConnectionWindow);
    s.once('close', () => this.sessions.delete(s));
    s.on('error', () => {});
    const idleMs = owner.cfg.idleTimeoutMs;
    if (idleMs > 0) {
      s.setTimeout(idleMs, () => {
        owner.stats.downstream_cx_idle_timeout.inc();
        s.close();
      });
    }
    s.on('stream', noteStream);
    if (owner.draining) goaway(s);
  }
}
