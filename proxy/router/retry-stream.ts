import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { sharedWheel, TimerEntry, type TimerTarget } from '../http/timer-wheel.js';
import type { ClusterBreakers } from '../upstream/circuit-breakers.js';
import type { UpstreamCluster } from '../upstream/cluster.js';
import type { Host, LocalFailure } from '../upstream/host.js';
import type { LbContext } from '../upstream/load-balancer.js';
import type {
  UpstreamFailure,
  UpstreamRequestHead,
  UpstreamResponseHandler,
  UpstreamStream,
} from '../upstream/upstream-stream.js';
import type { RetryPolicy } from './retry-policy.js';

/**
 * What the router offers the retrying stream: its response handler, plus a call when a retry
 * moves the request to another host (so the router's per-host accounting and outlier reports
 * follow the attempt that answers) and one when the final attempt's per-try timeout fires.
 */
export interface RetryAwareHandler extends UpstreamResponseHandler {
  onRetryAttempt(host: Host, attempt: number): void;
  onPerTryTimeout(): void;
}

/** Default request body bytes kept for replay (Envoy's per_request_buffer_limit_bytes default). */
export const DEFAULT_RETRY_BUFFER_LIMIT = 64 * 1024;

const OUTLIER_FAILURE: Record<UpstreamFailure, LocalFailure | null> = {
  connect_failure: 'connect_failed',
  connect_timeout: 'connect_failed',
  remote_reset: 'reset',
  connection_termination: 'reset',
  overflow: null,
  protocol_error: 'reset',
};

/** One try: forwards pool callbacks to the owner only while it is the current try. */
class Attempt implements UpstreamResponseHandler, TimerTarget {
  stream: UpstreamStream | null = null;
  timer: TimerEntry | null = null;
  /** Holds a retry slot of the cluster's breaker (retries only). */
  holdsRetrySlot = false;

  constructor(
    readonly owner: RetryingStream,
    readonly host: Host,
  ) {}

  onHeaders(status: number, headers: IncomingHttpHeaders): void {
    this.owner.attemptHeaders(this, status, headers);
  }
  onData(chunk: Buffer): void {
    if (this.owner.current === this) this.owner.handler.onData(chunk);
  }
  onTrailers(trailers: IncomingHttpHeaders): void {
    if (this.owner.current === this)
      this.owner.attemptDone(this, () => this.owner.handler.onTrailers(trailers));
  }
  onEnd(): void {
    if (this.owner.current === this) this.owner.attemptDone(this, () => this.owner.handler.onEnd());
  }
  onError(reason: UpstreamFailure, detail: string): void {
    this.owner.attemptError(this, reason, detail);
  }
  onUpgrade(headers: IncomingHttpHeaders, socket: Duplex, head: Buffer): void {
    if (this.owner.current !== this) {
      socket.destroy();
      return;
    }
    this.owner.attemptDone(this, () => this.owner.handler.onUpgrade(headers, socket, head));
  }
  onTimer(): void {
    this.owner.attemptTimeout(this);
  }
}

/**
 * A request with a retry policy, seen by the router as one UpstreamStream. It buffers the request
 * body (up to a limit) so that a retry can replay it byte for byte, decides on each response or
 * failure whether to retry (retry_on, num_retries, the cluster's retry breaker or budget, the
 * request being complete and replayable), waits a full-jitter backoff, picks a host (skipping
 * previous hosts with the previous_hosts predicate) and starts the next try with a per-try timeout.
 * Only the answer that is not retried reaches the router.
 */
export class RetryingStream implements UpstreamStream {
  current: Attempt | null = null;
  private readonly tried: Host[] = [];
  private retries = 0;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The body outgrew the buffer: what was sent cannot be replayed, so no more retries. */
  private overflowed = false;
  private ended = false;
  private trailers: OutgoingHttpHeaders | undefined = undefined;
  private backoff: NodeJS.Timeout | null = null;
  private done = false;
  private responded = false;
  private paused = false;
  /** A retry slot taken for the try that the backoff will start. */
  private slotPending = false;

