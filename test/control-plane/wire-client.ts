/**
 * A hand-driven ADS stream for wire-level tests: send exactly the requests a test wants (stale
 * nonces, NACKs, initial_resource_versions) and read the responses one by one.
 */
import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition } from '../../control-client/index.js';
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DiscoveryRequest,
  DiscoveryResponse,
} from '../../control-client/wire.js';

const AdsClient = grpc.makeClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService');

export class WireStream<Req, Res> {
  private readonly queue: Res[] = [];
  private waiter: (() => void) | null = null;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Req, Res>;

  constructor(port: number, method: 'StreamAggregatedResources' | 'DeltaAggregatedResources') {
    this.client = new AdsClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const open = (this.client as unknown as Record<string, () => grpc.ClientDuplexStream<Req, Res>>)[method];
    this.call = open.call(this.client);
    this.call.on('data', (m: Res) => {
      this.queue.push(m);
      this.waiter?.();
    });
    this.call.on('error', () => {});
  }

  send(req: Partial<Req>): void {
    this.call.write(req as Req);
  }

  /** The next response, waiting at most `timeoutMs`. */
  async next(timeoutMs = 3000): Promise<Res> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no response within the deadline');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.queue.shift()!;
  }

  pending(): number {
    return this.queue.length;
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

export type SotwStream = WireStream<DiscoveryRequest, DiscoveryResponse>;
export type DeltaStream = WireStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

export function sotwStream(port: number): SotwStream {
  return new WireStream(port, 'StreamAggregatedResources');
}

export function deltaStream(port: number): DeltaStream {
  return new WireStream(port, 'DeltaAggregatedResources');
}
