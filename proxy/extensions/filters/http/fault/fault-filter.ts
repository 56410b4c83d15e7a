import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { FilterStatus, HttpFilter, RequestHead, StreamCallbacks } from '../../../../http/filter.js';
import { ResponseFlag } from '../../../../http/response-flags.js';
import type { FaultConfig, Fraction } from './config.js';
import { ResponseThrottle, type ThrottleSink } from './response-throttle.js';

/** Request headers that control faults (Envoy's names), read only when the config allows. */
const H_DELAY = 'x-envoy-fault-delay-request';
const H_DELAY_PCT = 'x-envoy-fault-delay-request-percentage';
const H_ABORT = 'x-envoy-fault-abort-request';
const H_ABORT_GRPC = 'x-envoy-fault-abort-grpc-request';
const H_ABORT_PCT = 'x-envoy-fault-abort-request-percentage';
const H_THROUGHPUT = 'x-envoy-fault-throughput-response';
const H_THROUGHPUT_PCT = 'x-envoy-fault-throughput-response-percentage';

function headerInt(headers: RequestHead['headers'], name: string): number {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined) return -1;
  const n = Number(s);
  return Number.isInteger(n) && n >= 0 ? n : -1;
}

/** Rolls the dice for `f`; a header percentage (numerator) may lower, never raise, the config's. */
function hit(f: Fraction, headerNumerator: number): boolean {
  const n = headerNumerator >= 0 ? Math.min(headerNumerator, f.numerator) : f.numerator;
  if (n === 0) return false;
  return Math.random() * f.denominator < n;
}

/**
 * envoy.filters.http.fault: delays and aborts a configured share of requests (optionally only
 * those matching headers or going to one upstream cluster), for testing resilience. A delay holds
 * the request (the connection manager pauses the downstream meanwhile) and then lets it go on, or
 * aborts it if an abort was drawn too. Flags DI and FI mark the access log. A response rate limit
 * throttles the response body (encodeData) through a ResponseThrottle.
 */
export class FaultFilter implements HttpFilter, ThrottleSink {
  private timer: NodeJS.Timeout | null = null;
  private pendingAbort = false;
  private active = false;
  private head: RequestHead | null = null;
  private throttle: ResponseThrottle | null = null;
  /** True while this filter itself raises onDownstreamWritable (it is not a real drain). */
  private signalling = false;

  constructor(
    private readonly cfg: FaultConfig,
    private readonly cb: StreamCallbacks,
  ) {}

  decodeHeaders(head: RequestHead, _endStream: boolean): FilterStatus {
    const c = this.cfg;
    if (c.delay === null && c.abort === null && c.responseRateLimit === null) return 'continue';
    if (!this.applies(head)) return 'continue';
    const delayMs = this.delayMs(head);
    const abort =
      c.abort !== null &&
      hit(c.abort.percentage, headerInt(head.headers, H_ABORT_PCT)) &&
      this.abortCode(head) !== null;
    const kib = abort ? 0 : this.rateLimitKib(head);
    if (delayMs <= 0 && !abort && kib <= 0) return 'continue';
    if (c.stats.active_faults.value >= c.maxActiveFaults) {
      c.stats.faults_overflow.inc();
      return 'continue';
    }
    this.active = true;
    c.stats.active_faults.inc();
    this.head = head;
    if (kib > 0) {
      c.stats.response_rl_injected.inc();
      this.throttle = new ResponseThrottle(kib, this);
      if (delayMs <= 0) return 'continue';
    }
    if (delayMs > 0) {
      c.stats.delays_injected.inc();
      this.cb.info.setFlag(ResponseFlag.DelayInjected);
      this.pendingAbort = abort;
      this.timer = setTimeout(() => this.afterDelay(), delayMs);
      return 'stop';
    }
    this.doAbort(head);
    return 'stop';
  }

  encodeData(chunk: Buffer, endStream: boolean): FilterStatus {
    const t = this.throttle;
    if (t === null) return 'continue';
    t.push(chunk, endStream);
    return 'stop';
  }

  encodeTrailers(trailers: OutgoingHttpHeaders): FilterStatus {
    const t = this.throttle;
    if (t === null) return 'continue';
    t.pushTrailers(trailers);
    return 'stop';
  }

