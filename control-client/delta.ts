/**
 * Incremental ADS (DeltaAggregatedResources). Requests carry only subscription changes; the first
 * request for a type on a stream lists every subscription and, after a reconnect, the versions of
 * the resources already held (initial_resource_versions) so the server can skip unchanged ones.
 * ACK and NACK carry only the response nonce (and error_detail for a NACK).
 */
import { type DecodedResponse, ResourceDecoder } from './decode.js';
import {
  type AdsProtocol,
  ackAfter,
  decodeThenConclude,
  nackMessage,
  type ProtocolHost,
} from './protocol.js';
import { WILDCARD } from './resource-type.js';
import type { TypeState } from './type-state.js';
import { type DeltaDiscoveryRequest, type DeltaDiscoveryResponse, STATUS_INVALID_ARGUMENT } from './wire.js';

export class DeltaProtocol implements AdsProtocol {
  readonly method = 'DeltaAggregatedResources' as const;
  /** Types whose first request on this stream subscribed to the wildcard implicitly (empty list). */
  private readonly legacyWildcard = new Set<string>();

  constructor(private readonly host: ProtocolHost) {}

  /** A new stream: nothing has been said about any type on it yet. */
  streamStarted(): void {
    this.legacyWildcard.clear();
  }

  sendSubscriptions(state: TypeState<unknown>): void {
    const desired = new Set(state.subscriptions.keys());
    if (!state.sentOnStream) {
      if (desired.size === 0) return;
      const initialVersions: Record<string, string> = {};
      for (const [name, cached] of state.cache)
        if (state.interestedIn(name)) initialVersions[name] = cached.version;
      let subscribe = [...desired];
      if (desired.size === 1 && state.wildcard) {
        // Wildcard alone: the legacy empty list, understood by servers that predate "*".
        subscribe = [];
        this.legacyWildcard.add(state.type.typeUrl);
      }
      state.sentOnStream = true;
      state.sentNames.clear();
      for (const n of desired) state.sentNames.add(n);
      this.host.send(this.request(state, subscribe, [], initialVersions, ''));
      return;
    }
    const subscribe: string[] = [];
    const unsubscribe: string[] = [];
    for (const n of desired) if (!state.sentNames.has(n)) subscribe.push(n);
    for (const n of state.sentNames) if (!desired.has(n)) unsubscribe.push(n);
    if (subscribe.length === 0 && unsubscribe.length === 0) return;
    if (subscribe.length > 0 && state.wildcard && this.legacyWildcard.delete(state.type.typeUrl)) {
      // Adding names to an implicit wildcard would make it ambiguous; say "*" explicitly.
      subscribe.unshift(WILDCARD);
    }
    state.sentNames.clear();
    for (const n of desired) state.sentNames.add(n);
    this.host.send(this.request(state, subscribe, unsubscribe, {}, ''));
  }

  handleResponse(response: object): Promise<void> | null {
    const res = response as DeltaDiscoveryResponse;
    const state = this.host.state(res.type_url);
    if (state === undefined) {
      this.host.unknownType(res.type_url);
      return null;
    }
    state.stats.update_attempt++;
    return decodeThenConclude(
      this.host,
      ResourceDecoder.delta(state.type, res.resources),
      (decoded, stream) => this.conclude(state, res, decoded, stream),
    );
  }

  /** Accepts (apply, then ACK) or rejects (NACK) a decoded response. */
  private conclude(
    state: TypeState<unknown>,
    res: DeltaDiscoveryResponse,
    decoded: DecodedResponse<unknown>,
    stream: number,
  ): Promise<void> | null {
    if (this.host.streamId() !== stream) return null;
    state.nonce = res.nonce;
    if (decoded.errors.length > 0) {
      state.stats.update_rejected++;
      state.stats.last_error = nackMessage(decoded.errors);
      const nack = this.request(state, [], [], {}, res.nonce);
      nack.error_detail = { code: STATUS_INVALID_ARGUMENT, message: nackMessage(decoded.errors) };
      this.host.send(nack);
      state.reject(decoded.errors);
      this.host.responseProcessed({
        typeUrl: res.type_url,
        accepted: false,
        version: res.system_version_info,
        nonce: res.nonce,
        errors: decoded.errors,
      });
      return null;
    }
    state.stats.update_success++;
    state.stats.version_text = res.system_version_info;
    state.stats.update_time = Date.now();
    state.stats.last_error = '';
    const applying = state.apply(decoded.updates, res.removed_resources, false);
    const ack = (): void => {
      if (this.host.streamId() !== stream) return;
      this.host.send(this.request(state, [], [], {}, res.nonce));
      this.host.responseProcessed({
        typeUrl: res.type_url,
        accepted: true,
        version: res.system_version_info,
        nonce: res.nonce,
        errors: [],
      });
    };
    return ackAfter(applying, ack);
  }

  private request(
    state: TypeState<unknown>,
    subscribe: string[],
    unsubscribe: string[],
    initialVersions: Record<string, string>,
    nonce: string,
  ): DeltaDiscoveryRequest {
    return {
      node: this.host.nodeForRequest(),
      type_url: state.type.typeUrl,
      resource_names_subscribe: subscribe,
      resource_names_unsubscribe: unsubscribe,
      initial_resource_versions: initialVersions,
      response_nonce: nonce,
    };
  }
}
