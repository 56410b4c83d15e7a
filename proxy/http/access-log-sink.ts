import type { StreamInfo } from './stream-info.js';

/**
 * Where a finished stream (or tcp_proxy connection) is reported. The observability side builds
 * sinks from AccessLog config; the connection manager calls `log` once per stream, after the last
 * byte, and only when at least one sink is configured.
 */
export interface AccessLogSink {
  log(info: StreamInfo): void;
}
