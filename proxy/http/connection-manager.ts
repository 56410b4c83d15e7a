import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { HcmConfig } from '../model/listener.js';
import type { StatsStore } from '../observability/stats.js';
import { normalizePath, type PathNormalizeOptions } from '../router/path-normalize.js';
import type { ClusterLookup } from '../upstream/cluster.js';
import { llhttpAvailable } from '../upstream/llhttp.js';
import { ActiveStream, type StreamOwner } from './active-stream.js';
import { destroySilent, isUpgradeRequest } from './downstream-connections.js';
import type { DownstreamStream } from './downstream-stream.js';
import type { HttpFilter, RequestHead } from './filter.js';
import { type H1CodecOptions, H1ServerConnection, type H1ServerOwner } from './h1/server-connection.js';
import type { H1ServerStream } from './h1/server-stream.js';
import { H2Server } from './h2-server.js';
import { HcmStats } from './hcm-stats.js';
import { applyForwardingHeaders, requestIdOf, stripHopByHop } from './headers.js';
import { isGrpcContentType } from './local-reply.js';
import { NO_UPGRADE_HEAD, NodeDownstream } from './node-downstream.js';
import { NodeH1Server } from './node-h1-server.js';
import { checkHttp1Head, type HeadProblem, http2HeadSize } from './request-validation.js';
import { ResponseFlag } from './response-flags.js';
import { sharedWheel, type TimerWheel } from './timer-wheel.js';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export interface ConnectionManagerDeps {
  readonly stats: StatsStore;
  readonly clusters: ClusterLookup;
  /** Defaults to the process-wide wheel. */
  readonly wheel?: TimerWheel;
}

/**
 * HTTP/1 downstream codec: remora's own on llhttp (h1/), or node:http's server where llhttp is not
 * reachable or REMORA_H1_CODEC=node asks for it (a fallback, and a way to compare the two).
 */
const USE_OWN_H1 = llhttpAvailable && process.env.REMORA_H1_CODEC !== 'node';

/**
 * The HTTP connection manager: one per http_connection_manager filter config. It takes accepted
 * sockets, detects HTTP/1.1 vs HTTP/2 prior knowledge from the first bytes, runs them through a
 * codec (remora's HTTP/1 codec; node's http2 server, which never listens itself) and turns each
 * request into an ActiveStream.
 */
export class ConnectionManager implements StreamOwner, H1ServerOwner {
  readonly stats: HcmStats;
  readonly clusters: ClusterLookup;
  readonly wheel: TimerWheel;
  draining = false;
  /** The node:http fallback, when remora's own HTTP/1 codec is not used. */
  private readonly nodeH1: NodeH1Server | null;
  private readonly h2: H2Server;
  /** Connections on remora's own HTTP/1 codec. */
  private readonly codecConns = new Set<H1ServerConnection>();
  private readonly h1Opts: H1CodecOptions;
  /** Connections accepted but not yet given to a codec (no byte received). */
  private readonly sniffing = new Set<Socket>();
  private readonly streams = new Set<ActiveStream>();
  private readonly maxHeaderBytes: number;
  /**
   * Always applied: with every option off normalizePath only does Envoy's unconditional checks
   * (origin-form path, no fragment), which cost a char test and an includes('#').
   */
  private readonly pathOpts: PathNormalizeOptions;

  constructor(
    readonly cfg: HcmConfig,
    deps: ConnectionManagerDeps,
  ) {
    this.stats = new HcmStats(deps.stats, cfg.statPrefix);
    this.clusters = deps.clusters;
    this.wheel = deps.wheel ?? sharedWheel;
    this.maxHeaderBytes = cfg.maxRequestHeadersKb * 1024;
    const escaped =
      cfg.pathWithEscapedSlashesAction === 'IMPLEMENTATION_SPECIFIC_DEFAULT'
        ? 'KEEP_UNCHANGED'
        : cfg.pathWithEscapedSlashesAction;
    this.pathOpts = { normalize: cfg.normalizePath, mergeSlashes: cfg.mergeSlashes, escapedSlashes: escaped };
    const allowed = cfg.upgradeTypes;
    this.h1Opts = {
      maxHeaderBytes: this.maxHeaderBytes,
      idleTimeoutMs: cfg.idleTimeoutMs,
      headersTimeoutMs: cfg.requestHeadersTimeoutMs,
      allowedUpgrades: allowed,
    };
    this.nodeH1 = USE_OWN_H1 ? null : new NodeH1Server(this, this.maxHeaderBytes);
    this.h2 = new H2Server(this, this.maxHeaderBytes);
  }