  constructor(
    readonly handler: RetryAwareHandler,
    private readonly cluster: UpstreamCluster,
    private readonly policy: RetryPolicy,
    private readonly breakers: ClusterBreakers,
    private readonly head: UpstreamRequestHead,
    private readonly lbCtx: LbContext | null,
    first: Host,
    /** The route's priority: every try uses that priority's pools. */
    private readonly priority: 'DEFAULT' | 'HIGH' = 'DEFAULT',
    private readonly bufferLimit = DEFAULT_RETRY_BUFFER_LIMIT,
  ) {
    this.startAttempt(first);
  }

  get host(): Host {
    return this.current?.host ?? this.tried[this.tried.length - 1];
  }

  // ---- UpstreamStream (the router's side) ----

  write(chunk: Buffer): boolean {
    if (!this.overflowed) {
      if (this.buffered + chunk.length > this.bufferLimit) {
        this.overflowed = true;
        this.chunks = [];
      } else {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
      }
    }
    const s = this.current?.stream;
    return s === null || s === undefined ? true : s.write(chunk);
  }

  end(trailers?: OutgoingHttpHeaders): void {
    this.ended = true;
    this.trailers = trailers;
    this.current?.stream?.end(trailers);
  }

  onDrain(cb: () => void): void {
    const s = this.current?.stream;
    if (s === null || s === undefined) queueMicrotask(cb);
    else s.onDrain(cb);
  }

  pause(): void {
    this.paused = true;
    this.current?.stream?.pause();
  }

  resume(): void {
    this.paused = false;
    this.current?.stream?.resume();
  }

  reset(): void {
    if (this.done) return;
    this.done = true;
    if (this.backoff !== null) clearTimeout(this.backoff);
    this.releasePendingSlot();
    const a = this.current;
    this.current = null;
    if (a !== null) this.endAttempt(a, true);
  }

  // ---- attempts ----

  private startAttempt(host: Host, holdsRetrySlot = false): void {
    const a = new Attempt(this, host);
    a.holdsRetrySlot = holdsRetrySlot;
    this.current = a;
    this.tried.push(host);
    if (this.policy.perTryTimeoutMs > 0) {
      a.timer = new TimerEntry(a, 0);
      sharedWheel.schedule(a.timer, this.policy.perTryTimeoutMs);
    }
    // x-envoy-attempt-count follows the try number when the virtual host asked for it (the router
    // set it to 1 on the first try).
    const counted = this.head.headers['x-envoy-attempt-count'] !== undefined;
    const head =
      this.retries === 0 || !counted
        ? this.head
        : {
            ...this.head,
            headers: { ...this.head.headers, 'x-envoy-attempt-count': String(this.retries + 1) },
          };
    const stream = this.cluster.poolFor(host, this.priority).newStream(head, a);
    if (this.current !== a) return; // failed synchronously and moved on
    a.stream = stream;
    if (this.paused) stream.pause();
    if (this.retries > 0) {
      for (const c of this.chunks) stream.write(c);
      if (this.ended) stream.end(this.trailers);
    }
  }

  /** Cancels a try's timer and breaker slot; resets its stream when asked. */
  private endAttempt(a: Attempt, reset: boolean): void {
    if (a.timer !== null) sharedWheel.cancel(a.timer);
    if (a.holdsRetrySlot) {
      a.holdsRetrySlot = false;
      this.breakers.finishRetry();
    }
    const s = a.stream;
    a.stream = null;
    if (reset) s?.reset();
  }

  attemptHeaders(a: Attempt, status: number, headers: IncomingHttpHeaders): void {
    if (this.current !== a || this.done) return;
    if (this.policy.retriableResponse(status, headers) && this.mayRetry()) {
      // This try's answer is dropped: count it for its host as the router would have.
      this.cluster.stats.recordResponse(status);
      a.host.outlier?.putHttpStatus(status);
      this.retry(a);
      return;
    }
    if (this.retries > 0 && !this.responded) this.cluster.stats.upstream_rq_retry_success.inc();
    this.responded = true;
    if (a.timer !== null) sharedWheel.cancel(a.timer);
    this.handler.onHeaders(status, headers);
  }

