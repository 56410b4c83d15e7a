/**
 * Incremental xDS on one stream (DeltaAggregatedResources): the server tracks, per type, which
 * version of each resource the proxy holds and sends only what changed, plus removed_resources.
 * Subscriptions are changed by deltas (resource_names_subscribe / _unsubscribe, "*" for wildcard;
 * an empty first request for LDS/CDS is the legacy wildcard). initial_resource_versions on a new
 * stream tells the server what the proxy already holds, so unchanged resources are not resent.
 * ACK and NACK carry only the nonce: the version they concern is looked up from the nonce.
 */
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  ResourceMessage,
} from '../control-client/wire.js';
import { Session, type SessionOptions, type TypeState, WILDCARD } from './session.js';
import type { Snapshot } from './snapshot.js';
import { versionOf } from './snapshot.js';
import type { Write } from './sotw-session.js';
import { CLUSTER_TYPE, PUSH_ORDER } from './type-urls.js';

/** How many recent nonces per type remember their version (older answers are too late to matter). */
const NONCE_MEMORY = 16;

interface DeltaTypeExtra {
  /** Resource name → the version the proxy holds. */
  held: Map<string, string>;
  /** Nonce → system version of that response. */
  nonces: Map<string, string>;
  /** Names subscribed explicitly but not (yet) existing: answered once with removed_resources. */
  pendingAbsent: Set<string>;
}

export class DeltaSession extends Session {
  readonly protocol = 'delta';
  private readonly extra = new Map<string, DeltaTypeExtra>();

  constructor(
    snapshot: Snapshot,
    options: SessionOptions,
    peer: string,
    private readonly write: Write,
  ) {
    super(snapshot, options, peer);
    for (const t of PUSH_ORDER)
      this.extra.set(t, { held: new Map(), nonces: new Map(), pendingAbsent: new Set() });
  }

  handle(req: DeltaDiscoveryRequest): boolean {
    this.identify(req.node);
    this.ensureViews();
    const state = this.types.get(req.type_url);
    const extra = this.extra.get(req.type_url);
    if (state === undefined || extra === undefined) return false;
    const nonce = req.response_nonce;
    const answered = nonce === '' ? undefined : extra.nonces.get(nonce);
    if (answered !== undefined) {
      if (req.error_detail !== null && req.error_detail !== undefined) {
        this.recordNack(req.type_url, state, answered, req.error_detail.message);
      } else {
        this.recordAck(state, answered);
      }
    }
    const first = !state.requested;
    if (first) {
      for (const [name, version] of Object.entries(req.initial_resource_versions ?? {}))
        extra.held.set(name, version);
    }
    const changed = this.subscribe(req, state, extra, first);
    if (changed) this.sync(req.type_url, false);
    this.afterRequest(req.type_url, answered === undefined ? '' : nonce);
    return true;
  }

  private subscribe(
    req: DeltaDiscoveryRequest,
    state: TypeState,
    extra: DeltaTypeExtra,
    first: boolean,
  ): boolean {
    const sub = req.resource_names_subscribe;
    const unsub = req.resource_names_unsubscribe;
    state.requested = true;
    if (first && Session.isWildcardRequest(req.type_url, sub, false)) state.wildcard = true;
    for (const n of sub) {
      if (n === WILDCARD) state.wildcard = true;
      else if (!state.names.has(n)) {
        state.names.add(n);
        if (!this.view(req.type_url).has(n)) extra.pendingAbsent.add(n);
      }
    }
    for (const n of unsub) {
      if (n === WILDCARD) state.wildcard = false;
      else state.names.delete(n);
    }
    // What the proxy no longer subscribes to, it forgets: no removal is sent for it.
    for (const name of [...extra.held.keys()]) {
      if (!state.wildcard && !state.names.has(name)) extra.held.delete(name);
    }
    return first || sub.length > 0 || unsub.length > 0;
  }

  protected sync(typeUrl: string, _force: boolean): string | null {
    const state = this.types.get(typeUrl)!;
    const extra = this.extra.get(typeUrl)!;
    const view = this.view(typeUrl);
    const selected = state.select(view, typeUrl);
    const selectedNames = new Set(selected.map((r) => r.name));
    const resources: ResourceMessage[] = [];
    for (const r of selected) {
      if (extra.held.get(r.name) === r.version) continue;
      resources.push({ name: r.name, version: r.version, resource: r.any, aliases: [] });
    }
    const removed: string[] = [];
    for (const name of extra.held.keys()) if (!selectedNames.has(name)) removed.push(name);
    for (const name of extra.pendingAbsent)
      if (!selectedNames.has(name) && !extra.held.has(name)) removed.push(name);
    extra.pendingAbsent.clear();
    if (resources.length === 0 && removed.length === 0) return null;
    const nonce = this.nextNonce();
    const version = versionOf(selected);
    const response: DeltaDiscoveryResponse = {
      system_version_info: version,
      resources,
      type_url: typeUrl,
      nonce,
      removed_resources: removed,
      control_plane: { identifier: this.options.identifier },
    };
    for (const r of resources) extra.held.set(r.name, r.version);
    for (const name of removed) extra.held.delete(name);
    extra.nonces.set(nonce, version);
    if (extra.nonces.size > NONCE_MEMORY) extra.nonces.delete(extra.nonces.keys().next().value as string);
    this.recordSent(typeUrl, state, version, nonce);
    this.write(response);
    return nonce;
  }

  protected clusterNamesSent(): ReadonlySet<string> {
    return new Set(this.extra.get(CLUSTER_TYPE)!.held.keys());
  }
}
