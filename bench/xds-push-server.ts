/**
 * A minimal state-of-the-world ADS server for bench/xds-scale.ts: the bench decides exactly when
 * each response is written (the reference control plane orders pushes make-before-break and waits
 * for ACKs, which is right for a mesh but hides what the bench measures: an EDS response written
 * right behind a big CDS one). Resources are encoded before the clock starts; push() writes one
 * DiscoveryResponse and returns the time it was serialized and handed to HTTP/2.
 */
import {
  Server as GrpcServer,
  ServerCredentials,
  type ServerDuplexStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { adsServiceDefinition, type DiscoveryRequest } from '../control-client/index.js';
import { encodeMessage } from '../proxy/config/binary-encode.js';
import type { ProtoObject } from '../proxy/config/proto-object.js';

export const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const EDS = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';

const MESSAGE: Readonly<Record<string, string>> = {
  [LDS]: 'envoy.config.listener.v3.Listener',
  [CDS]: 'envoy.config.cluster.v3.Cluster',
  [EDS]: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
};

/** One type's resources, encoded: what a push sends. */
export interface EncodedSet {
  readonly typeUrl: string;
  readonly version: string;
  readonly resources: ReadonlyArray<{ type_url: string; value: Buffer }>;
  readonly bytes: number;
}

export function encodeSet(typeUrl: string, version: string, protos: readonly ProtoObject[]): EncodedSet {
  const name = MESSAGE[typeUrl];
  let bytes = 0;
  const resources = protos.map((p) => {
    const value = encodeMessage(name, p);
    bytes += value.length;
    return { type_url: typeUrl, value };
  });
  return { typeUrl, version, resources, bytes };
}

type Duplex = ServerDuplexStream<DiscoveryRequest, object>;

interface Waiter {
  readonly test: (req: DiscoveryRequest) => boolean;
  readonly resolve: (atMs: number) => void;
}

export class PushServer {
  /** The last set pushed per type, answered to a (re)subscribing stream. */
  private readonly current = new Map<string, EncodedSet>();
  /** Names the proxy subscribes to, per type (its last request). */
  readonly subscribed = new Map<string, readonly string[]>();
  readonly nacks: string[] = [];
  /** The last version ACKed per type, and when. */
  private readonly acked = new Map<string, { version: string; at: number }>();
  private call: Duplex | null = null;
  private server: GrpcServer | null = null;
  private nonce = 0;
  private waiters: Waiter[] = [];
  private connectedWaiters: Array<() => void> = [];

  async listen(): Promise<number> {
    const server = new GrpcServer({ 'grpc.max_send_message_length': -1 });
    const impl: UntypedServiceImplementation = {
      StreamAggregatedResources: (call: Duplex) => this.serve(call),
      DeltaAggregatedResources: (call: Duplex) => call.destroy(new Error('the bench speaks SotW only')),
    };
    server.addService(adsServiceDefinition(), impl);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    this.server = server;
    return port;
  }

  /** Sets the type's resources; writes them now when the proxy is connected. Returns the write time. */
  push(set: EncodedSet): number {
    this.current.set(set.typeUrl, set);
    const call = this.call;
    if (call === null) return Number.NaN;
    this.nonce++;
    call.write({
      version_info: set.version,
      resources: set.resources,
      type_url: set.typeUrl,
      nonce: String(this.nonce),
    });
    // After write(): grpc-js has serialized the message and handed it to HTTP/2, so the clock
    // starts when the bytes can leave, not while this process is still encoding them.
    return performance.now();
  }

  /** Resolves (with the time) on the first request from now on that satisfies `test`. */
  nextRequest(test: (req: DiscoveryRequest) => boolean): Promise<number> {
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  /** Resolves when the proxy has ACKed `version` of `typeUrl` (at once if it already has). */
  ack(typeUrl: string, version: string): Promise<number> {
    const done = this.acked.get(typeUrl);
    if (done !== undefined && done.version === version) return Promise.resolve(done.at);
    return this.nextRequest(
      (r) =>
        r.type_url === typeUrl && r.version_info === version && r.response_nonce !== '' && !r.error_detail,
    );
  }

  whenConnected(): Promise<void> {
    if (this.call !== null) return Promise.resolve();
    return new Promise((r) => this.connectedWaiters.push(r));
  }

  close(): void {
    this.call?.end();
    this.call = null;
    this.server?.forceShutdown();
    this.server = null;
  }

  private serve(call: Duplex): void {
    this.call = call;
    for (const w of this.connectedWaiters.splice(0)) w();
    call.on('data', (req: DiscoveryRequest) => this.onRequest(req));
    const end = (): void => {
      if (this.call === call) this.call = null;
    };
    call.on('end', () => {
      end();
      call.end();
    });
    call.on('error', end);
    call.on('cancelled', end);
  }

  private onRequest(req: DiscoveryRequest): void {
    const at = performance.now();
    if (req.error_detail) this.nacks.push(`${req.type_url}: ${req.error_detail.message}`);
    else if (req.response_nonce !== '') this.acked.set(req.type_url, { version: req.version_info, at });
    this.subscribed.set(req.type_url, req.resource_names);
    // A new subscription (first request of the type) gets the current set at once.
    if (req.response_nonce === '') {
      const set = this.current.get(req.type_url);
      if (set !== undefined) this.push(set);
    }
    const keep: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.test(req)) w.resolve(at);
      else keep.push(w);
    }
    this.waiters = keep;
  }
}
