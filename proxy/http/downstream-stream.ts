import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The seam between an active stream (filters, router, stats) and the downstream codec that carries
 * it: remora's own HTTP/1.1 codec (h1/) or Node's HTTP/2 compat layer (node-downstream.ts). The
 * codec calls the sink directly, so request body chunks reach the filters without an
 * EventEmitter or a Readable in between.
 */
export interface DownstreamSink {
  /** Request body bytes. Not called while the sink has paused the request. */
  onRequestData(chunk: Buffer): void;
  /** The request is complete; its trailers when it carried any (an upgrade's head is a request). */
  onRequestEnd(trailers: IncomingHttpHeaders | null): void;
  /** The downstream can take more response data (after writeData returned false). */
  onWritable(): void;
  /**
   * The stream is over: `complete` when the whole response went out, false when the downstream
   * reset or closed first. Called once, never synchronously from a write.
   */
  onClosed(complete: boolean): void;
}

/** The raw connection of an HTTP/1.1 upgrade and the bytes that followed the request head. */
export interface UpgradeTakeover {
  readonly socket: Duplex;
  readonly head: Buffer;
}

export interface DownstreamStream {
  readonly http2: boolean;
  /**
   * True once the whole response was handed to the transport (HTTP/1); HTTP/2 always reports
   * false, its resets are told by onClosed.
   */
  readonly responseFinished: boolean;
  /** Registers the sink; called once, before anything is written. */
  bind(sink: DownstreamSink): void;
  /** Request-body backpressure: no onRequestData until resumeRequest. */
  pauseRequest(): void;
  resumeRequest(): void;
  /** The response head; with `endStream` nothing else follows. */
  writeHeaders(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void;
  /** Response body; false when the downstream buffer is full (wait for onWritable). */
  writeData(chunk: Buffer, endStream: boolean): boolean;
  /** Ends the response with trailers (dropped where the framing can not carry them). */
  writeTrailers(trailers: OutgoingHttpHeaders): void;
  /** Aborts the stream (HTTP/1: closes the connection; HTTP/2: RST_STREAM). */
  reset(): void;
  /** After a 101 from upstream: the codec lets go of the connection; null when not an upgrade. */
  detachUpgrade(): UpgradeTakeover | null;
}
