/**
 * State of the world on one stream (StreamAggregatedResources): every response for a type carries
 * all the resources the subscription selects, version_info is the hash of that set, and a request
 * whose response_nonce is not the latest one sent for its type is stale and ignored (the proxy will
 * answer the newer response with its full subscription anyway).
 */
import type { DiscoveryRequest, DiscoveryResponse } from '../control-client/wire.js';
import { Session, type SessionOptions, type TypeState } from './session.js';
import type { Snapshot } from './snapshot.js';
import { versionOf } from './snapshot.js';
import { CLUSTER_TYPE, PUSH_ORDER } from './type-urls.js';

export type Write = (message: object) => void;

interface SotwTypeExtra {
  /** version_info of the last response; '' before the first. */
  lastVersion: string;
  namesEverSent: boolean;
  sentNames: Set<string>;
}

export class SotwSession extends Session {
  readonly protocol = 'sotw';
  private readonly extra = new Map<string, SotwTypeExtra>();

  constructor(
    snapshot: Snapshot,
    options: SessionOptions,
    peer: string,
    private readonly write: Write,
  ) {
    super(snapshot, options, peer);
    for (const t of PUSH_ORDER)
      this.extra.set(t, { lastVersion: '', namesEverSent: false, sentNames: new Set() });
  }

  /** Returns false for a request of a type this server does not serve (it is ignored). */
  handle(req: DiscoveryRequest): boolean {
    this.identify(req.node);
    this.ensureViews();
    const state = this.types.get(req.type_url);
    const extra = this.extra.get(req.type_url);
    if (state === undefined || extra === undefined) return false;
    const nonce = req.response_nonce;
    if (nonce !== '' && nonce !== state.nonceSent) return true; // stale
    if (nonce !== '') {
      if (req.error_detail !== null && req.error_detail !== undefined) {
        this.recordNack(req.type_url, state, state.versionSent, req.error_detail.message);
      } else {
        this.recordAck(state, req.version_info);
      }
    }
    const changed = this.subscribe(req.type_url, state, extra, req.resource_names);
    // The first request of a type and every change of subscription get an answer, even an
    // unchanged or empty one: it is how a proxy learns that what it asked for is (not) there.
    if (changed) this.sync(req.type_url, true);
    this.afterRequest(req.type_url, nonce);
    return true;
  }

  private subscribe(
    typeUrl: string,
    state: TypeState,
    extra: SotwTypeExtra,
    names: readonly string[],
  ): boolean {
    const wildcard = Session.isWildcardRequest(typeUrl, names, extra.namesEverSent);
    if (names.length > 0) extra.namesEverSent = true;
    const explicit = names.filter((n) => n !== '*');
    const same =
      state.requested &&
      wildcard === state.wildcard &&
      explicit.length === state.names.size &&
      explicit.every((n) => state.names.has(n));
    state.requested = true;
    if (same) return false;
    state.wildcard = wildcard;
    state.names.clear();
    for (const n of explicit) state.names.add(n);
    return true;
  }

  protected sync(typeUrl: string, force: boolean): string | null {
    const state = this.types.get(typeUrl)!;
    const extra = this.extra.get(typeUrl)!;
    const selected = state.select(this.view(typeUrl), typeUrl);
    const version = versionOf(selected);
    if (!force && version === extra.lastVersion) return null;
    const nonce = this.nextNonce();
    const response: DiscoveryResponse = {
      version_info: version,
      resources: selected.map((r) => r.any),
      canary: false,
      type_url: typeUrl,
      nonce,
      control_plane: { identifier: this.options.identifier },
    };
    extra.lastVersion = version;
    extra.sentNames = new Set(selected.map((r) => r.name));
    this.recordSent(typeUrl, state, version, nonce);
    this.write(response);
    return nonce;
  }

  protected clusterNamesSent(): ReadonlySet<string> {
    return this.extra.get(CLUSTER_TYPE)!.sentNames;
  }
}