  /** ThrottleSink: the trailers, after the last byte the throttle held. */
  passOnTrailers(trailers: OutgoingHttpHeaders): void {
    this.throttle = null;
    this.release();
    this.cb.continueEncodingTrailers(this, trailers);
  }

  onDownstreamWritable(): void {
    if (!this.signalling) this.throttle?.writable();
  }

  /** ThrottleSink: bytes the throttle lets go. */
  passOn(chunk: Buffer, endStream: boolean): boolean {
    if (endStream) {
      this.throttle = null;
      this.release();
    }
    return this.cb.continueEncoding(this, chunk, endStream);
  }

  /** ThrottleSink: the backlog is low; the router may read more. */
  wantMore(): void {
    this.signalling = true;
    try {
      this.cb.encodingWritable();
    } finally {
      this.signalling = false;
    }
  }

  decodeData(_chunk: Buffer, _endStream: boolean): FilterStatus {
    return 'continue';
  }

  decodeTrailers(_trailers: IncomingHttpHeaders): FilterStatus {
    return 'continue';
  }

  onDestroy(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.throttle?.stop();
    this.throttle = null;
    this.release();
  }

  private afterDelay(): void {
    this.timer = null;
    if (this.pendingAbort) this.doAbort(this.head!);
    else {
      // A throttled response keeps the fault active until the stream ends.
      if (this.throttle === null) this.release();
      this.cb.continueDecoding();
    }
  }

  private applies(head: RequestHead): boolean {
    const c = this.cfg;
    if (c.headers.length > 0) {
      const req = {
        authority: head.authority,
        path: head.path,
        method: head.method,
        scheme: head.scheme,
        headers: head.headers as IncomingHttpHeaders,
      };
      for (const m of c.headers) if (!m.matches(req)) return false;
    }
    if (c.upstreamCluster !== '') {
      const r = this.cb.route();
      if (r === null || r.action.kind !== 'route') return false;
      if (r.action.selectCluster(head.headers as IncomingHttpHeaders, Math.random()) !== c.upstreamCluster)
        return false;
    }
    return true;
  }

  private delayMs(head: RequestHead): number {
    const d = this.cfg.delay;
    if (d === null || !hit(d.percentage, headerInt(head.headers, H_DELAY_PCT))) return 0;
    if (d.fixedMs > 0) return d.fixedMs;
    const h = headerInt(head.headers, H_DELAY);
    return Math.max(h, 0);
  }

  /** The abort to send: [http status, grpc status]; null when header_abort finds no header. */
  private abortCode(head: RequestHead): readonly [number, number] | null {
    const a = this.cfg.abort!;
    if (a.httpStatus > 0) return [a.httpStatus, -1];
    if (a.grpcStatus >= 0) return [200, a.grpcStatus];
    const g = headerInt(head.headers, H_ABORT_GRPC);
    if (g >= 0) return [200, g];
    const s = headerInt(head.headers, H_ABORT);
    return s >= 200 && s < 600 ? [s, -1] : null;
  }

  private doAbort(head: RequestHead): void {
    const code = this.abortCode(head)!;
    this.cfg.stats.aborts_injected.inc();
    this.release();
    const cb = this.cb;
    if (code[1] >= 0) {
      // A gRPC abort is a trailers-only response carrying the configured grpc-status.
      cb.info.setFlag(ResponseFlag.FaultInjected);
      cb.info.responseCodeDetails = 'fault_filter_abort';
      cb.encodeHeaders(
        200,
        {
          'content-type': 'application/grpc',
          'grpc-status': String(code[1]),
          'grpc-message': 'fault filter abort',
        },
        true,
      );
      return;
    }
    cb.sendLocalReply(code[0], 'fault filter abort', 'fault_filter_abort', ResponseFlag.FaultInjected);
  }

  /** The response rate limit in KiB/s for this request, 0 for none. */
  private rateLimitKib(head: RequestHead): number {
    const r = this.cfg.responseRateLimit;
    if (r === null || !hit(r.percentage, headerInt(head.headers, H_THROUGHPUT_PCT))) return 0;
    if (r.kibPerSecond > 0) return r.kibPerSecond;
    return Math.max(headerInt(head.headers, H_THROUGHPUT), 0);
  }

  /** The fault is over: active_faults goes down (once). */
  private release(): void {
    if (!this.active) return;
    this.active = false;
    this.cfg.stats.active_faults.dec();
  }
}
