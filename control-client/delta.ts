/**
 * Incremental ADS (DeltaAggregatedResources). Requests carry only subscription changes; the first
 * request for a type on a stream lists every subscription and, after a reconnect, the versions of
 * the resources already held (initial_resource_versions) so the server can skip unchanged ones.
 * ACK and NACK carry only the response nonce (and error_detail for a NACK).
 */
import { ResourceDecoder } from './decode.js';
import { type AdsProtocol, nackMessage, type ProtocolHost, processResponse } from './protocol.js';
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
    return processResponse(
      this.host,
      state,
      { nonce: res.nonce, version: res.system_version_info },
      ResourceDecoder.delta(state.type, res.resources),
      {
        nack: (errors) => {
          const nack = this.request(state, [], [], {}, res.nonce);
          nack.error_detail = { code: STATUS_INVALID_ARGUMENT, message: nackMessage(errors) };
          return nack;
        },
        apply: (decoded) => state.apply(decoded.updates, res.removed_resources, false),
        ack: () => this.request(state, [], [], {}, res.nonce),
      },
    );
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
