/**
 * The ADS server: one gRPC service (envoy.service.discovery.v3.AggregatedDiscoveryService) with
 * both streams, one Session per stream, all serving from the current Snapshot. setSnapshot() hands
 * a new snapshot to every session, each of which sequences its own pushes (session.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition } from '../control-client/index.js';
import type { DeltaDiscoveryRequest, DiscoveryRequest } from '../control-client/wire.js';
import { DeltaSession } from './delta-session.js';
import type { NackRecord, Session, SessionOptions } from './session.js';
import { Snapshot } from './snapshot.js';
import { SotwSession } from './sotw-session.js';
import { PUSH_ORDER } from './type-urls.js';

export interface AdsServerOptions {
  /** How long one push step waits for the proxy's ACK/NACK before going on (default 5 s). */
  readonly stageTimeoutMs?: number;
  /** ControlPlane.identifier sent in every response. */
  readonly identifier?: string;
  readonly onNack?: (nodeId: string, typeUrl: string, nack: NackRecord) => void;
  readonly onStream?: (event: 'open' | 'close', session: Session) => void;
  /**
   * More gRPC services served on the same server and port as ADS (e.g. load reporting, which
   * proxies find through the same cluster as ADS, and `lrs_server: {self: {}}` means this server).
   */
  readonly extraServices?: readonly ExtraGrpcService[];
}

export interface ExtraGrpcService {
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

export class AdsServer {
  private current: Snapshot;
  private readonly sessions = new Set<Session>();
  private readonly sessionOptions: SessionOptions;
  private server: grpc.Server | null = null;

  constructor(
    snapshot: Snapshot = Snapshot.empty(),
    private readonly options: AdsServerOptions = {},
  ) {
    this.current = snapshot;
    this.sessionOptions = {
      stageTimeoutMs: options.stageTimeoutMs ?? 5000,
      identifier: options.identifier ?? 'remora-control-plane',
      onNack: options.onNack,
    };
  }

  get snapshot(): Snapshot {
    return this.current;
  }

  setSnapshot(next: Snapshot): void {
    this.current = next;
    for (const s of this.sessions) s.setSnapshot(next);
  }

  /** The service implementation, for callers that run their own grpc.Server. */
  implementation(): grpc.UntypedServiceImplementation {
    return {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, object>) => {
        const session = new SotwSession(this.current, this.sessionOptions, call.getPeer(), (m) =>
          call.write(m),
        );
        this.serve(call, session, (req) => session.handle(req));
      },
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, object>) => {
        const session = new DeltaSession(this.current, this.sessionOptions, call.getPeer(), (m) =>
          call.write(m),
        );
        this.serve(call, session, (req) => session.handle(req));
      },
    };
  }

  private serve<Req>(
    call: grpc.ServerDuplexStream<Req, object>,
    session: Session,
    handle: (req: Req) => void,
  ): void {
    this.sessions.add(session);
    this.options.onStream?.('open', session);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      session.close();
      this.sessions.delete(session);
      this.options.onStream?.('close', session);
    };
    call.on('data', (req: Req) => {
      try {
        handle(req);
      } catch (e) {
        // A request the session cannot handle ends this stream, never the server.
        finish();
        call.destroy(e as Error);
      }
    });
    call.on('end', () => {
      finish();
      call.end();
    });
    call.on('error', finish);
    call.on('cancelled', finish);
    call.on('close', finish);
  }

  /** Binds the gRPC server; resolves with the bound port (0 picks a free one). */
  async listen(address: string, port: number): Promise<number> {
    const server = new grpc.Server({
      'grpc.max_send_message_length': -1,
      'grpc.max_receive_message_length': -1,
    });
    server.addService(adsServiceDefinition(), this.implementation());
    for (const s of this.options.extraServices ?? []) server.addService(s.definition, s.implementation);
    const host = address.includes(':') ? `[${address}]` : address;
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
        err === null ? resolve(p) : reject(err),
      );
    });
    this.server = server;
    return bound;
  }

  /** Every connected proxy by node id (a node may hold several streams), per type URL. */
  status(): object {
    const proxies: Record<string, object[]> = {};
    for (const s of this.sessions) {
      const id = s.nodeId === '' ? '(unidentified)' : s.nodeId;
      proxies[id] ??= [];
      proxies[id].push(s.status());
    }
    const versions: Record<string, string> = {};
    for (const t of PUSH_ORDER) versions[t] = this.current.typeVersion(t);
    return { snapshot_versions: versions, proxies };
  }

  connectedCount(): number {
    return this.sessions.size;
  }

  /** Stops accepting, ends every stream. */
  async close(): Promise<void> {
    for (const s of this.sessions) s.close();
    const server = this.server;
    this.server = null;
    if (server === null) return;
    server.forceShutdown();
  }
}
