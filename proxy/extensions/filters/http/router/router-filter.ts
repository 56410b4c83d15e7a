import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FilterStatus, HttpFilter, RequestHead, StreamCallbacks } from '../../../../http/filter.js';
import { stripResponseHopByHop } from '../../../../http/headers.js';
import { LocalBody } from '../../../../http/local-reply.js';
import { ResponseFlag } from '../../../../http/response-flags.js';
import { sharedWheel, TimerEntry, type TimerTarget } from '../../../../http/timer-wheel.js';
import { grpcRouteTimeoutMs } from '../../../../router/grpc-timeout.js';
import { appendSetCookie, requestLbContext } from '../../../../router/hash-policy-context.js';
import { applyHeaderMutations } from '../../../../router/header-mutations.js';
import { retryPolicyForRequest } from '../../../../router/retry-policy.js';
import { RetryingStream } from '../../../../router/retry-stream.js';
import type { ClusterMutations, MatchedRoute } from '../../../../router/types.js';
import { type ClusterBreakers, sendOverloaded } from '../../../../upstream/circuit-breakers.js';
import type { UpstreamCluster } from '../../../../upstream/cluster.js';
import type { Host } from '../../../../upstream/host.js';
import type {
  UpstreamFailure,
  UpstreamResponseHandler,
  UpstreamStream,
} from '../../../../upstream/upstream-stream.js';

import { FAILURE, OUTLIER_FAILURE } from './upstream-failures.js';

export interface RouterConfig {
  /** Envoy's suppress_envoy_headers: no x-envoy-upstream-service-time on responses. */
  readonly suppressEnvoyHeaders: boolean;
}

/**
 * The terminal HTTP filter: resolves route → cluster → host → pool, streams the request upstream
 * and the response back with backpressure in both directions, and turns upstream failures into
 * Envoy's local replies and response flags.
 */
export class RouterFilter implements HttpFilter, UpstreamResponseHandler, TimerTarget {
  private upstream: UpstreamStream | null = null;
  private cluster: UpstreamCluster | null = null;
  private host: Host | null = null;
  private route: MatchedRoute | null = null;
  private clusterMutations: ClusterMutations | null = null;
  /** The breakers of the route's priority that admitted this request (released in complete()). */
  private breakers: ClusterBreakers | null = null;
  private startMono = 0;
  /** Set-Cookie a cookie hash policy generated for this request (added to the response), or null. */
  private hashCookie: string | null = null;
  private responseStarted = false;
  /** The upstream answered 5xx: the request ends as an error for load reporting (Envoy's rq_error). */
  private upstream5xx = false;
  private finished = false;
  /** Created only for routes with a timeout. */
  private timer: TimerEntry | null = null;
  /** The route's max_stream_duration (timer kind DURATION); null when the route sets none. */
  private durationTimer: TimerEntry | null = null;
  private onUpstreamDrain: (() => void) | null = null;

  constructor(
    private readonly cfg: RouterConfig,
    private readonly cb: StreamCallbacks,
  ) {}

