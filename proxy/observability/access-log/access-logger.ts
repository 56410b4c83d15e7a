import type { AccessLogSink } from '../../http/access-log-sink.js';
import type { StreamInfo } from '../../http/stream-info.js';
import type { LineSink } from './file-sink.js';
import type { AccessLogFilter } from './filters.js';

/** A compiled format: text (TextFormatter) or JSON (JsonFormatter). */
export interface LineFormatter {
  format(info: StreamInfo): string;
}

/**
 * One configured access log: a compiled format and where its lines go. The connection manager and
 * tcp_proxy call `log` once per finished stream; the work is one format pass and one buffered
 * append.
 */
export class AccessLogger implements AccessLogSink {
  constructor(
    /** The AccessLog's `name` (e.g. `envoy.access_loggers.file`). */
    readonly name: string,
    private readonly formatter: LineFormatter,
    private readonly sink: LineSink,
    /** Decides per stream whether to log; null logs everything. */
    private readonly filter: AccessLogFilter | null = null,
  ) {}

  private closed = false;

  log(info: StreamInfo): void {
    if (this.closed) return;
    if (this.filter !== null && !this.filter.evaluate(info)) return;
    this.sink.write(this.formatter.format(info));
  }

  /** Formats without writing (tests, admin). */
  formatLine(info: StreamInfo): string {
    return this.formatter.format(info);
  }

  /**
   * Resolves once this logger's lines have been handed to the OS (file) or stream (stdout/stderr).
   * Files are shared between loggers and closed by their AccessLogFiles owner, not here.
   */
  flush(): Promise<void> {
    return this.sink.flush();
  }

  /** Stops logging and flushes what this logger wrote (a replaced listener's loggers). */
  close(): Promise<void> {
    this.closed = true;
    return this.sink.flush();
  }
}
