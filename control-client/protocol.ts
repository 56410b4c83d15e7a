/**
 * The seam between the stream (owned by XdsClient) and the two wire variants of ADS. A protocol
 * builds the requests for a type's subscriptions and turns responses into accepted updates or NACKs.
 */
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
}

export interface AdsProtocol {
  readonly method: 'StreamAggregatedResources' | 'DeltaAggregatedResources';
  /** Sends what the server must learn about this type's subscriptions (first request or a change). */
  sendSubscriptions(state: TypeState<unknown>): void;
  handleResponse(response: object): void;
}

/** One line per error; the message of the google.rpc.Status in a NACK. */
export function nackMessage(errors: readonly string[]): string {
  return errors.join('\n');
}
