import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { StatsStore } from '../../proxy/observability/stats.js';
import { ClusterStats } from '../../proxy/upstream/cluster-stats.js';
import { Host } from '../../proxy/upstream/host.js';
import type {
  ConnectionPool,
  UpstreamFailure,
  UpstreamRequestHead,
  UpstreamResponseHandler,
} from '../../proxy/upstream/upstream-stream.js';

/** Records everything a pool delivers; `done` settles on end, error or upgrade. */
export class Recorder implements UpstreamResponseHandler {
  status = 0;
  headers: IncomingHttpHeaders = {};
  chunks: Buffer[] = [];
  bytes = 0;
  trailers: IncomingHttpHeaders | null = null;
  ended = false;
  error: { reason: UpstreamFailure; detail: string } | null = null;
  upgraded: { headers: IncomingHttpHeaders; socket: Duplex; head: Buffer } | null = null;
  events: string[] = [];
  readonly done: Promise<void>;
  private settle!: () => void;
  onDataHook: ((chunk: Buffer) => void) | null = null;
  onHeadersHook: (() => void) | null = null;

  constructor() {
    this.done = new Promise((r) => {
      this.settle = r;
    });
  }
  get body(): string {
    return Buffer.concat(this.chunks).toString();
  }
  onHeaders(status: number, headers: IncomingHttpHeaders): void {
    this.events.push('headers');
    this.status = status;
    this.headers = headers;
    this.onHeadersHook?.();
  }
  onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    this.onDataHook?.(chunk);
  }
  onTrailers(trailers: IncomingHttpHeaders): void {
    this.events.push('trailers');
    this.trailers = trailers;
  }
  onEnd(): void {
    this.events.push('end');
    this.ended = true;
    this.settle();
  }
  onError(reason: UpstreamFailure, detail: string): void {
    this.events.push(`error:${reason}`);
    this.error = { reason, detail };
    this.settle();
  }
  onUpgrade(headers: IncomingHttpHeaders, socket: Duplex, head: Buffer): void {
    this.events.push('upgrade');
    this.upgraded = { headers, socket, head };
    this.settle();
  }
}

export function head(over: Partial<UpstreamRequestHead> = {}): UpstreamRequestHead {
  return {
    method: 'GET',
    path: '/',
    authority: 'example.test',
    scheme: 'http',
    headers: {},
    contentLength: 0,
    upgrade: null,
    ...over,
  };
}

export function statsFor(name = 'c'): { store: StatsStore; stats: ClusterStats } {
  const store = new StatsStore();
  return { store, stats: new ClusterStats(store, name) };
}

export function portOf(server: Server | { address(): AddressInfo | string | null }): number {
  return (server.address() as AddressInfo).port;
}

export function hostFor(port: number, weight = 1): Host {
  return new Host({ address: '127.0.0.1', port, weight });
}

/** Polls `cond` every 5 ms until true or the deadline (ms) passes; throws on timeout. */
export async function until(cond: () => boolean, what: string, deadlineMs = 3000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A port nothing listens on: bind, note the port, close. */
export async function deadPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = portOf(s);
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** The part of a server response (HTTP/1 or HTTP/2) a backpressure test writes to. */
interface BodySink {
  write(chunk: Buffer): boolean;
  once(event: 'drain', fn: () => void): unknown;
  end(): unknown;
}

/**
 * Writes `total` bytes as `chunk`s to `out`, stopping whenever a write reports a full buffer and
 * going on at 'drain'; `onBlocked(true)` while it waits, `onBlocked(false)` when it resumes.
 */
export function writeWithBackpressure(
  out: BodySink,
  chunk: Buffer,
  total: number,
  onBlocked: (blocked: boolean) => void,
): void {
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      sent += chunk.length;
      if (!out.write(chunk)) {
        onBlocked(true);
        out.once('drain', () => {
          onBlocked(false);
          pump();
        });
        return;
      }
    }
    out.end();
  };
  pump();
}

/**
 * Opens a stream on `pool` from a setImmediate callback and then holds the event loop for 20 ms:
 * the next loop iteration runs the (already due) connect timer before it polls for the connect
 * completion, so a 1 ms connect timeout fires deterministically.
 */
export function newStreamPastConnectDeadline(
  pool: Pick<ConnectionPool, 'newStream'>,
  handler: UpstreamResponseHandler,
): void {
  setImmediate(() => {
    pool.newStream(head(), handler);
    const end = Date.now() + 20;
    while (Date.now() < end) {
      /* busy wait */
    }
  });
}