  decodeHeaders(head: RequestHead, endStream: boolean): FilterStatus {
    const cb = this.cb;
    const route = cb.route();
    if (route === null) {
      cb.sendLocalReply(404, '', 'route_not_found', ResponseFlag.NoRouteFound);
      return 'stop';
    }
    this.route = route;
    const action = route.action;
    if (action.kind === 'redirect') {
      const location = action.location({
        authority: head.authority,
        path: head.path,
        method: head.method,
        scheme: head.scheme,
        headers: head.headers as IncomingHttpHeaders,
      });
      const headers: OutgoingHttpHeaders = { location, 'content-length': 0 };
      applyHeaderMutations(headers, route.responseHeaders);
      cb.info.responseCodeDetails = 'direct_response';
      cb.encodeHeaders(action.status, headers, true);
      return 'stop';
    }
    if (action.kind === 'direct_response') {
      const body = action.body;
      const headers: OutgoingHttpHeaders = { 'content-length': body === null ? 0 : body.length };
      if (body !== null && body.length > 0) headers['content-type'] = 'text/plain';
      const location = action.location({
        authority: head.authority,
        path: head.path,
        method: head.method,
        scheme: head.scheme,
        headers: head.headers as IncomingHttpHeaders,
      });
      if (location !== null) headers.location = location;
      applyHeaderMutations(headers, route.responseHeaders);
      cb.info.responseCodeDetails = 'direct_response';
      cb.encodeHeaders(action.status, headers, body === null || body.length === 0);
      if (body !== null && body.length > 0) cb.encodeData(body, true);
      return 'stop';
    }
    const clusterName = action.selectCluster(head.headers as IncomingHttpHeaders, Math.random());
    const cluster = clusterName === '' ? undefined : cb.clusters.get(clusterName);
    cb.info.upstreamCluster = clusterName;
    if (cluster === undefined) {
      cb.sendLocalReply(action.clusterNotFoundStatus, '', 'cluster_not_found', ResponseFlag.NoClusterFound);
      return 'stop';
    }
    this.clusterMutations = action.clusterMutations(clusterName);
    this.cluster = cluster;
    // Route hash_policy and a filter-pinned host (stateful session) reach the balancer here.
    const lbCtx = requestLbContext(action.hashPolicy ?? null, head, cb.info);
    if (lbCtx !== null) this.hashCookie = lbCtx.setCookie;
    const host = cluster.chooseHost(lbCtx);
    if (host === null) {
      cluster.stats.upstream_cx_none_healthy.inc();
      cb.sendLocalReply(
        503,
        LocalBody.noHealthyUpstream,
        'no_healthy_upstream',
        ResponseFlag.NoHealthyUpstream,
      );
      return 'stop';
    }
    // Circuit breaker max_requests at the route's priority (proxy/upstream/circuit-breakers.ts):
    // 503 UO, x-envoy-overloaded.
    const priority = action.priority ?? 'DEFAULT';
    const breakers = cluster.breakers(priority);
    if (!breakers.admitRequest()) {
      sendOverloaded(cb);
      return 'stop';
    }
    this.breakers = breakers;
    this.host = host;
    cb.info.upstreamHost = host.key;
    cb.info.attemptCount = 1;
    const headers = head.headers;
    const cm = this.clusterMutations;
    // The weighted cluster's own mutations and host rewrite come before the route's (Envoy's order).
    if (cm !== null) applyHeaderMutations(headers, cm.requestHeaders);
    applyHeaderMutations(headers, route.requestHeaders);
    let authority = head.authority;
    if (cm !== null && cm.hostRewriteLiteral !== null) authority = cm.hostRewriteLiteral;
    else if (action.hostRewriteLiteral !== null) authority = action.hostRewriteLiteral;
    else if (action.autoHostRewrite && host.hostname !== '') authority = host.hostname;
    const stats = cluster.stats;
    stats.upstream_rq_total.inc();
    stats.upstream_rq_active.inc();
    host.rqActive++;
    host.rqTotal++;
    host.load?.begin();
    this.startMono = performance.now();
    // A route with grpc_timeout_header_max times gRPC requests by their grpc-timeout (Envoy).
    const grpcTimeout = action.grpcTimeout ?? null;
    const routeTimeoutMs =
      grpcTimeout !== null && head.grpc ? grpcRouteTimeoutMs(headers, grpcTimeout) : action.timeoutMs;
    const timeoutMs = requestTimeoutMs(headers, routeTimeoutMs);
    if (timeoutMs > 0) {
      this.timer = new TimerEntry(this, 0);
      sharedWheel.schedule(this.timer, timeoutMs);
      // Tells the upstream how long the proxy will wait, as Envoy's router does.
      headers['x-envoy-expected-rq-timeout-ms'] = String(timeoutMs);
    }
    if (action.maxStreamDurationMs !== undefined && action.maxStreamDurationMs > 0) {
      this.durationTimer = new TimerEntry(this, DURATION);
      sharedWheel.schedule(this.durationTimer, action.maxStreamDurationMs);
    }
    const upstreamHead = {
      method: head.method,
      path: action.rewritePath(head.path),
      authority,
      scheme: head.scheme,
      headers,
      contentLength: head.contentLength,
      upgrade: head.upgrade,
    };
    // A route with a retry policy gets the retrying stream (proxy/router/retry-stream.ts).
    const retry = retryPolicyForRequest(action.retryPolicy ?? null, headers);
    if (action.attemptCountInRequest === true) headers['x-envoy-attempt-count'] = '1';
    this.upstream =
      retry === null || head.upgrade !== null
        ? cluster.poolFor(host, priority).newStream(upstreamHead, this)
        : new RetryingStream(this, cluster, retry, breakers, upstreamHead, lbCtx, host, priority);
    if (endStream && this.upstream !== null && !this.finished) this.upstream.end();
    return 'continue';
  }

