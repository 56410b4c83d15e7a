import type { ResponseFlagBit } from './response-flags.js';

/** The shared empty map every header field starts as (three fewer objects per stream). */
const NO_HEADERS: Readonly<Record<string, never>> = Object.freeze({});

/**
 * What is known about one downstream request (or, for tcp_proxy, one connection) as it moves
 * through the proxy: filled in by the connection manager, router and upstream; read by access
 * loggers, stats and tracing once the stream completes. One object per stream, every field set in
 * the constructor so the shape is stable.
 */
export class StreamInfo {
  /** Wall-clock start (ms since epoch) for %START_TIME%. */
  readonly startTime: number = Date.now();
  /** Monotonic start (performance.now() ms) for durations. */
  readonly startMono: number = performance.now();
  /** Monotonic time the last byte was sent downstream; -1 until then. */
  endMono = -1;
  /** Monotonic time the first upstream response byte arrived; -1 if none. */
  firstUpstreamRxMono = -1;
  /** Monotonic time the last downstream request byte arrived (%REQUEST_DURATION%); -1 until then. */
  lastDownstreamRxMono = -1;
  /**
   * Method and path of the request as received (%REQ(:METHOD)% / %REQ(:PATH)%). HTTP/1 header maps
   * carry no pseudo-headers, so the connection manager sets these two for every protocol.
   */
  requestMethod = '';
  requestPath = '';
  /** 'HTTP/1.0' | 'HTTP/1.1' | 'HTTP/2' | '' (tcp). */
  protocol = '';
  /** Request headers as received (lower-case names), including pseudo-headers for HTTP/2. */
  requestHeaders: Readonly<Record<string, string | string[] | undefined>> = NO_HEADERS;
  /** Response headers as sent downstream. */
  responseHeaders: Readonly<Record<string, string | string[] | number | undefined>> = NO_HEADERS;
  responseTrailers: Readonly<Record<string, string | string[] | undefined>> = NO_HEADERS;
  /** 0 until a response started. */
  responseCode = 0;
  /** Envoy's %RESPONSE_CODE_DETAILS% (e.g. `route_not_found`, `upstream_reset_before_response_started{connection_failure}`). */
  responseCodeDetails = '';
  responseFlags = 0;
  bytesReceived = 0;
  bytesSent = 0;
  /** `ip:port` of the upstream host used, '' if none. */
  upstreamHost = '';
  upstreamCluster = '';
  /**
   * `ip:port` of the host a filter asks the router to use (the stateful session filter's cookie);
   * the cluster honours it while that host is a healthy member. '' when none.
   */
  upstreamOverrideHost = '';
  /** Local address of the upstream connection, `ip:port`. */
  upstreamLocalAddress = '';
  /** The route's name (%ROUTE_NAME%). */
  routeName = '';
  downstreamRemoteAddress = '';
  downstreamLocalAddress = '';
  /** The x-request-id of the stream. */
  requestId = '';
  /** Attempts made upstream (1 + retries). */
  attemptCount = 0;

  setFlag(flag: ResponseFlagBit): void {
    this.responseFlags |= flag;
  }

  hasFlag(flag: ResponseFlagBit): boolean {
    return (this.responseFlags & flag) !== 0;
  }

  /** Total duration in ms, or -1 while the stream is still open. */
  durationMs(): number {
    return this.endMono < 0 ? -1 : this.endMono - this.startMono;
  }
}
