/**
 * The xDS client: one ADS stream (state of the world or delta) to one management server, shared by
 * every resource type and watcher of this instance. No globals: each call site builds its own.
 *
 *   const client = new XdsClient({ target: '127.0.0.1:18000', node: { id: 'sidecar-1' } });
 *   const cancel = client.watch(clusterType, '*', { onUpdate, onDoesNotExist });
 *   await client.whenInitialFetchDone(clusterType.typeUrl);
 *   ...
 *   client.close();
 *
 * The stream opens with the first watch and is kept open until close(); when it ends for any reason
 * it is re-established after an exponential backoff, and every subscription is sent again with the
 * last accepted versions. Accepted resources survive a broken stream, so the proxy keeps serving.
 */
import {
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientDuplexStream,
  credentials as grpcCredentials,
  Metadata,
  makeGenericClientConstructor,
  type StatusObject,
} from '@grpc/grpc-js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { messageOf } from './decode.js';
import { DeltaProtocol } from './delta.js';
import { type NodeIdentity, nodeMessage } from './node.js';
import type { AdsProtocol, ProtocolHost, ResponseOutcome } from './protocol.js';
import type { ResourceType, ResourceWatcher } from './resource-type.js';
import { type ResourceSnapshot, restoreSnapshot, takeSnapshot } from './snapshot.js';
import { SotwProtocol } from './sotw.js';
import { type ControlPlaneStats, newControlPlaneStats, type XdsTypeStats } from './stats.js';
import { type CachedResource, TypeState } from './type-state.js';
import { adsServiceDefinition, type NodeMessage } from './wire.js';

export type ApiType = 'GRPC' | 'DELTA_GRPC';

/** Envoy's default initial_fetch_timeout (config.core.v3.ConfigSource). */
export const DEFAULT_INITIAL_FETCH_TIMEOUT_MS = 15_000;

export interface XdsClientOptions {
  /** The management server, a gRPC target (`host:port`, `dns:///name:port`, `unix:/path`). */
  readonly target: string;
  readonly node: NodeIdentity;
  /** State of the world (GRPC, the default) or incremental (DELTA_GRPC). */
  readonly api_type?: ApiType;
  /** Defaults to insecure (plaintext), as a sidecar's control-plane cluster usually is on loopback. */
  readonly credentials?: ChannelCredentials;
  readonly channelOptions?: ChannelOptions;
  /** Extra request metadata on the stream (the bootstrap's grpc_service initial_metadata). */
  readonly initialMetadata?: ReadonlyArray<readonly [string, string]>;
  /** Per subscribed name; 0 disables the timer. Default 15 s. */
  readonly initialFetchTimeoutMs?: number;
  readonly backoff?: BackoffOptions;
  /**
   * Envoy's set_node_on_first_message_only: false (Envoy's default) sends the node in every
   * request; true sends it only in the first request of each stream.
   */
  readonly setNodeOnFirstMessageOnly?: boolean;
  /**
   * Keep each accepted resource's bytes so snapshot() can persist them (off by default: it holds
   * the serialized form of every resource in memory next to its translated value).
   */
  readonly retainResourceBytes?: boolean;
  /** user_agent_version when the node does not give one. */
  readonly version?: string;
  readonly hooks?: XdsClientHooks;
}

/** Observability callbacks; all optional, all called synchronously on the client's event loop turn. */
export interface XdsClientHooks {
  onConnectionStateChange?(connected: boolean): void;
  onResponse?(outcome: ResponseOutcome): void;
  /** The stream ended; the client will retry after `retryInMs`. */
  onStreamClosed?(status: { code: number; details: string }, retryInMs: number): void;
  /** Something unexpected that the client survived (a watcher threw, an unknown type URL...). */
  onWarning?(message: string): void;
}

type AnyStream = ClientDuplexStream<object, object>;