  decodeData(chunk: Buffer, endStream: boolean): FilterStatus {
    const up = this.upstream;
    if (up === null || this.finished) return 'stop';
    if (chunk.length > 0 && !up.write(chunk)) {
      this.cb.pauseDecoding();
      if (this.onUpstreamDrain === null) this.onUpstreamDrain = () => this.cb.resumeDecoding();
      up.onDrain(this.onUpstreamDrain);
    }
    if (endStream) up.end();
    return 'continue';
  }

  decodeTrailers(trailers: IncomingHttpHeaders): FilterStatus {
    const up = this.upstream;
    if (up === null || this.finished) return 'stop';
    up.end(trailers as OutgoingHttpHeaders);
    return 'continue';
  }

  onDownstreamWritable(): void {
    this.upstream?.resume();
  }

  // ---- UpstreamResponseHandler ----

  onHeaders(status: number, headers: IncomingHttpHeaders): void {
    if (this.finished) return;
    const cb = this.cb;
    this.responseStarted = true;
    this.upstream5xx = status >= 500;
    cb.info.firstUpstreamRxMono = performance.now();
    this.cluster!.stats.recordResponse(status);
    this.host!.outlier?.putHttpStatus(status);
    const out = headers as OutgoingHttpHeaders;
    stripResponseHopByHop(headers);
    if (!this.cfg.suppressEnvoyHeaders) {
      out['x-envoy-upstream-service-time'] = String(Math.round(performance.now() - this.startMono));
    }
    if (this.clusterMutations !== null) applyHeaderMutations(out, this.clusterMutations.responseHeaders);
    applyHeaderMutations(out, this.route!.responseHeaders);
    if (this.hashCookie !== null) appendSetCookie(out, this.hashCookie);
    const act = this.route!.action;
    if (act.kind === 'route' && act.attemptCountInResponse === true) {
      out['x-envoy-attempt-count'] = String(cb.info.attemptCount);
    }
    cb.info.responseCodeDetails = 'via_upstream';
    cb.encodeHeaders(status, out, false);
  }

  onData(chunk: Buffer): void {
    if (this.finished) return;
    if (!this.cb.encodeData(chunk, false)) this.upstream?.pause();
  }

  onTrailers(trailers: IncomingHttpHeaders): void {
    if (this.finished) return;
    this.complete(true);
    this.cb.encodeTrailers(trailers as OutgoingHttpHeaders);
  }

  onEnd(): void {
    if (this.finished) return;
    this.complete(true);
    this.cb.encodeData(EMPTY, true);
  }

  onError(reason: UpstreamFailure, detail: string): void {
    if (this.finished) return;
    const f = FAILURE[reason];
    const stats = this.cluster!.stats;
    // host.cxConnectFail is the upstream socket layer's (upstream-socket.ts), counted once per socket.
    // Outlier detection: a pool overflow says nothing about the host.
    if (reason !== 'overflow') this.host!.outlier?.putLocalFailure(OUTLIER_FAILURE[reason]);
    if (reason === 'remote_reset' || reason === 'connection_termination') stats.upstream_rq_rx_reset.inc();
    this.upstream = null;
    this.complete(false);
    if (!this.responseStarted) stats.recordResponse(f.status);
    if (reason === 'overflow' && !this.responseStarted) {
      // A pool's breaker (max_pending_requests) refused it: same reply as max_requests.
      sendOverloaded(this.cb);
      return;
    }
    const details = `upstream_reset_before_response_started{${f.reason}${detail === '' ? '' : `|${detail}`}}`;
    this.cb.sendLocalReply(
      f.status,
      LocalBody.resetBeforeHeaders + f.reason.replace('_', ' '),
      details,
      f.flag,
    );
  }

  onUpgrade(headers: IncomingHttpHeaders, socket: Duplex, head: Buffer): void {
    if (this.finished) {
      socket.destroy();
      return;
    }
    this.cluster!.stats.recordResponse(101);
    this.complete(true);
    this.upstream = null;
    this.cb.upgradeTo(headers, socket, head);
  }

