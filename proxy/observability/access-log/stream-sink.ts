import type { Writable } from 'node:stream';
import type { LineSink } from './file-sink.js';

/**
 * envoy.access_loggers.stdout / .stderr: lines are gathered for one turn of the event loop and
 * written to the stream in one call, so a burst of requests costs one write, not one per line.
 * When the stream pushes back (a slow pipe), lines keep collecting until 'drain', up to a bound;
 * beyond it they are dropped and counted rather than growing memory.
 */
export class StreamSink implements LineSink {
  private pending: string[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private blocked = false;
  private waiters: Array<() => void> = [];
  dropped = 0;
  /** Write errors (EPIPE when the reader went away); logging must not crash the proxy. */
  errors = 0;

  constructor(
    private readonly stream: Writable,
    private readonly maxBufferBytes = 16 * 1024 * 1024,
  ) {
    this.flushNow = this.flushNow.bind(this);
    this.onDrain = this.onDrain.bind(this);
    stream.on('error', () => {
      this.errors++;
    });
  }

  write(line: string): void {
    if (this.pendingBytes + line.length > this.maxBufferBytes) {
      this.dropped++;
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
  }

  flush(): Promise<void> {
    if (this.pending.length === 0 && !this.blocked) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      if (!this.blocked && !this.scheduled) this.flushNow();
    });
  }

  private flushNow(): void {
    this.scheduled = false;
    if (this.blocked || this.pending.length === 0) {
      this.wake();
      return;
    }
    const chunk = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.stream.write(chunk)) {
      this.blocked = true;
      this.stream.once('drain', this.onDrain);
      return;
    }
    this.wake();
  }

  private onDrain(): void {
    this.blocked = false;
    this.flushNow();
  }

  private wake(): void {
    if (this.pending.length > 0 || this.blocked) return;
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}
