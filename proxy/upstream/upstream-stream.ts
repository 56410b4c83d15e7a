import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Host } from './host.js';

/**
 * The codec-neutral upstream request: the router talks to HTTP/1.1 and HTTP/2 pools through this,
 * so retries, timeouts and stats are written once. Modelled on Envoy's encoder/decoder pair.
 */
export type UpstreamFailure =
  /** TCP connect refused/unreachable (response flag UF). */
  | 'connect_failure'
  /** connect_timeout elapsed (UF, detail connection_timeout). */
  | 'connect_timeout'
  /** The upstream reset the stream (H2 RST_STREAM) (UR). */
  | 'remote_reset'
  /** The upstream connection closed before the response completed (UC). */
  | 'connection_termination'
  /** The pool or a circuit breaker refused the request (UO). */
  | 'overflow'
  /** The upstream sent something that is not valid HTTP (UPE). */
  | 'protocol_error';

export interface UpstreamRequestHead {
  readonly method: string;
  /** Path and query as they go upstream (normalised, rewritten). */
  readonly path: string;
  /** Host header (HTTP/1.1) or :authority (HTTP/2). */
  readonly authority: string;
  /** :scheme for HTTP/2. */
  readonly scheme: string;
  /**
   * Request headers to send: lower-case names, no pseudo-headers, no hop-by-hop or framing
   * headers (the pool adds Content-Length / Transfer-Encoding / Connection as its codec needs).
   * Values may be arrays for repeated headers.
   */
  readonly headers: OutgoingHttpHeaders;
  /** Body length when known (Content-Length), -1 when unknown (streamed), 0 for no body. */
  readonly contentLength: number;
  /** An HTTP/1.1 Upgrade request (e.g. `websocket`): the pool sends Connection: Upgrade and Upgrade. */
  readonly upgrade: string | null;
}

export interface UpstreamResponseHandler {
  /** Response head. `status` 1xx informational responses other than 101 are not delivered. */
  onHeaders(status: number, headers: IncomingHttpHeaders): void;
  onData(chunk: Buffer): void;
  onTrailers(trailers: IncomingHttpHeaders): void;
  /** The response is complete. */
  onEnd(): void;
  /**
   * The stream failed. Called at most once; nothing else is called after it. It may come before
   * onHeaders (nothing was received) or after (the response was cut).
   */
  onError(reason: UpstreamFailure, detail: string): void;
  /**
   * The upstream switched protocols (101) on an Upgrade request: from here on bytes flow raw both
   * ways over `socket` (with `head` already read from it). Only for HTTP/1.1 upgrades.
   */
  onUpgrade(headers: IncomingHttpHeaders, socket: Duplex, head: Buffer): void;
}

export interface UpstreamStream {
  readonly host: Host;
  /** Sends request body bytes; false means buffers are full: wait for onDrain before writing more. */
  write(chunk: Buffer): boolean;
  /** Ends the request body, with trailers for HTTP/2 (gRPC) when given. */
  end(trailers?: OutgoingHttpHeaders): void;
  /** Called once when a write that returned false may be followed by more. */
  onDrain(cb: () => void): void;
  /** Stops delivering response data until resume() (downstream backpressure). */
  pause(): void;
  resume(): void;
  /** Abandons the stream: HTTP/1.1 closes the connection, HTTP/2 sends RST_STREAM(CANCEL). */
  reset(): void;
}

export interface ConnectionPool {
  readonly host: Host;
  /**
   * Starts a request. It may wait for a connection (a pending request); the handler learns of a
   * failure through onError. Never throws for upstream problems.
   */
  newStream(head: UpstreamRequestHead, handler: UpstreamResponseHandler): UpstreamStream;
  /** Streams in progress (Envoy's rq_active for this pool). */
  readonly activeStreams: number;
  /** Streams waiting for a connection. */
  readonly pendingStreams: number;
  /** Stops opening connections, closes idle ones, lets active streams finish, then closes. */
  drain(): void;
  /** Closes everything now. */
  destroy(): void;
}