  onTimer(kind: number): void {
    if (this.finished) return;
    if (kind === DURATION) {
      this.onMaxStreamDuration();
      return;
    }
    const stats = this.cluster!.stats;
    stats.upstream_rq_timeout.inc();
    this.host!.rqTimeout++;
    if (!this.responseStarted) this.host!.outlier?.putLocalFailure('timeout');
    const up = this.upstream;
    this.upstream = null;
    this.complete(false);
    up?.reset();
    if (!this.responseStarted) stats.recordResponse(504);
    this.cb.sendLocalReply(
      504,
      LocalBody.upstreamTimeout,
      'upstream_response_timeout',
      ResponseFlag.UpstreamRequestTimeout,
    );
  }

  /**
   * The route's max_stream_duration elapsed: as Envoy, 408 with flag DT when no response has
   * started, else the stream is reset (flag DT too).
   */
  private onMaxStreamDuration(): void {
    const up = this.upstream;
    this.upstream = null;
    const started = this.responseStarted;
    this.complete(false);
    up?.reset();
    if (!started) {
      this.cluster!.stats.recordResponse(408);
      this.cb.sendLocalReply(
        408,
        'downstream duration timeout',
        'max_duration_timeout',
        ResponseFlag.DurationTimeout,
      );
      return;
    }
    this.cb.info.setFlag(ResponseFlag.DurationTimeout);
    this.cb.info.responseCodeDetails = 'max_duration_timeout';
    this.cb.resetStream();
  }

  /** A retry moved the request to `host` (RetryingStream): per-host accounting follows it. */
  onRetryAttempt(host: Host, attempt: number): void {
    if (this.finished) return;
    this.host!.rqActive--;
    // LRS: the failed try ends as an error on its locality; the next one begins on the new host's.
    this.host!.load?.end(false);
    host.rqActive++;
    host.rqTotal++;
    host.load?.begin();
    this.host = host;
    this.cb.info.upstreamHost = host.key;
    this.cb.info.attemptCount = attempt;
  }

  /** The last try's per-try timeout fired with no retry left: 504 UT, as Envoy answers. */
  onPerTryTimeout(): void {
    if (this.finished) return;
    this.host!.rqTimeout++;
    this.host!.outlier?.putLocalFailure('timeout');
    this.upstream = null;
    this.complete(false);
    this.cluster!.stats.recordResponse(504);
    this.cb.sendLocalReply(
      504,
      LocalBody.upstreamTimeout,
      'upstream_per_try_timeout',
      ResponseFlag.UpstreamRequestTimeout,
    );
  }

  /** Request accounting ends here, once, however the upstream request ended. */
  private complete(success: boolean): void {
    this.finished = true;
    if (this.timer !== null) sharedWheel.cancel(this.timer);
    if (this.durationTimer !== null) sharedWheel.cancel(this.durationTimer);
    const stats = this.cluster!.stats;
    stats.upstream_rq_active.dec();
    this.breakers?.requestDone();
    stats.upstream_rq_completed.inc();
    const elapsed = performance.now() - this.startMono;
    stats.upstream_rq_time.record(elapsed);
    const host = this.host!;
    // Latency-aware balancers (peak EWMA) learn from every finished request.
    this.cluster!.onRequestEnd?.(host, elapsed);
    host.rqActive--;
    // Envoy charges a 5xx response to the host's rq_error, like a reset or a timeout.
    const ok = success && !this.upstream5xx;
    if (ok) host.rqSuccess++;
    else host.rqError++;
    host.load?.end(ok);
  }

  onDestroy(): void {
    if (this.finished || this.host === null) {
      this.finished = true;
      return;
    }
    // The downstream went away first: abandon the upstream request.
    this.cluster!.stats.upstream_rq_tx_reset.inc();
    const up = this.upstream;
    this.upstream = null;
    this.complete(false);
    up?.reset();
  }
}

const EMPTY = Buffer.alloc(0);
/** TimerEntry kind of the max_stream_duration timer (the route timeout's is 0). */
const DURATION = 1;
const DIGITS = /^[0-9]{1,9}$/;

/**
 * The route timeout, or the x-envoy-upstream-rq-timeout-ms override a trusted client sent (the
 * connection manager already removed x-envoy-* headers from external requests). The override is
 * consumed here and never forwarded.
 */
function requestTimeoutMs(headers: OutgoingHttpHeaders, routeTimeoutMs: number): number {
  const v = headers['x-envoy-upstream-rq-timeout-ms'];
  if (v === undefined) return routeTimeoutMs;
  delete headers['x-envoy-upstream-rq-timeout-ms'];
  return typeof v === 'string' && DIGITS.test(v) ? Number(v) : routeTimeoutMs;
}
