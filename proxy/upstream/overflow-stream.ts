import type { Host } from './host.js';
import type { UpstreamResponseHandler, UpstreamStream } from './upstream-stream.js';

/**
 * The stream a pool hands back when a circuit breaker refuses a request before anything was sent
 * (max_pending_requests): it fails with `overflow` on the next tick, so newStream returns first as
 * with any failure, and it ignores whatever the caller still writes.
 */
export class OverflowStream implements UpstreamStream {
  private reset_ = false;

  constructor(
    readonly host: Host,
    private readonly handler: UpstreamResponseHandler,
    detail: string,
  ) {
    process.nextTick(() => {
      if (!this.reset_) this.handler.onError('overflow', detail);
    });
  }

  write(): boolean {
    return true;
  }
  end(): void {}
  onDrain(): void {}
  pause(): void {}
  resume(): void {}
  reset(): void {
    this.reset_ = true;
  }
}
