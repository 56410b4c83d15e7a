/**
 * One connected proxy (one ADS stream): what it subscribes to, what it was sent, what it ACKed or
 * NACKed, and the make-before-break sequencing of pushes when the snapshot changes. The wire
 * details of state of the world and delta live in the subclasses (sotw-session.ts,
 * delta-session.ts); both send from the same per-type views.
 *
 * Push sequencing (Envoy's xDS protocol, "eventual consistency considerations"): when the snapshot
 * changes, every type's view first becomes old ∪ new (new wins) — nothing a proxy may still use
 * disappears — and the types are sent in the order CDS, EDS, LDS, RDS, each step waiting for the
 * proxy to answer (ACK or NACK) the previous one. After CDS the step also waits until the proxy has
 * subscribed to the endpoints of the clusters just added, so a cluster is warm before a route
 * points at it. Only then do the views become exactly the new snapshot, which sends the removals:
 * listeners and routes first, then clusters and endpoints, by which time no route names them.
 * Each wait is bounded (stageTimeoutMs), so a proxy that never answers delays but never blocks.
 */
import type { NodeMessage } from '../control-client/wire.js';
import type { ResourceMap, Snapshot, SnapshotResource } from './snapshot.js';
import { unionOf } from './snapshot.js';
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  isWildcardType,
  LISTENER_TYPE,
  PUSH_ORDER,
  ROUTE_TYPE,
} from './type-urls.js';

export const WILDCARD = '*';

export interface NackRecord {
  readonly message: string;
  /** The version the proxy rejected. */
  readonly version: string;
  readonly at: string;
}

/** Per type URL, what the status page shows and the protocol needs. */
export class TypeState {
  wildcard = false;
  readonly names = new Set<string>();
  /** True once the proxy sent its first request for the type on this stream. */
  requested = false;
  versionSent = '';
  nonceSent = '';
  versionAcked = '';
  lastNack: NackRecord | null = null;
  sentAt = '';
  ackedAt = '';