  attemptDone(a: Attempt, deliver: () => void): void {
    this.endAttempt(a, false);
    this.current = null;
    this.done = true;
    deliver();
  }

  attemptError(a: Attempt, reason: UpstreamFailure, detail: string): void {
    if (this.current !== a || this.done) return;
    const kind = reason === 'connect_failure' || reason === 'connect_timeout' ? 'connect_failure' : 'reset';
    if (!this.responded && reason !== 'overflow' && this.policy.retriableFailure(kind) && this.mayRetry()) {
      const f = OUTLIER_FAILURE[reason];
      if (f !== null) a.host.outlier?.putLocalFailure(f);
      a.stream = null; // already failed; nothing to reset
      this.retry(a);
      return;
    }
    this.endAttempt(a, false);
    this.current = null;
    this.done = true;
    this.handler.onError(reason, detail);
  }

  attemptTimeout(a: Attempt): void {
    if (this.current !== a || this.done || this.responded) return;
    a.timer = null;
    const st = this.cluster.stats;
    st.upstream_rq_per_try_timeout.inc();
    if (this.policy.retriableFailure('per_try_timeout') && this.mayRetry()) {
      a.host.rqTimeout++;
      a.host.outlier?.putLocalFailure('timeout');
      this.retry(a);
      return;
    }
    this.endAttempt(a, true);
    this.current = null;
    this.done = true;
    this.handler.onPerTryTimeout();
  }

  /** Whether one more try is allowed; counts why not. */
  private mayRetry(): boolean {
    const st = this.cluster.stats;
    if (this.retries >= this.policy.numRetries) {
      st.upstream_rq_retry_limit_exceeded.inc();
      return false;
    }
    // A body that was not complete or not kept cannot be replayed (Envoy skips such retries).
    if (!this.ended || this.overflowed) return false;
    if (!this.breakers.tryStartRetry()) {
      st.upstream_rq_retry_overflow.inc();
      return false;
    }
    // The slot is held through the backoff and the retried try (Envoy's retry resource).
    this.slotPending = true;
    return true;
  }

  /** Ends try `a` and schedules the next one after the backoff. */
  private retry(a: Attempt): void {
    this.endAttempt(a, true);
    a.host.rqError++;
    this.current = null;
    this.retries++;
    this.cluster.stats.upstream_rq_retry.inc();
    const delay = this.policy.backOffMs(this.retries, Math.random());
    this.backoff = setTimeout(() => this.nextAttempt(), delay);
  }

  private nextAttempt(): void {
    this.backoff = null;
    if (this.done) return;
    const host = this.pickHost();
    if (host === null) {
      this.releasePendingSlot();
      this.done = true;
      this.handler.onError('connect_failure', 'no_healthy_upstream');
      return;
    }
    this.handler.onRetryAttempt(host, this.retries + 1);
    this.slotPending = false;
    this.startAttempt(host, true);
  }

  private releasePendingSlot(): void {
    if (!this.slotPending) return;
    this.slotPending = false;
    this.breakers.finishRetry();
  }

  /** A host for the next try; with previous_hosts, up to host_selection_retry_max_attempts picks avoid tried hosts. */
  private pickHost(): Host | null {
    const ctx: LbContext = {
      hashKey: this.lbCtx?.hashKey,
      previousHosts: this.tried,
      downstreamAddress: this.lbCtx?.downstreamAddress ?? '',
    };
    let h = this.cluster.chooseHost(ctx);
    if (!this.policy.previousHosts) return h;
    for (
      let i = 1;
      i < this.policy.hostSelectionRetryMaxAttempts && h !== null && this.tried.includes(h);
      i++
    ) {
      h = this.cluster.chooseHost(ctx);
    }
    return h;
  }
}