export class XdsClient {
  readonly controlPlane: ControlPlaneStats = newControlPlaneStats();
  private readonly types = new Map<string, TypeState<unknown>>();
  private readonly protocol: AdsProtocol;
  private readonly grpcClient: Client;
  private readonly backoff: Backoff;
  private readonly node: NodeMessage;
  private readonly initialFetchTimeoutMs: number;
  private readonly hooks: XdsClientHooks;
  private call: AnyStream | null = null;
  private nodeSentOnStream = false;
  private started = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private flushScheduled = false;
  /** Counts streams: a response still being processed when it changed is dropped (see ProtocolHost). */
  private streamSeq = 0;
  /**
   * Responses waiting while an earlier one is still processed (in slices, or applied by a watcher
   * that returned a promise). One lane in stream order for most types; a lane of its own for each
   * type that is independentOfOtherTypes (EDS), so it never waits behind a big CDS.
   */
  private readonly lanes = new Map<string, object[]>();
  private readonly busyLanes = new Set<string>();

  constructor(private readonly options: XdsClientOptions) {
    this.hooks = options.hooks ?? {};
    this.initialFetchTimeoutMs = options.initialFetchTimeoutMs ?? DEFAULT_INITIAL_FETCH_TIMEOUT_MS;
    if (!(this.initialFetchTimeoutMs >= 0)) throw new RangeError('initialFetchTimeoutMs must be >= 0');
    this.backoff = new Backoff(options.backoff);
    this.node = nodeMessage(options.node, options.version ?? '');
    const host: ProtocolHost = {
      state: (typeUrl) => this.types.get(typeUrl),
      send: (request) => this.send(request),
      nodeForRequest: () => this.nodeForRequest(),
      unknownType: (typeUrl) => this.warn(`response for unsubscribed type ${typeUrl} ignored`),
      responseProcessed: (outcome) => this.hooks.onResponse?.(outcome),
      streamId: () => this.streamSeq,
    };
    this.protocol = options.api_type === 'DELTA_GRPC' ? new DeltaProtocol(host) : new SotwProtocol(host);
    const Ctor = makeGenericClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService');
    this.grpcClient = new Ctor(
      options.target,
      options.credentials ?? grpcCredentials.createInsecure(),
      // xDS responses for a large mesh (10,000 clusters, 100,000 endpoints) run far past gRPC's
      // default 4 MB receive limit; like Envoy, accept whatever the management server sends.
      // A wide HTTP/2 window lets a multi-megabyte response arrive without a WINDOW_UPDATE round
      // trip every 64 KB (Envoy's own default windows are 256 MiB).
      {
        'grpc.max_receive_message_length': -1,
        'grpc-node.flow_control_window': 16 * 1024 * 1024,
        ...options.channelOptions,
      },
    );
  }

  get apiType(): ApiType {
    return this.protocol.method === 'DeltaAggregatedResources' ? 'DELTA_GRPC' : 'GRPC';
  }

  get connected(): boolean {
    return this.controlPlane.connected_state === 1;
  }

  /**
   * Watches one resource by name, or every resource of the type with '*' (LDS, CDS). The first
   * watch of a name subscribes to it on the stream; cancelling the last one unsubscribes. A watcher
   * added to a name already known gets its current value (or its absence) on the next microtask.
   */
  watch<T>(type: ResourceType<T, unknown>, name: string, watcher: ResourceWatcher<T>): () => void {
    if (this.closed) throw new Error('XdsClient is closed');
    const state = this.stateFor(type);
    if (state.addWatcher(name, watcher, (n) => state.fetchTimedOut(n))) this.markDirty(state);
    this.ensureStarted();
    let cancelled = false;
    return () => {
      if (cancelled || this.closed) return;
      cancelled = true;
      if (state.removeWatcher(name, watcher)) this.markDirty(state);
    };
  }

  /**
   * Resolves once every subscription of the type has had its first answer: a value, a deletion, a
   * rejected response, or initial_fetch_timeout. The proxy's warming waits on this.
   */
  whenInitialFetchDone(typeUrl: string): Promise<void> {
    const state = this.types.get(typeUrl);
    if (state === undefined) return Promise.reject(new Error(`no subscription for ${typeUrl}`));
    return state.whenInitialFetchDone();
  }

