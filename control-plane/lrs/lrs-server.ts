/**
 * The LRS sink: a gRPC service implementation of envoy.service.load_stats.v3.LoadReportingService
 * that the control plane adds to its server next to ADS:
 *
 *   const lrs = new LoadReportingServer({ intervalMs: 10_000 });
 *   grpcServer.addService(lrsServiceDefinition(), lrs.implementation());
 *   ...
 *   lrs.store.clusterWindow('backend')   // per-locality load over the window, all nodes summed
 *
 * Each stream: the proxy's first LoadStatsRequest must name its node (Node.id); the server answers
 * with the current reporting policy (which clusters, how often) and then takes every following
 * request as a report. setPolicy() pushes a new LoadStatsResponse to every connected proxy.
 */
import {
  Server as GrpcServer,
  status as GrpcStatus,
  ServerCredentials,
  type ServerDuplexStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  type LoadStatsRequest,
  type LoadStatsResponse,
  lrsServiceDefinition,
  msToDuration,
} from '../../control-client/lrs-wire.js';
import type { NodeMessage } from '../../control-client/wire.js';
import { type Clock, LoadStore } from './load-store.js';

/** What the server asks a proxy to report. */
export interface ReportingPolicy {
  /** Cluster names, or 'all' (send_all_clusters). */
  readonly clusters: readonly string[] | 'all';
  readonly intervalMs: number;
  /** Ask for per-endpoint stats too (report_endpoint_granularity). */
  readonly endpointGranularity?: boolean;
}

export const DEFAULT_REPORTING_POLICY: ReportingPolicy = { clusters: 'all', intervalMs: 10_000 };

export interface LoadReportingServerOptions {
  readonly policy?: ReportingPolicy;
  /** Per-node override of the policy (e.g. only the clusters a node's sidecar routes to). */
  readonly policyFor?: (node: NodeMessage) => ReportingPolicy | undefined;
  /** The aggregation window (default 30 s). */
  readonly windowMs?: number;
  readonly now?: Clock;
}

/** One request as the server saw it, for observers (tests, logs, the balancing loop). */
export interface ReceivedLoadRequest {
  readonly nodeId: string;
  /** The first request of its stream (the introduction; normally without stats). */
  readonly first: boolean;
  readonly request: LoadStatsRequest;
}

export type LoadRequestListener = (received: ReceivedLoadRequest) => void;

type LrsCall = ServerDuplexStream<LoadStatsRequest, LoadStatsResponse>;

class LrsStream {
  nodeId = '';
  node: NodeMessage | null = null;
  closed = false;

  constructor(readonly call: LrsCall) {}
}

export class LoadReportingServer {
  readonly store: LoadStore;
  private policy: ReportingPolicy;
  private readonly streams = new Set<LrsStream>();
  private readonly listeners = new Set<LoadRequestListener>();
  private server: GrpcServer | null = null;

  constructor(private readonly options: LoadReportingServerOptions = {}) {
    this.policy = checkPolicy(options.policy ?? DEFAULT_REPORTING_POLICY);
    this.store = new LoadStore(options.windowMs, options.now);
  }

  static serviceDefinition(): ServiceDefinition {
    return lrsServiceDefinition();
  }

  /** Add to a grpc.Server with `server.addService(LoadReportingServer.serviceDefinition(), this.implementation())`. */
  implementation(): UntypedServiceImplementation {
    return { StreamLoadStats: (call: LrsCall) => this.serve(call) };
  }

  /** Replaces the default policy and sends it to every connected proxy (without a per-node override). */
  setPolicy(policy: ReportingPolicy): void {
    this.policy = checkPolicy(policy);
    for (const s of this.streams) if (s.node !== null) this.respond(s);
  }

  get currentPolicy(): ReportingPolicy {
    return this.policy;
  }

  /** Node ids with an open stream. */
  connectedNodes(): string[] {
    const out: string[] = [];
    for (const s of this.streams) if (s.node !== null) out.push(s.nodeId);
    return out.sort();
  }

