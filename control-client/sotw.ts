/**
 * State-of-the-world ADS (StreamAggregatedResources). Every request for a type carries the full list
 * of subscribed names, the last accepted version_info and the nonce of the last response; an ACK
 * echoes the new version_info, a NACK keeps the previous one and adds error_detail.
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
    state.stats.update_attempt++;
    return decodeThenConclude(
      this.host,
      ResourceDecoder.sotw(state.type, res.resources, res.version_info, state.reuse),
      (decoded, stream) => this.conclude(state, res, decoded, stream),
    );
  }

  /** Accepts (apply, then ACK) or rejects (NACK) a decoded response. */
  private conclude(
    state: TypeState<unknown>,
    res: DiscoveryResponse,
    decoded: DecodedResponse<unknown>,
    stream: number,
  ): Promise<void> | null {
    if (this.host.streamId() !== stream) return null;
    // The nonce moves only now: a subscription change sent while this response was being decoded
    // carried the previous one, so the server did not take it for an answer to this response.
    state.nonce = res.nonce;
    if (decoded.errors.length > 0) {
      state.stats.update_rejected++;
      state.stats.last_error = nackMessage(decoded.errors);
      // NACK: the previous accepted version, this response's nonce, every error.
      this.host.send(this.request(state, decoded.errors));
      state.reject(decoded.errors);
      this.host.responseProcessed({
        typeUrl: res.type_url,
        accepted: false,
        version: res.version_info,
        nonce: res.nonce,
        errors: decoded.errors,
      });
      return null;
    }
    state.versionInfo = res.version_info;
    state.stats.update_success++;
    state.stats.version_text = res.version_info;
    state.stats.update_time = Date.now();
    state.stats.last_error = '';
    state.reuse = decoded.reuse;
    const applying = state.apply(decoded.updates, [], state.type.allResourcesRequiredInSotW);
    const ack = (): void => {
      // After a reconnect the new stream's first request already carries this version.
      if (this.host.streamId() !== stream) return;
      this.host.send(this.request(state, null));
      this.host.responseProcessed({
        typeUrl: res.type_url,
        accepted: true,
        version: res.version_info,
        nonce: res.nonce,
        errors: [],
      });
    };
    return ackAfter(applying, ack);
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