  isInitialFetchDone(typeUrl: string): boolean {
    return this.types.get(typeUrl)?.isInitialFetchDone ?? false;
  }

  /** Live stats of one type (the same object each call; read it, do not write it). */
  typeStats(typeUrl: string): XdsTypeStats | undefined {
    return this.types.get(typeUrl)?.stats;
  }

  /** Every type this client has been asked for, with its stats. */
  allTypeStats(): ReadonlyMap<string, XdsTypeStats> {
    const out = new Map<string, XdsTypeStats>();
    for (const [url, s] of this.types) out.set(url, s.stats);
    return out;
  }

  /** The accepted resources of a type that someone watches: name → value and version (config_dump). */
  resources<T>(type: ResourceType<T, unknown>): ReadonlyMap<string, CachedResource<T>> {
    const state = this.types.get(type.typeUrl) as TypeState<T> | undefined;
    return state?.cache ?? new Map();
  }

  /**
   * The accepted resources of a type as received, for persisting (needs retainResourceBytes).
   * Undefined for a type nobody has watched.
   */
  snapshot(typeUrl: string): ResourceSnapshot | undefined {
    if (!this.options.retainResourceBytes) throw new Error('snapshot() needs retainResourceBytes: true');
    const state = this.types.get(typeUrl);
    return state === undefined ? undefined : takeSnapshot(state);
  }

  /**
   * Startup from a persisted snapshot while the control plane may be unreachable: watch first,
   * then restore in the same turn (before the stream's first request, so the restored versions
   * are what the server is told). Resources go through decode and validate and reach watchers as
   * an accepted response would; subscriptions they satisfy count as fetched. Returns the errors
   * (nothing is restored if there are any).
   */
  restore<T>(type: ResourceType<T, unknown>, snapshot: ResourceSnapshot): string[] {
    if (this.closed) return ['XdsClient is closed'];
    return restoreSnapshot(this.stateFor(type) as TypeState<unknown>, snapshot);
  }

