/**
 * A real gRPC server implementing the AggregatedDiscoveryService by hand, for the client tests: it
 * records every request of every stream and lets the test write responses, so a test reads the
 * exact wire conversation. Both SotW and delta methods are served.
 */
import {
  Server as GrpcServer,
  type Server,
  ServerCredentials,
  type ServerDuplexStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { adsServiceDefinition } from '../../control-client/index.js';

type Duplex = ServerDuplexStream<object, object>;

/** One ADS stream as the server sees it. */
export class TestStream {
  readonly requests: object[] = [];
  private read = 0;
  private waiter: (() => void) | null = null;
  ended = false;

  constructor(
    readonly method: string,
    readonly call: Duplex,
  ) {
    call.on('data', (msg: object) => {
      this.requests.push(msg);
      this.wake();
    });
    const done = () => {
      this.ended = true;
      this.wake();
    };
    call.on('end', done);
    call.on('error', done);
    call.on('cancelled', done);
  }

  /** The next request not yet consumed, in arrival order; fails after `timeoutMs`. */
  async next<T extends object>(timeoutMs = 3000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.read >= this.requests.length) {
      const left = deadline - Date.now();
      if (left <= 0 || this.ended) throw new Error(`no request within ${timeoutMs} ms on ${this.method}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.requests[this.read++] as T;
  }

  /** Asserts silence: resolves to the request if one arrives within `ms`, else null. */
  async maybeNext<T extends object>(ms: number): Promise<T | null> {
    try {
      return await this.next<T>(ms);
    } catch {
      return null;
    }
  }

  send(msg: object): void {
    this.call.write(msg);
  }

  private wake(): void {
    this.waiter?.();
  }
}

export class AdsTestServer {
  readonly streams: TestStream[] = [];
  private streamWaiter: (() => void) | null = null;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(port = 0): Promise<AdsTestServer> {
    const server = new GrpcServer();
    let self: AdsTestServer | null = null;
    const onStream = (method: string) => (call: Duplex) => {
      self?.addStream(new TestStream(method, call));
    };
    const impl: UntypedServiceImplementation = {
      StreamAggregatedResources: onStream('StreamAggregatedResources'),
      DeltaAggregatedResources: onStream('DeltaAggregatedResources'),
    };
    server.addService(adsServiceDefinition(), impl);
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    self = new AdsTestServer(server, bound);
    return self;
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The n-th stream (0-based) once it exists. */
  async stream(n: number, timeoutMs = 5000): Promise<TestStream> {
    const deadline = Date.now() + timeoutMs;
    while (this.streams.length <= n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`stream ${n} not opened within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.streamWaiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.streamWaiter = null;
    }
    return this.streams[n];
  }

  /** Kills the server and every connection at once, as a crashed control plane would. */
  kill(): void {
    this.server.forceShutdown();
  }

  private addStream(s: TestStream): void {
    this.streams.push(s);
    this.streamWaiter?.();
  }
}

/** Polls `cond` until true; fails after `timeoutMs` (bounded in time and iterations). */
export async function until(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000; i++) {
    if (cond()) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${what} not met within ${timeoutMs} ms`);
}
