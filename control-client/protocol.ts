/**
 * The seam between the stream (owned by XdsClient) and the two wire variants of ADS. A protocol
 * builds the requests for a type's subscriptions and turns responses into accepted updates or NACKs.
 */
import type { DecodedResponse, ResourceDecoder } from './decode.js';
import { runInSlices } from './slices.js';
import type { TypeState } from './type-state.js';
import type { NodeMessage } from './wire.js';

export interface ResponseOutcome {
  readonly typeUrl: string;
  readonly accepted: boolean;
  /** The response's version_info (SotW) or system_version_info (delta). */
  readonly version: string;
  readonly nonce: string;
  /** Empty when accepted. */
  readonly errors: readonly string[];
}

export interface ProtocolHost {
  state(typeUrl: string): TypeState<unknown> | undefined;
  /** Writes one request on the current stream. */
  send(request: object): void;
  /** The node to put in the next request, or null when it has already been sent (set_node_on_first_message_only). */
  nodeForRequest(): NodeMessage | null;
  /** A response for a type nobody ever subscribed to (ignored, as Envoy does). */
  unknownType(typeUrl: string): void;
  responseProcessed(outcome: ResponseOutcome): void;
  /**
   * Identifies the current stream. A response still being processed when the stream changed is
   * dropped unanswered: its nonce means nothing on the new stream, which re-requests everything.
   */
  streamId(): number;
}

export interface AdsProtocol {
  readonly method: 'StreamAggregatedResources' | 'DeltaAggregatedResources';
  /** Sends what the server must learn about this type's subscriptions (first request or a change). */
  sendSubscriptions(state: TypeState<unknown>): void;
  /**
   * Decodes, validates and applies one response, then ACKs or NACKs it. Returns a promise when the
   * work did not fit in one slice (a big response; see slices.ts) or a watcher is still applying it;
   * the client then holds back what must follow it.
   */
  handleResponse(response: object): Promise<void> | null;
}

/** One line per error; the message of the google.rpc.Status in a NACK. */
export function nackMessage(errors: readonly string[]): string {
  return errors.join('\n');
}

/**
 * Runs a response's decoder in slices, then `conclude` with the result, unless the stream changed
 * meanwhile (`conclude` gets the stream it started on and checks). Synchronous when it fits.
 */
export function decodeThenConclude<T>(
  host: ProtocolHost,
  decoder: ResourceDecoder<T>,
  conclude: (decoded: DecodedResponse<T>, stream: number) => Promise<void> | null,
): Promise<void> | null {
  const stream = host.streamId();
  const decoding = runInSlices((deadline) => decoder.run(deadline));
  if (decoding === null) return conclude(decoder.result, stream);
  return decoding.then(() => conclude(decoder.result, stream) ?? undefined);
}

/** `ack` now when the apply finished, or once it does. */
export function ackAfter(applying: Promise<void> | null, ack: () => void): Promise<void> | null {
  if (applying === null) {
    ack();
    return null;
  }
  return applying.then(ack);
}