  /** Hands an accepted connection to the codecs. */
  accept(socket: Socket): void {
    const stats = this.stats;
    stats.downstream_cx_total.inc();
    stats.downstream_cx_active.inc();
    socket.once('close', () => {
      stats.downstream_cx_active.dec();
      stats.downstream_cx_destroy.inc();
    });
    const codec = this.cfg.codecType;
    if (codec === 'HTTP1') this.toHttp1(socket);
    else if (codec === 'HTTP2') this.toHttp2(socket);
    else {
      if (this.cfg.idleTimeoutMs > 0) {
        // A connection that never sends a byte is idle too.
        socket.setTimeout(this.cfg.idleTimeoutMs);
        socket.once('timeout', destroySilent);
      }
      // Until the first bytes arrive the connection belongs to no codec: track it so that a drain
      // can close it (it has nothing in flight) and a client that closes before sending anything
      // does not leave a half-open socket behind.
      this.sniffing.add(socket);
      socket.once('close', () => this.sniffing.delete(socket));
      socket.once('end', endBeforeData);
      this.sniff(socket, EMPTY);
    }
  }

  /** Reads until the first bytes decide between the HTTP/2 preface and HTTP/1. */
  private sniff(socket: Socket, have: Buffer): void {
    socket.once('data', (chunk: Buffer) => {
      const buf = have.length === 0 ? chunk : Buffer.concat([have, chunk]);
      const n = Math.min(buf.length, H2_PREFACE.length);
      const isPrefix = buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isPrefix && n < H2_PREFACE.length) {
        this.sniff(socket, buf);
        return;
      }
      socket.pause();
      this.sniffing.delete(socket);
      socket.removeListener('end', endBeforeData);
      socket.removeListener('timeout', destroySilent);
      socket.setTimeout(0);
      socket.unshift(buf);
      if (isPrefix) this.toHttp2(socket);
      else this.toHttp1(socket);
    });
  }

  private toHttp1(socket: Socket): void {
    const stats = this.stats;
    stats.downstream_cx_http1_total.inc();
    stats.downstream_cx_http1_active.inc();
    socket.once('close', () => stats.downstream_cx_http1_active.dec());
    if (this.draining) {
      socket.end();
      return;
    }
    if (this.nodeH1 !== null) {
      this.nodeH1.accept(socket);
      return;
    }
    const c = new H1ServerConnection(socket, this, this.h1Opts);
    this.codecConns.add(c);
    socket.once('close', () => this.codecConns.delete(c));
    socket.resume();
  }

  private toHttp2(socket: Socket): void {
    this.h2.accept(socket);
  }

  /** A request through the node:http fallback (node-h1-server.ts). */
  onNodeH1Request(req: IncomingMessage, down: NodeDownstream): void {
    const stats = this.stats;
    stats.downstream_rq_http1_total.inc();
    const upgradeSocket = down.upgradeSocket;
    const stream = this.newStream(
      down,
      req.method ?? '',
      req.url ?? '',
      req.socket as Socket,
      upgradeSocket !== null,
    );
    const protocol = `HTTP/${req.httpVersion}`;
    stream.info.protocol = protocol;
    const cfg = this.cfg;
    const problem = checkHttp1Head(
      req.rawHeaders,
      req.httpVersion,
      cfg.maxHeadersCount,
      cfg.headersWithUnderscoresAction,
    );
    if (problem !== null) {
      stats.downstream_cx_protocol_error.inc();
      this.nodeH1?.refuse(req.socket);
      stream.sendLocalReply(problem.status, '', problem.details, ResponseFlag.DownstreamProtocolError);
      return;
    }
    this.startHttp1(stream, req.headers, req.method ?? 'GET', req.url ?? '/', protocol, req.socket as Socket);
  }

  /** A request on remora's own HTTP/1 codec (h1/server-connection.ts), in its turn. */
  onH1Request(s: H1ServerStream): void {
    const stats = this.stats;
    stats.downstream_rq_http1_total.inc();
    const socket = s.conn.socket;
    const stream = this.newStream(s, s.method, s.url, socket, s.upgrade);
    const protocol = s.minor === 0 ? 'HTTP/1.0' : 'HTTP/1.1';
    stream.info.protocol = protocol;
    const cfg = this.cfg;
    let problem = checkHttp1Head(
      s.rawHeaders,
      s.version,
      cfg.maxHeadersCount,
      cfg.headersWithUnderscoresAction,
    );
    // HTTP/1.1 requires Host (RFC 9112 §3.2); node:http's requireHostHeader did this before.
    if (problem === null && s.minor >= 1 && !s.headers.host) problem = MISSING_HOST;
    if (problem !== null) {
      stats.downstream_cx_protocol_error.inc();
      s.conn.refuse();
      stream.sendLocalReply(problem.status, '', problem.details, ResponseFlag.DownstreamProtocolError);
      return;
    }
    if (s.method === 'CONNECT') {
      // CONNECT needs an upgrade config (`CONNECT`), which remora does not support yet: refused
      // like any upgrade the config does not allow.
      stream.sendLocalReply(403, '', 'upgrade_failed', 0);
      return;
    }
    this.startHttp1(stream, s.headers, s.method, s.url, protocol, socket);
  }

  /** The HTTP/1 head passed the framing checks: refuse disallowed upgrades, then start. */
  private startHttp1(
    stream: ActiveStream,
    src: IncomingHttpHeaders,
    method: string,
    url: string,
    protocol: string,
    socket: Socket,
  ): void {
    if (!stream.upgradeRequest && isUpgradeRequest(src)) {
      // Envoy refuses upgrades the config does not allow; h2c alone is quietly downgraded to a
      // plain HTTP/1.1 request (its headers are stripped below).
      const token = String(src.upgrade).trim().toLowerCase();
      if (token !== 'h2c') {
        stream.sendLocalReply(403, '', 'upgrade_failed', 0);
        return;
      }
    }
    let contentLength = 0;
    if (src['transfer-encoding'] !== undefined) contentLength = -1;
    else if (src['content-length'] !== undefined) contentLength = Number(src['content-length']);
    // Copied without Content-Length and Host (the codec frames, :authority carries the host) rather
    // than spread and deleted: a delete leaves a slow dictionary object for every later reader.
    const headers: OutgoingHttpHeaders = {};
    for (const name in src) {
      if (name === 'content-length' || name === 'host') continue;
      headers[name] = src[name];
    }
    const authority = src.host ?? '';
    this.startStream(
      stream,
      src,
      headers,
      method,
      url,
      authority,
      contentLength,
      protocol,
      socket.remoteAddress ?? '',
    );
  }

  /** A request on node's HTTP/2 server (h2-server.ts). */
  onH2Request(req: Http2ServerRequest, res: Http2ServerResponse): void {
    const stats = this.stats;
    stats.downstream_rq_http2_total.inc();
    const down = new NodeDownstream(req, res, null, NO_UPGRADE_HEAD, this);
    const stream = this.newStream(down, req.method, req.url, req.socket as Socket, false);
    stream.info.protocol = 'HTTP/2';
    const cfg = this.cfg;
    const raw = req.headers;
    const size = http2HeadSize(raw);
    if (size.count > cfg.maxHeadersCount || size.bytes > this.maxHeaderBytes) {
      stats.downstream_rq_too_large.inc();
      stream.sendLocalReply(431, '', 'http2.too_many_headers', ResponseFlag.DownstreamProtocolError);
      return;
    }
    const headers: OutgoingHttpHeaders = {};
    for (const name in raw) {
      // Pseudo-headers, Content-Length and Host are not copied (no delete: see onH1Request).
      if (name.charCodeAt(0) === 58 || name === 'content-length' || name === 'host') continue;
      headers[name] = raw[name];
    }
    let contentLength = -1;
    if (raw['content-length'] !== undefined) contentLength = Number(raw['content-length']);
    else if (req.stream.endAfterHeaders) contentLength = 0;
    const authority = String(raw[':authority'] ?? raw.host ?? '');
    this.startStream(
      stream,
      raw,
      headers,
      req.method,
      String(raw[':path'] ?? '/'),
      authority,
      contentLength,
      'HTTP/2',
      req.socket.remoteAddress ?? '',
    );
  }

  private newStream(
    down: DownstreamStream,
    method: string,
    url: string,
    socket: Socket,
    upgradeRequest: boolean,
  ): ActiveStream {
    const stats = this.stats;
    stats.downstream_rq_total.inc();
    stats.downstream_rq_active.inc();
    const s = new ActiveStream(this, down, upgradeRequest);
    this.streams.add(s);
    const info = s.info;
    // As received, for %REQ(:METHOD)% / %REQ(:PATH)%: HTTP/1 header maps carry no pseudo-headers.
    // Both strings already exist on the request; this is two field stores.
    info.requestMethod = method;
    info.requestPath = url;
    // The addresses are the connection's: formatted once per socket, not per request.
    const sock = socket as Socket & { remoraAddrs?: readonly [string, string] };
    let addrs = sock.remoraAddrs;
    if (addrs === undefined) {
      addrs = [`${sock.remoteAddress}:${sock.remotePort}`, `${sock.localAddress}:${sock.localPort}`];
      sock.remoraAddrs = addrs;
    }
    info.downstreamRemoteAddress = addrs[0];
    info.downstreamLocalAddress = addrs[1];
    return s;
  }

  private startStream(
    stream: ActiveStream,
    requestHeaders: IncomingHttpHeaders,
    headers: OutgoingHttpHeaders,
    method: string,
    rawPath: string,
    rawAuthority: string,
    contentLength: number,
    protocol: string,
    remoteAddress: string,
  ): void {
    let path = rawPath;
    let authority = rawAuthority;
    const cfg = this.cfg;
    const info = stream.info;
    info.protocol = protocol;
    info.requestHeaders = requestHeaders;
    const upgrade = stripHopByHop(headers, stream.upgradeRequest ? cfg.upgradeTypes : NO_UPGRADES);
    if (headers.expect !== undefined && String(headers.expect).toLowerCase() === '100-continue') {
      // The codec already answered 100 Continue to the client (Envoy's default, proxy_100_continue
      // off); the upstream must not be asked again.
      delete headers.expect;
    }
    if (cfg.headersWithUnderscoresAction === 'DROP_HEADER') {
      for (const name of Object.keys(headers)) if (name.includes('_')) delete headers[name];
    }
    const scheme = 'http';
    const external = applyForwardingHeaders(headers, remoteAddress, scheme, cfg);
    info.requestId = requestIdOf(headers);
    if (external) {
      const internalOnly = cfg.routeTable.internalOnlyHeaders;
      for (let i = 0; i < internalOnly.length; i++) delete headers[internalOnly[i]];
    }
    if (path.charCodeAt(0) !== 47 && path !== '*') {
      // absolute-form (`GET http://host/p HTTP/1.1`): the target's authority replaces Host.
      const abs = ABSOLUTE_FORM.exec(path);
      if (abs !== null) {
        authority = abs[1];
        path = abs[2] === '' ? '/' : abs[2];
      }
    }
    // Envoy rejects fragments and non-origin-form paths whatever the normalisation options.
    const n = normalizePath(path, this.pathOpts, method);
    if (!n.ok) {
      if (n.location !== null) {
        // UNESCAPE_AND_REDIRECT: send the client to the unescaped path.
        stream.info.responseCodeDetails = n.details;
        stream.encodeHeaders(n.status, { location: n.location, 'content-length': 0 }, true);
      } else stream.sendLocalReply(n.status, '', n.details, 0);
      return;
    }
    path = n.path;
    const head: RequestHead = {
      method,
      path,
      authority,
      scheme,
      headers,
      contentLength,
      upgrade,
      grpc: isGrpcContentType(headers['content-type'] as string | undefined),
    };
    const models = cfg.httpFilters;
    const filters: HttpFilter[] = new Array(models.length);
    for (let i = 0; i < models.length; i++) filters[i] = models[i].factory.create(models[i].config, stream);
    stream.start(head, filters);
  }

  streamDone(s: ActiveStream): void {
    if (!this.streams.delete(s)) return;
    const stats = this.stats;
    stats.downstream_rq_active.dec();
    const info = s.info;
    if (info.responseCode > 0) stats.recordResponse(info.responseCode);
    stats.downstream_rq_completed.inc();
    stats.downstream_rq_time.record(info.durationMs());
    const logs = this.cfg.accessLogs;
    for (let i = 0; i < logs.length; i++) logs[i].sink?.log(info);
  }

  /** Active streams (for drain and tests). */
  get activeStreams(): number {
    return this.streams.size;
  }

  /**
   * Starts draining: HTTP/1 responses from now on carry Connection: close, idle keep-alive
   * connections close, HTTP/2 sessions get GOAWAY (streams in flight finish).
   */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    for (const s of this.sniffing) s.destroy();
    this.nodeH1?.drain();
    for (const c of this.codecConns) {
      // Busy ones close after their response (it carries Connection: close).
      if (c.idle) this.stats.downstream_cx_drain_close.inc();
      c.close();
    }
    this.h2.drain();
  }

  /** Closes every connection now. */
  forceClose(): void {
    this.draining = true;
    for (const s of this.sniffing) s.destroy();
    this.nodeH1?.forceClose();
    for (const c of this.codecConns) c.destroy();
    this.h2.forceClose();
  }
}

const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)(.*)$/i;
const EMPTY = Buffer.alloc(0);

/** The peer closed its side before sending a byte: there is nothing to answer. */
function endBeforeData(this: Socket): void {
  this.destroy();
}
const NO_UPGRADES: readonly string[] = [];
const MISSING_HOST: HeadProblem = { status: 400, details: 'http1.missing_host_header' };
