import type { Writable } from 'node:stream';
import { AccessLogFiles, type FileSinkOptions } from './file-sink.js';
import { StreamSink } from './stream-sink.js';

/**
 * The process-wide destinations access loggers write to: files by path (shared), stdout and
 * stderr (one buffered sink each, created on first use). The composition root builds one, hands it
 * to the access log translator, reopens files on SIGUSR1 and closes everything at shutdown.
 */
export class AccessLogOutputs {
  readonly files: AccessLogFiles;
  private stdoutSink: StreamSink | null = null;
  private stderrSink: StreamSink | null = null;

  constructor(
    fileOptions: FileSinkOptions = {},
    private readonly stdoutStream: Writable = process.stdout,
    private readonly stderrStream: Writable = process.stderr,
  ) {
    this.files = new AccessLogFiles(fileOptions);
  }

  get stdout(): StreamSink {
    this.stdoutSink ??= new StreamSink(this.stdoutStream);
    return this.stdoutSink;
  }

  get stderr(): StreamSink {
    this.stderrSink ??= new StreamSink(this.stderrStream);
    return this.stderrSink;
  }

  reopenFiles(): void {
    this.files.reopenAll();
  }

  async flushAll(): Promise<void> {
    await Promise.all([this.files.flushAll(), this.stdoutSink?.flush(), this.stderrSink?.flush()]);
  }

  /** Flushes stdout/stderr and flushes and closes every file (shutdown). */
  async closeAll(): Promise<void> {
    await Promise.all([this.files.closeAll(), this.stdoutSink?.flush(), this.stderrSink?.flush()]);
  }
}