  /** The resources of `view` this subscription selects (API listeners only by name). */
  select(view: ResourceMap, typeUrl: string): SnapshotResource[] {
    const out: SnapshotResource[] = [];
    if (this.wildcard) {
      for (const r of view.values()) {
        if (typeUrl === LISTENER_TYPE && r.apiListener && !this.names.has(r.name)) continue;
        out.push(r);
      }
      return out;
    }
    for (const name of this.names) {
      const r = view.get(name);
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  status(): object {
    return {
      version_sent: this.versionSent,
      nonce_sent: this.nonceSent,
      version_acked: this.versionAcked,
      sent_at: this.sentAt,
      acked_at: this.ackedAt,
      last_nack: this.lastNack,
      subscriptions: { wildcard: this.wildcard, names: [...this.names].sort() },
    };
  }
}

export interface SessionOptions {
  readonly stageTimeoutMs: number;
  readonly identifier: string;
  readonly onNack?: (nodeId: string, typeUrl: string, nack: NackRecord) => void;
}

/** Additions and changes go out in PUSH_ORDER, one step per type; removals afterwards in this order. */
const ADD_STEPS = PUSH_ORDER;
const REMOVE_ORDER = [LISTENER_TYPE, ROUTE_TYPE, CLUSTER_TYPE, ENDPOINT_TYPE];

export abstract class Session {
  nodeId = '';
  node: NodeMessage | null = null;
  readonly connectedSince = new Date().toISOString();
  protected readonly types = new Map<string, TypeState>();
  protected readonly views = new Map<string, ResourceMap>();
  private nonceCounter = 0;
  private target: Snapshot;
  /** Index into ADD_STEPS of the step being waited on; -1 when no push is in progress. */
  private step = -1;
  private waitNonce = '';
  private waitType = '';
  /** Clusters added by the CDS step whose endpoints the proxy has yet to subscribe to. */
  private awaitingEds = new Set<string>();
  private stepTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    snapshot: Snapshot,
    protected readonly options: SessionOptions,
    readonly peer: string,
  ) {
    this.target = snapshot;
    for (const t of PUSH_ORDER) this.types.set(t, new TypeState());
  }

  abstract readonly protocol: 'sotw' | 'delta';

  /** Sends what `typeUrl`'s subscription selects from its view if it differs from what was sent; returns the nonce or null. */
  protected abstract sync(typeUrl: string, force: boolean): string | null;

  protected nextNonce(): string {
    this.nonceCounter++;
    return String(this.nonceCounter);
  }

  protected view(typeUrl: string): ResourceMap {
    return this.views.get(typeUrl) ?? new Map();
  }

  /** Learns the node from the first request that carries one; views are node-specific. */
  protected identify(node: NodeMessage | null | undefined): void {
    if (this.node !== null || node === null || node === undefined) return;
    this.node = node;
    this.nodeId = node.id ?? '';
    for (const t of PUSH_ORDER) this.views.set(t, this.target.visible(t, this.nodeId));
  }

  protected ensureViews(): void {
    if (this.views.size === 0)
      for (const t of PUSH_ORDER) this.views.set(t, this.target.visible(t, this.nodeId));
  }

  /** A new snapshot: restart the push sequence from CDS with old ∪ new views. */
  setSnapshot(next: Snapshot): void {
    this.target = next;
    if (this.closed || this.views.size === 0) return;
    for (const t of PUSH_ORDER) this.views.set(t, unionOf(this.view(t), next.visible(t, this.nodeId)));
    this.clearWait();
    this.step = 0;
    this.runSteps();
  }

  /** Called after every request: an answer may complete the step being waited on. */
  protected afterRequest(typeUrl: string, answeredNonce: string): void {
    if (this.step < 0) return;
    if (typeUrl === this.waitType && answeredNonce !== '' && answeredNonce === this.waitNonce)
      this.waitNonce = '';
    if (typeUrl === ENDPOINT_TYPE) {
      const eds = this.types.get(ENDPOINT_TYPE)!;
      for (const name of this.awaitingEds)
        if (eds.wildcard || eds.names.has(name)) this.awaitingEds.delete(name);
    }
    if (this.waitNonce === '' && this.awaitingEds.size === 0) {
      this.clearWait();
      this.step++;
      this.runSteps();
    }
  }

  /** Marks the proxy's rejection of the clusters as the end of the wait for their endpoints. */
  protected cdsRejected(): void {
    if (this.waitType === CLUSTER_TYPE) this.awaitingEds.clear();
  }

  private runSteps(): void {
    while (this.step >= 0 && this.step < ADD_STEPS.length) {
      const type = ADD_STEPS[this.step];
      const before = type === CLUSTER_TYPE ? this.clusterNamesSent() : null;
      const nonce = this.types.get(type)!.requested ? this.sync(type, false) : null;
      if (nonce !== null) {
        this.waitType = type;
        this.waitNonce = nonce;
        if (before !== null) this.awaitingEds = this.newEdsClusters(before);
        this.stepTimer = setTimeout(() => this.stepTimedOut(), this.options.stageTimeoutMs);
        this.stepTimer.unref();
        return;
      }
      this.step++;
    }
    if (this.step === ADD_STEPS.length) {
      this.step = -1;
      for (const t of PUSH_ORDER) this.views.set(t, this.target.visible(t, this.nodeId));
      for (const t of REMOVE_ORDER) if (this.types.get(t)!.requested) this.sync(t, false);
    }
  }

  private stepTimedOut(): void {
    this.stepTimer = null;
    this.waitNonce = '';
    this.awaitingEds.clear();
    this.step++;
    this.runSteps();
  }

  private clearWait(): void {
    if (this.stepTimer !== null) clearTimeout(this.stepTimer);
    this.stepTimer = null;
    this.waitNonce = '';
    this.waitType = '';
    this.awaitingEds.clear();
  }

  /** Names the proxy currently holds from CDS (what its subscription selected at the last send). */
  protected abstract clusterNamesSent(): ReadonlySet<string>;

  private newEdsClusters(before: ReadonlySet<string>): Set<string> {
    const out = new Set<string>();
    const eds = this.types.get(ENDPOINT_TYPE)!;
    for (const name of this.clusterNamesSent()) {
      if (before.has(name) || eds.wildcard || eds.names.has(name)) continue;
      out.add(name);
    }
    return out;
  }

  protected recordSent(typeUrl: string, state: TypeState, version: string, nonce: string): void {
    // A newer response of the type being waited on supersedes the one awaited (its nonce is now stale).
    if (typeUrl === this.waitType && this.waitNonce !== '') this.waitNonce = nonce;
    state.versionSent = version;
    state.nonceSent = nonce;
    state.sentAt = new Date().toISOString();
  }

  protected recordAck(state: TypeState, version: string): void {
    state.versionAcked = version;
    state.ackedAt = new Date().toISOString();
  }

  protected recordNack(typeUrl: string, state: TypeState, version: string, message: string): void {
    const nack: NackRecord = { message, version, at: new Date().toISOString() };
    state.lastNack = nack;
    if (typeUrl === CLUSTER_TYPE) this.cdsRejected();
    this.options.onNack?.(this.nodeId, typeUrl, nack);
  }

  /** Applies a SotW-style full subscription list (also used for the delta wildcard rules). */
  protected static isWildcardRequest(
    typeUrl: string,
    names: readonly string[],
    namesEverSent: boolean,
  ): boolean {
    if (names.includes(WILDCARD)) return true;
    return isWildcardType(typeUrl) && names.length === 0 && !namesEverSent;
  }

  close(): void {
    this.closed = true;
    this.clearWait();
    this.step = -1;
  }

  status(): object {
    const types: Record<string, object> = {};
    for (const [t, s] of this.types) if (s.requested) types[t] = s.status();
    return {
      node_id: this.nodeId,
      node_cluster: this.node?.cluster ?? '',
      user_agent: this.node?.user_agent_name ?? '',
      protocol: this.protocol,
      peer: this.peer,
      connected_since: this.connectedSince,
      push_in_progress: this.step >= 0,
      types,
    };
  }
}
