/**
 * State-of-the-world ADS (StreamAggregatedResources). Every request for a type carries the full list
 * of subscribed names, the last accepted version_info and the nonce of the last response; an ACK
 * echoes the new version_info, a NACK keeps the previous one and adds error_detail.
 */
import { ResourceDecoder } from './decode.js';
import { type AdsProtocol, nackMessage, type ProtocolHost, processResponse } from './protocol.js';
import { WILDCARD } from './resource-type.js';
import type { TypeState } from './type-state.js';
import { type DiscoveryRequest, type DiscoveryResponse, STATUS_INVALID_ARGUMENT } from './wire.js';

export class SotwProtocol implements AdsProtocol {
  readonly method = 'StreamAggregatedResources' as const;

  constructor(private readonly host: ProtocolHost) {}

  sendSubscriptions(state: TypeState<unknown>): void {
    // Nothing to ask for and nothing asked for yet on this stream: no request.
    if (!state.sentOnStream && state.subscriptions.size === 0) return;
    state.sentOnStream = true;
    this.host.send(this.request(state, null));
  }

  handleResponse(response: object): Promise<void> | null {
    const res = response as DiscoveryResponse;
    const state = this.host.state(res.type_url);
    if (state === undefined) {
      this.host.unknownType(res.type_url);
      return null;
    }
    return processResponse(
      this.host,
      state,
      { nonce: res.nonce, version: res.version_info },
      ResourceDecoder.sotw(state.type, res.resources, res.version_info, state.reuse),
      {
        nack: (errors) => this.request(state, errors),
        apply: (decoded) => {
          state.versionInfo = res.version_info;
          state.reuse = decoded.reuse;
          return state.apply(decoded.updates, [], state.type.allResourcesRequiredInSotW);
        },
        ack: () => this.request(state, null),
      },
    );
  }

  private request(state: TypeState<unknown>, errors: readonly string[] | null): DiscoveryRequest {
    const req: DiscoveryRequest = {
      version_info: state.versionInfo,
      node: this.host.nodeForRequest(),
      resource_names: resourceNames(state),
      type_url: state.type.typeUrl,
      response_nonce: state.nonce,
    };
    if (errors !== null) req.error_detail = { code: STATUS_INVALID_ARGUMENT, message: nackMessage(errors) };
    return req;
  }
}

/**
 * A wildcard-only subscription is sent as an empty list (the legacy form every server understands,
 * and what Envoy sends for LDS/CDS) as long as no name was ever listed on this stream; wildcard
 * plus names, or a wildcard after names, needs the explicit "*" (xDS protocol, "How the client
 * specifies what resources to return").
 */
function resourceNames(state: TypeState<unknown>): string[] {
  const names = state.namedSubscriptions();
  if (state.wildcard && (names.length > 0 || state.namesSentOnStream)) names.unshift(WILDCARD);
  if (names.length > 0) state.namesSentOnStream = true;
  return names;
}