  /** Closes the stream and the channel and cancels every timer. Watchers hear nothing more. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    for (const state of this.types.values()) state.dispose();
    const call = this.call;
    this.call = null;
    this.streamSeq++;
    this.lanes.clear();
    call?.cancel();
    this.grpcClient.close();
    this.setConnected(false);
  }

  private stateFor<T>(type: ResourceType<T, unknown>): TypeState<T> {
    let state = this.types.get(type.typeUrl) as TypeState<T> | undefined;
    if (state === undefined) {
      state = new TypeState<T>(
        type,
        this.initialFetchTimeoutMs,
        (err) => this.warn(`${type.typeUrl} watcher threw: ${messageOf(err)}`),
        this.options.retainResourceBytes ?? false,
      );
      this.types.set(type.typeUrl, state as TypeState<unknown>);
    } else if (state.type !== type) {
      throw new Error(`a different ResourceType is already registered for ${type.typeUrl}`);
    }
    return state;
  }

  private ensureStarted(): void {
    if (this.started) return;
    this.started = true;
    // Deferred so the watches made in the same turn go out in the first requests of the stream.
    queueMicrotask(() => {
      if (!this.closed && this.call === null && this.retryTimer === null) this.startStream();
    });
  }

  private startStream(): void {
    this.retryTimer = null;
    this.controlPlane.stream_attempts++;
    const metadata = new Metadata();
    for (const [k, v] of this.options.initialMetadata ?? []) metadata.add(k, v);
    const callOptions: CallOptions = {};
    const grpcMethod = (
      this.grpcClient as unknown as Record<string, (m: Metadata, o: CallOptions) => AnyStream>
    )[this.protocol.method];
    const call = grpcMethod.call(this.grpcClient, metadata, callOptions);
    this.call = call;
    this.streamSeq++;
    // What the old stream sent and we had not processed yet is moot: the new stream asks again.
    this.lanes.clear();
    this.nodeSentOnStream = false;
    if (this.protocol instanceof DeltaProtocol) this.protocol.streamStarted();
    call.on('data', (msg: object) => this.onData(call, msg));
    // 'error' always accompanies a non-OK status; the status handler does the work.
    call.on('error', () => {});
    call.on('status', (status: StatusObject) => this.onStreamEnd(call, status));
    for (const state of this.types.values()) {
      state.pruneUninterested();
      state.nonce = '';
      state.sentOnStream = false;
      state.sentNames.clear();
      state.namesSentOnStream = false;
      state.dirty = false;
      this.protocol.sendSubscriptions(state);
    }
  }

  private onData(call: AnyStream, msg: object): void {
    if (call !== this.call) return;
    this.controlPlane.responses_received++;
    const identifier = (msg as { control_plane?: { identifier?: string } | null }).control_plane?.identifier;
    if (identifier) this.controlPlane.identifier = identifier;
    // The stream works: the next failure starts the backoff from the beginning again.
    this.backoff.reset();
    this.setConnected(true);
    const typeUrl = (msg as { type_url?: string }).type_url ?? '';
    const lane = this.types.get(typeUrl)?.type.independentOfOtherTypes === true ? typeUrl : '';
    let queue = this.lanes.get(lane);
    if (queue === undefined) {
      queue = [];
      this.lanes.set(lane, queue);
    }
    queue.push(msg);
    if (!this.busyLanes.has(lane)) this.drainLane(lane);
  }

  /** Processes a lane's responses in order, synchronously until one needs more than a slice. */
  private drainLane(lane: string): void {
    for (;;) {
      const queue = this.lanes.get(lane);
      const msg = queue?.shift();
      if (msg === undefined) return;
      let pending: Promise<void> | null = null;
      try {
        pending = this.protocol.handleResponse(msg);
      } catch (err) {
        this.warn(`failed to process a response: ${messageOf(err)}`);
      }
      if (pending !== null) {
        this.busyLanes.add(lane);
        pending
          .catch((err: unknown) => this.warn(`failed to process a response: ${messageOf(err)}`))
          .finally(() => {
            this.busyLanes.delete(lane);
            if (!this.closed) this.drainLane(lane);
          });
        return;
      }
    }
  }

  private onStreamEnd(call: AnyStream, status: StatusObject): void {
    if (call !== this.call) return;
    this.call = null;
    this.streamSeq++;
    this.lanes.clear();
    if (this.closed) return;
    // Half-close our side too, so the old HTTP/2 stream is released.
    call.end();
    this.controlPlane.stream_failures++;
    for (const state of this.types.values()) if (state.subscriptions.size > 0) state.stats.update_failure++;
    this.setConnected(false);
    const delay = this.backoff.next();
    this.hooks.onStreamClosed?.({ code: status.code, details: status.details }, delay);
    this.retryTimer = setTimeout(() => this.startStream(), delay);
  }

  private markDirty(state: TypeState<unknown>): void {
    state.dirty = true;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Batches the watch changes of one turn (e.g. every RDS name an LDS update references) into one
    // request per type, sent after the ACK of the response that caused them.
    queueMicrotask(() => {
      this.flushScheduled = false;
      if (this.closed) return;
      for (const s of this.types.values()) {
        if (!s.dirty) continue;
        s.dirty = false;
        s.pruneUninterested();
        // With no stream, the next one sends every subscription anyway.
        if (this.call !== null) this.protocol.sendSubscriptions(s);
      }
    });
  }

  private send(request: object): void {
    const call = this.call;
    if (call === null) return;
    call.write(request);
  }

  private nodeForRequest(): NodeMessage | null {
    if (this.options.setNodeOnFirstMessageOnly && this.nodeSentOnStream) return null;
    this.nodeSentOnStream = true;
    return this.node;
  }

  private setConnected(connected: boolean): void {
    const v = connected ? 1 : 0;
    if (this.controlPlane.connected_state === v) return;
    this.controlPlane.connected_state = v;
    this.hooks.onConnectionStateChange?.(connected);
  }

  private warn(message: string): void {
    this.hooks.onWarning?.(message);
  }
}
