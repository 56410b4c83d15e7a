import type { OutgoingHttpHeaders } from 'node:http';

/** Where a throttle sends the bytes it releases (the fault filter, which owns the stream callbacks). */
export interface ThrottleSink {
  /** Passes bytes on towards the client; false when the downstream buffer is full. */
  passOn(chunk: Buffer, endStream: boolean): boolean;
  /** Passes the response trailers on (they end the response), after every byte before them. */
  passOnTrailers(trailers: OutgoingHttpHeaders): void;
  /** The throttle's backlog is low again: the writer (router) may resume its upstream. */
  wantMore(): void;
}

/** Envoy's stream rate limiter releases data in sixteenths of a second. */
const TICKS_PER_SECOND = 16;
const EMPTY = Buffer.alloc(0);

/**
 * Throttles one response body to a rate (fault response_rate_limit). Bytes arrive with push(); the
 * writer is held (the filter answers 'stop', so the router pauses its upstream) until the backlog
 * drops below one tick's worth, so at most about one upstream read is ever buffered. Each tick adds
 * one tick's bytes of budget (never more: an idle or blocked stream saves up no burst) and releases
 * that much; a full downstream stops releases until writable() says it drained.
 */
export class ResponseThrottle {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private endSeen = false;
  /** The response ends in trailers (gRPC): sent once the body before them is released. */
  private trailers: OutgoingHttpHeaders | null = null;
  private ended = false;
  private blocked = false;
  private holdingWriter = false;
  private budget = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly perTick: number;

  constructor(
    kibPerSecond: number,
    private readonly sink: ThrottleSink,
  ) {
    this.perTick = Math.max(1, Math.floor((kibPerSecond * 1024) / TICKS_PER_SECOND));
  }

  /** Takes a chunk of the response body (the writer must now wait for wantMore). */
  push(chunk: Buffer, endStream: boolean): void {
    if (this.ended) return;
    if (chunk.length > 0) {
      this.queue.push(chunk);
      this.queued += chunk.length;
    }
    if (endStream) this.endSeen = true;
    this.holdingWriter = !endStream;
    this.startTicking();
  }

  /** Takes the response trailers: they end the body, and go after the bytes queued before them. */
  pushTrailers(trailers: OutgoingHttpHeaders): void {
    if (this.ended) return;
    this.trailers = trailers;
    this.endSeen = true;
    this.holdingWriter = false;
    this.startTicking();
  }

  private startTicking(): void {
    if (this.timer === null) this.timer = setInterval(onTick, 1000 / TICKS_PER_SECOND, this);
  }

  /** The downstream drained. */
  writable(): void {
    this.blocked = false;
  }

  stop(): void {
    this.ended = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.queued = 0;
  }

  /** Bytes held (for tests: the backlog stays bounded). */
  get backlog(): number {
    return this.queued;
  }

  /** @internal one tick: release up to one tick's budget. */
  tick(): void {
    if (this.ended) return;
    this.budget = this.perTick;
    const q = this.queue;
    while (q.length > 0 && this.budget > 0 && !this.blocked) {
      const head = q[0];
      const n = Math.min(this.budget, head.length);
      const part = n === head.length ? head : head.subarray(0, n);
      if (n === head.length) q.shift();
      else q[0] = head.subarray(n);
      this.queued -= n;
      this.budget -= n;
      const last = this.endSeen && q.length === 0 && this.trailers === null;
      if (last) this.ended = true;
      if (!this.sink.passOn(part, last)) this.blocked = true;
      if (last) break;
    }
    if (!this.ended && this.endSeen && q.length === 0) {
      this.ended = true;
      const t = this.trailers;
      if (t !== null) this.sink.passOnTrailers(t);
      else this.sink.passOn(EMPTY, true);
    }
    if (this.ended) {
      this.stop();
      return;
    }
    if (this.holdingWriter && this.queued < this.perTick) {
      this.holdingWriter = false;
      this.sink.wantMore();
    }
  }
}

function onTick(t: ResponseThrottle): void {
  t.tick();
}
