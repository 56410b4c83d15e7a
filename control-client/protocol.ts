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

/** How one wire variant answers and applies a response (the rest is the same for both). */
export interface ResponseWire<T> {
  /** The NACK request: the previous accepted version, this response's nonce, every error. */
  nack(errors: readonly string[]): object;
  /** Records the accepted response and applies it to the watchers (see TypeState.apply). */
  apply(decoded: DecodedResponse<T>): Promise<void> | null;
  /** The ACK request. */
  ack(): object;
}

/**
 * Processes one response of a known type, for both wire variants: decodes it in slices, then,
 * unless the stream changed meanwhile, NACKs it with every error or applies it and ACKs it once
 * the watchers are done. Synchronous (null) when everything fits in one slice.
 */
export function processResponse<T>(
  host: ProtocolHost,
  state: TypeState<T>,
  response: { readonly nonce: string; readonly version: string },
  decoder: ResourceDecoder<T>,
  wire: ResponseWire<T>,
): Promise<void> | null {
  state.stats.update_attempt++;
  const stream = host.streamId();
  const conclude = (): Promise<void> | null =>
    concludeResponse(host, state, response, decoder.result, stream, wire);
  const decoding = runInSlices((deadline) => decoder.run(deadline));
  if (decoding === null) return conclude();
  return decoding.then(() => conclude() ?? undefined);
}

function concludeResponse<T>(
  host: ProtocolHost,
  state: TypeState<T>,
  response: { readonly nonce: string; readonly version: string },
  decoded: DecodedResponse<T>,
  stream: number,
  wire: ResponseWire<T>,
): Promise<void> | null {
  // A response from a stream that broke meanwhile: its nonce means nothing on the new one.
  if (host.streamId() !== stream) return null;
  // The nonce moves only now: a subscription change sent while this response was being decoded
  // carried the previous one, so the server did not take it for an answer to this response.
  state.nonce = response.nonce;
  const outcome = (accepted: boolean, errors: readonly string[]): void =>
    host.responseProcessed({
      typeUrl: state.type.typeUrl,
      accepted,
      version: response.version,
      nonce: response.nonce,
      errors,
    });
  const errors = decoded.errors;
  if (errors.length > 0) {
    state.stats.update_rejected++;
    state.stats.last_error = nackMessage(errors);
    host.send(wire.nack(errors));
    state.reject(errors);
    outcome(false, errors);
    return null;
  }
  state.stats.update_success++;
  state.stats.version_text = response.version;
  state.stats.update_time = Date.now();
  state.stats.last_error = '';
  const ack = (): void => {
    // After a reconnect the new stream's first request already carries this version.
    if (host.streamId() !== stream) return;
    host.send(wire.ack());
    outcome(true, []);
  };
  const applying = wire.apply(decoded);
  if (applying === null) {
    ack();
    return null;
  }
  return applying.then(ack);
}
