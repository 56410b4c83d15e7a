/**
 * Test helpers for LRS: a recorder of what the sink receives, and of what a client hears, each
 * awaitable with a bounded deadline (no sleeps standing in for events).
 */
import type { LoadReportingServer, ReceivedLoadRequest } from '../../control-plane/lrs/index.js';

/** Queues items as they happen; next() takes the next one matching, in order, within a deadline. */
export class Waitable<T> {
  readonly items: T[] = [];
  private cursor = 0;
  private wake: (() => void) | null = null;

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  async next(match: (item: T) => boolean = () => true, timeoutMs = 3000, what = 'event'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.items.length) {
        const item = this.items[this.cursor++];
        if (match(item)) return item;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Skips everything received so far. */
  drain(): void {
    this.cursor = this.items.length;
  }
}

/** Every request a sink receives, in order. */
export function recordRequests(sink: LoadReportingServer): Waitable<ReceivedLoadRequest> {
  const w = new Waitable<ReceivedLoadRequest>();
  sink.onRequest((r) => w.push(r));
  return w;
}

/** A report with stats (not an introduction) from `nodeId`. */
export const reportFrom =
  (nodeId: string) =>
  (r: ReceivedLoadRequest): boolean =>
    r.nodeId === nodeId && !r.first && r.request.cluster_stats.length > 0;