  /** JSON for a status endpoint: the policy, who is connected, and each node's totals. */
  status(): object {
    const p = this.policy;
    return {
      policy: {
        clusters: p.clusters === 'all' ? '*' : [...p.clusters],
        interval_ms: p.intervalMs,
        endpoint_granularity: p.endpointGranularity ?? false,
      },
      window_ms: this.store.windowMs,
      connected: this.connectedNodes(),
      nodes: this.store.status(),
    };
  }

  /** Called for every request received (after it is aggregated); returns the unsubscribe. */
  onRequest(listener: LoadRequestListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Serves LRS on its own gRPC server (when it is not added to the control plane's); resolves with
   * the bound port (0 picks a free one).
   */
  async listen(address: string, port: number): Promise<number> {
    if (this.server !== null) throw new Error('already listening');
    const server = new GrpcServer();
    server.addService(lrsServiceDefinition(), this.implementation());
    const host = address.includes(':') ? `[${address}]` : address;
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, p) =>
        err === null ? resolve(p) : reject(err),
      );
    });
    this.server = server;
    return bound;
  }

  /** Ends every stream (the proxies will reconnect) and stops the server listen() started. */
  close(): void {
    for (const s of [...this.streams])
      this.end(s, GrpcStatus.UNAVAILABLE, 'load reporting server shutting down');
    const server = this.server;
    this.server = null;
    server?.forceShutdown();
  }

  private serve(call: LrsCall): void {
    const s = new LrsStream(call);
    this.streams.add(s);
    call.on('data', (req: LoadStatsRequest) => this.onData(s, req));
    const done = (): void => this.finish(s);
    call.on('end', () => {
      // The proxy half-closed: finish our side too.
      if (!s.closed) call.end();
      done();
    });
    call.on('error', done);
    call.on('cancelled', done);
    call.on('close', done);
  }

  private onData(s: LrsStream, req: LoadStatsRequest): void {
    if (s.closed) return;
    let first = false;
    if (s.node === null) {
      const id = req.node?.id ?? '';
      if (id === '') {
        this.end(s, GrpcStatus.INVALID_ARGUMENT, 'the first LoadStatsRequest must carry node.id');
        return;
      }
      s.node = req.node ?? null;
      s.nodeId = id;
      first = true;
      this.store.nodeConnected(id);
    }
    this.store.ingest(s.nodeId, req.cluster_stats);
    if (first) this.respond(s);
    for (const l of this.listeners) {
      try {
        l({ nodeId: s.nodeId, first, request: req });
      } catch {
        // An observer's failure must not break the stream.
      }
    }
  }

  private respond(s: LrsStream): void {
    const custom = s.node !== null ? this.options.policyFor?.(s.node) : undefined;
    // A per-node policy with no usable interval would make the proxy report in a busy loop.
    const p = custom !== undefined && custom.intervalMs > 0 ? custom : this.policy;
    const response: LoadStatsResponse = {
      clusters: p.clusters === 'all' ? [] : [...p.clusters],
      send_all_clusters: p.clusters === 'all',
      load_reporting_interval: msToDuration(p.intervalMs),
      report_endpoint_granularity: p.endpointGranularity ?? false,
    };
    s.call.write(response);
  }

  private end(s: LrsStream, code: GrpcStatus, details: string): void {
    if (s.closed) return;
    s.call.emit('error', { code, details });
    this.finish(s);
  }

  private finish(s: LrsStream): void {
    if (!this.streams.delete(s)) return;
    s.closed = true;
    // Another stream of the same node (a reconnect racing the old one) keeps it connected.
    if (s.node !== null && ![...this.streams].some((o) => o.nodeId === s.nodeId)) {
      this.store.nodeDisconnected(s.nodeId);
    }
  }
}

function checkPolicy(p: ReportingPolicy): ReportingPolicy {
  if (!(p.intervalMs > 0)) throw new RangeError('reporting intervalMs must be > 0');
  return p;
}
