import { close, closeSync, openSync, write, writeSync } from 'node:fs';
import type { Counter, Gauge, StatsStore } from '../stats.js';

/**
 * Where formatted access log lines go. `write` is called on the request path and must never block
 * or throw; `flush` resolves once everything written before the call has reached the OS.
 */
export interface LineSink {
  write(line: string): void;
  flush(): Promise<void>;
}

/** Envoy's `filesystem.*` stats (shared by every access log file, as in Envoy). */
class FileStats {
  readonly writeBuffered: Counter;
  readonly writeCompleted: Counter;
  readonly writeFailed: Counter;
  readonly flushedByTimer: Counter;
  readonly reopenFailed: Counter;
  readonly totalBuffered: Gauge;
  constructor(store: StatsStore) {
    this.writeBuffered = store.counter('filesystem.write_buffered');
    this.writeCompleted = store.counter('filesystem.write_completed');
    this.writeFailed = store.counter('filesystem.write_failed');
    this.flushedByTimer = store.counter('filesystem.flushed_by_timer');
    this.reopenFailed = store.counter('filesystem.reopen_failed');
    this.totalBuffered = store.gauge('filesystem.write_total_buffered');
  }
}

export interface FileSinkOptions {
  /** Flush at least this often (Envoy's --file-flush-interval-msec; default here 1000 ms). */
  readonly flushIntervalMs?: number;
  /** Start a write as soon as this many bytes are buffered (default 64 KiB). */
  readonly minFlushBytes?: number;
  /**
   * Lines beyond this many buffered bytes are dropped (counted in `dropped`) rather than growing
   * memory without bound when the disk cannot keep up. Default 16 MiB.
   */
  readonly maxBufferBytes?: number;
  readonly stats?: StatsStore;
}

/**
 * An append-only file fed through an in-memory buffer: `write` appends a string to an array, one
 * asynchronous `fs.write` at a time drains it (on size, on a timer, or on `flush`). The request
 * path never waits on the disk.
 */
export class FileSink implements LineSink {
  private fd: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  private writing = false;
  private closed = false;
  private reopenRequested = false;
  private waiters: Array<() => void> = [];
  private readonly timer: NodeJS.Timeout;
  private readonly minFlushBytes: number;
  private readonly maxBufferBytes: number;
  private readonly stats: FileStats | null;
  /** Lines dropped because the buffer was full or the sink closed. */
  dropped = 0;

  /** Opens `path` for appending; throws (on the control path) when it cannot. */
  constructor(
    readonly path: string,
    opts: FileSinkOptions = {},
  ) {
    this.fd = openSync(path, 'a', 0o644);
    this.minFlushBytes = opts.minFlushBytes ?? 64 * 1024;
    this.maxBufferBytes = opts.maxBufferBytes ?? 16 * 1024 * 1024;
    this.stats = opts.stats ? new FileStats(opts.stats) : null;
    this.timer = setInterval(() => this.onTimer(), opts.flushIntervalMs ?? 1000);
    this.timer.unref();
    this.afterWrite = this.afterWrite.bind(this);
  }

  write(line: string): void {
    if (this.closed || this.pendingBytes + line.length > this.maxBufferBytes) {
      this.dropped++;
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.stats !== null) {
      this.stats.writeBuffered.inc();
      this.stats.totalBuffered.inc(line.length);
    }
    if (this.pendingBytes >= this.minFlushBytes) this.kick();
  }

  flush(): Promise<void> {
    if (!this.writing && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.kick();
    });
  }

  /** Reopens the file at the same path (log rotation, Envoy's SIGUSR1) once the current write ends. */
  reopen(): void {
    this.reopenRequested = true;
    if (!this.writing) this.doReopen();
  }

  /** Writes what is buffered synchronously and closes the file (shutdown). */
  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    // With a write in flight, afterWrite finishes the job when it completes (keeps the order).
    if (!this.writing) this.finishSync();
  }

  /** Writes the rest synchronously and closes the fd. */
  private finishSync(): void {
    if (this.pending.length > 0 && this.fd >= 0) {
      const buf = Buffer.from(this.pending.join(''), 'utf8');
      this.takePending();
      try {
        let off = 0;
        while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
        this.stats?.writeCompleted.inc();
      } catch {
        this.stats?.writeFailed.inc();
      }
    }
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.wake();
  }

  /** Flushes, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closeSync();
  }

  private onTimer(): void {
    if (this.pending.length === 0 || this.writing) return;
    this.stats?.flushedByTimer.inc();
    this.kick();
  }

  private takePending(): void {
    this.stats?.totalBuffered.dec(this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
  }

  private currentBuf: Buffer = Buffer.alloc(0);
  private currentOff = 0;

  private kick(): void {
    if (this.writing) return;
    if (this.pending.length === 0 || this.fd < 0) {
      this.wake();
      return;
    }
    this.currentBuf = Buffer.from(this.pending.join(''), 'utf8');
    this.currentOff = 0;
    this.takePending();
    this.writing = true;
    write(this.fd, this.currentBuf, 0, this.currentBuf.length, null, this.afterWrite);
  }

  private afterWrite(err: NodeJS.ErrnoException | null, n: number): void {
    if (err === null) {
      this.currentOff += n;
      if (this.currentOff < this.currentBuf.length) {
        write(
          this.fd,
          this.currentBuf,
          this.currentOff,
          this.currentBuf.length - this.currentOff,
          null,
          this.afterWrite,
        );
        return;
      }
      this.stats?.writeCompleted.inc();
    } else {
      this.stats?.writeFailed.inc();
    }
    this.writing = false;
    this.currentBuf = Buffer.alloc(0);
    if (this.closed) {
      this.finishSync();
      return;
    }
    if (this.reopenRequested) this.doReopen();
    this.kick();
  }

  private doReopen(): void {
    this.reopenRequested = false;
    try {
      const fd = openSync(this.path, 'a', 0o644);
      const old = this.fd;
      this.fd = fd;
      if (old >= 0) close(old, () => {});
    } catch {
      this.stats?.reopenFailed.inc();
    }
  }

  private wake(): void {
    if (this.writing || (this.pending.length > 0 && this.fd >= 0)) return;
    const w = this.waiters;
    if (w.length === 0) return;
    this.waiters = [];
    for (const r of w) r();
  }
}

/**
 * One FileSink per path, shared by every logger that names it (as Envoy's AccessLogManager does),
 * so two listeners logging to the same file do not interleave partial writes.
 */
export class AccessLogFiles {
  private readonly files = new Map<string, FileSink>();
  constructor(private readonly opts: FileSinkOptions = {}) {}

  /** The sink for `path`, opened on first use; throws when the file cannot be opened. */
  open(path: string): FileSink {
    let f = this.files.get(path);
    if (f === undefined) {
      f = new FileSink(path, this.opts);
      this.files.set(path, f);
    }
    return f;
  }

  /** Reopens every file (wire to SIGUSR1 for log rotation). */
  reopenAll(): void {
    for (const f of this.files.values()) f.reopen();
  }

  async flushAll(): Promise<void> {
    await Promise.all([...this.files.values()].map((f) => f.flush()));
  }

  /** Flushes and closes every file (shutdown). */
  async closeAll(): Promise<void> {
    const all = [...this.files.values()];
    this.files.clear();
    await Promise.all(all.map((f) => f.close()));
  }
}
