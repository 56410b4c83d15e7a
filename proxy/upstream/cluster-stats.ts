import type { Counter, Gauge, Histogram, StatsStore } from '../observability/stats.js';

/**
 * A cluster's stats under Envoy's names (`cluster.<name>.*`). The router increments the request
 * stats, pools the connection stats.
 *
 * Only the few stats every dashboard reads (requests, request time and timeouts, connections,
 * membership) are created with the cluster; the rest are created on first use, like Envoy's deferred stat creation
 * (bootstrap deferred_stat_options). Creating ~45 named stats per cluster was the largest single
 * cost of a CDS update of 10,000 clusters (400,000+ map entries); most clusters of a large mesh
 * never see a retry, a reset or a 5xx. A lazily created stat appears in /stats once it is used;
 * the getter caches it, so the data path pays one field read after the first use.
 */
export class ClusterStats {
  readonly upstream_rq_total: Counter;
  readonly upstream_rq_active: Gauge;
  readonly upstream_cx_total: Counter;
  readonly upstream_cx_active: Gauge;
  readonly membership_total: Gauge;
  readonly membership_healthy: Gauge;
  readonly membership_degraded: Gauge;
  readonly upstream_rq_time: Histogram;
  readonly upstream_rq_timeout: Counter;
  /** upstream_rq_1xx .. upstream_rq_5xx, indexed by status / 100 - 1; created on first use. */
  private readonly rqClass: Array<Counter | null> = [null, null, null, null, null];
  /** upstream_rq_<code>, created on first use of a code (codes are few). */
  private readonly rqCode = new Map<number, Counter>();
  private readonly prefix: string;

  private _upstream_rq_pending_total: Counter | null = null;
  private _upstream_rq_pending_active: Gauge | null = null;
  private _upstream_rq_pending_overflow: Counter | null = null;
  private _upstream_rq_completed: Counter | null = null;
  private _upstream_rq_per_try_timeout: Counter | null = null;
  private _upstream_rq_rx_reset: Counter | null = null;
  private _upstream_rq_tx_reset: Counter | null = null;
  private _upstream_rq_retry: Counter | null = null;
  private _upstream_rq_retry_success: Counter | null = null;
  private _upstream_rq_retry_overflow: Counter | null = null;
  private _upstream_rq_retry_limit_exceeded: Counter | null = null;
  private _cb_default_rq_retry_open: Gauge | null = null;
  private _cb_default_remaining_retries: Gauge | null = null;
  private _cb_default_rq_open: Gauge | null = null;
  private _cb_default_rq_pending_open: Gauge | null = null;
  private _cb_default_cx_open: Gauge | null = null;
  private _cb_default_remaining_cx: Gauge | null = null;
  private _cb_default_remaining_pending: Gauge | null = null;
  private _upstream_cx_http1_total: Counter | null = null;
  private _upstream_cx_http2_total: Counter | null = null;
  private _upstream_cx_connect_fail: Counter | null = null;
  private _upstream_cx_connect_timeout: Counter | null = null;
  private _upstream_cx_overflow: Counter | null = null;
  private _upstream_cx_destroy: Counter | null = null;
  private _upstream_cx_destroy_local: Counter | null = null;
  private _upstream_cx_destroy_remote: Counter | null = null;
  private _upstream_cx_rx_bytes_total: Counter | null = null;
  private _upstream_cx_tx_bytes_total: Counter | null = null;
  private _upstream_cx_protocol_error: Counter | null = null;
  private _upstream_cx_none_healthy: Counter | null = null;
  private _membership_change: Counter | null = null;
  private _update_attempt: Counter | null = null;
  private _update_success: Counter | null = null;
  private _update_failure: Counter | null = null;
  private _lb_healthy_panic: Counter | null = null;

  constructor(
    private readonly store: StatsStore,
    clusterName: string,
  ) {
    const p = `cluster.${clusterName}.`;
    this.prefix = p;
    this.upstream_rq_total = store.counter(`${p}upstream_rq_total`);
    this.upstream_rq_active = store.gauge(`${p}upstream_rq_active`);
    this.upstream_cx_total = store.counter(`${p}upstream_cx_total`);
    this.upstream_cx_active = store.gauge(`${p}upstream_cx_active`);
    this.membership_total = store.gauge(`${p}membership_total`);
    this.membership_healthy = store.gauge(`${p}membership_healthy`);
    this.membership_degraded = store.gauge(`${p}membership_degraded`);
    this.upstream_rq_time = store.histogram(`${p}upstream_rq_time`);
    this.upstream_rq_timeout = store.counter(`${p}upstream_rq_timeout`);
  }

  get upstream_rq_pending_total(): Counter {
    if (this._upstream_rq_pending_total === null)
      this._upstream_rq_pending_total = this.store.counter(`${this.prefix}upstream_rq_pending_total`);
    return this._upstream_rq_pending_total;
  }
  get upstream_rq_pending_active(): Gauge {
    if (this._upstream_rq_pending_active === null)
      this._upstream_rq_pending_active = this.store.gauge(`${this.prefix}upstream_rq_pending_active`);
    return this._upstream_rq_pending_active;
  }
  get upstream_rq_pending_overflow(): Counter {
    if (this._upstream_rq_pending_overflow === null)
      this._upstream_rq_pending_overflow = this.store.counter(`${this.prefix}upstream_rq_pending_overflow`);
    return this._upstream_rq_pending_overflow;
  }
  get upstream_rq_completed(): Counter {
    if (this._upstream_rq_completed === null)
      this._upstream_rq_completed = this.store.counter(`${this.prefix}upstream_rq_completed`);
    return this._upstream_rq_completed;
  }
  get upstream_rq_per_try_timeout(): Counter {
    if (this._upstream_rq_per_try_timeout === null)
      this._upstream_rq_per_try_timeout = this.store.counter(`${this.prefix}upstream_rq_per_try_timeout`);
    return this._upstream_rq_per_try_timeout;
  }
  get upstream_rq_rx_reset(): Counter {
    if (this._upstream_rq_rx_reset === null)
      this._upstream_rq_rx_reset = this.store.counter(`${this.prefix}upstream_rq_rx_reset`);
    return this._upstream_rq_rx_reset;
  }
  get upstream_rq_tx_reset(): Counter {
    if (this._upstream_rq_tx_reset === null)
      this._upstream_rq_tx_reset = this.store.counter(`${this.prefix}upstream_rq_tx_reset`);
    return this._upstream_rq_tx_reset;
  }
  get upstream_rq_retry(): Counter {
    if (this._upstream_rq_retry === null)
      this._upstream_rq_retry = this.store.counter(`${this.prefix}upstream_rq_retry`);
    return this._upstream_rq_retry;
  }
  get upstream_rq_retry_success(): Counter {
    if (this._upstream_rq_retry_success === null)
      this._upstream_rq_retry_success = this.store.counter(`${this.prefix}upstream_rq_retry_success`);
    return this._upstream_rq_retry_success;
  }
  get upstream_rq_retry_overflow(): Counter {
    if (this._upstream_rq_retry_overflow === null)
      this._upstream_rq_retry_overflow = this.store.counter(`${this.prefix}upstream_rq_retry_overflow`);
    return this._upstream_rq_retry_overflow;
  }
  get upstream_rq_retry_limit_exceeded(): Counter {
    if (this._upstream_rq_retry_limit_exceeded === null)
      this._upstream_rq_retry_limit_exceeded = this.store.counter(
        `${this.prefix}upstream_rq_retry_limit_exceeded`,
      );
    return this._upstream_rq_retry_limit_exceeded;
  }
  /**
   * circuit_breakers.<priority>.<name> by name, for the HIGH priority's gauges (built once per
   * cluster's breakers, never per request).
   */
  circuitBreakerGauge(priority: 'default' | 'high', name: string): Gauge {
    return this.store.gauge(`${this.prefix}circuit_breakers.${priority}.${name}`);
  }
  /** circuit_breakers.default.* gauges (proxy/upstream/circuit-breakers.ts keeps them current). */
  get cb_default_rq_retry_open(): Gauge {
    if (this._cb_default_rq_retry_open === null)
      this._cb_default_rq_retry_open = this.store.gauge(
        `${this.prefix}circuit_breakers.default.rq_retry_open`,
      );
    return this._cb_default_rq_retry_open;
  }
  get cb_default_remaining_retries(): Gauge {
    if (this._cb_default_remaining_retries === null)
      this._cb_default_remaining_retries = this.store.gauge(
        `${this.prefix}circuit_breakers.default.remaining_retries`,
      );
    return this._cb_default_remaining_retries;
  }
  get cb_default_rq_open(): Gauge {
    if (this._cb_default_rq_open === null)
      this._cb_default_rq_open = this.store.gauge(`${this.prefix}circuit_breakers.default.rq_open`);
    return this._cb_default_rq_open;
  }
  get cb_default_rq_pending_open(): Gauge {
    if (this._cb_default_rq_pending_open === null)
      this._cb_default_rq_pending_open = this.store.gauge(
        `${this.prefix}circuit_breakers.default.rq_pending_open`,
      );
    return this._cb_default_rq_pending_open;
  }
  /** Only with the thresholds' track_remaining, as in Envoy. */
  get cb_default_remaining_cx(): Gauge {
    if (this._cb_default_remaining_cx === null)
      this._cb_default_remaining_cx = this.store.gauge(`${this.prefix}circuit_breakers.default.remaining_cx`);
    return this._cb_default_remaining_cx;
  }
  get cb_default_remaining_pending(): Gauge {
    if (this._cb_default_remaining_pending === null)
      this._cb_default_remaining_pending = this.store.gauge(
        `${this.prefix}circuit_breakers.default.remaining_pending`,
      );
    return this._cb_default_remaining_pending;
  }
  get cb_default_cx_open(): Gauge {
    if (this._cb_default_cx_open === null)
      this._cb_default_cx_open = this.store.gauge(`${this.prefix}circuit_breakers.default.cx_open`);
    return this._cb_default_cx_open;
  }
  get upstream_cx_http1_total(): Counter {
    if (this._upstream_cx_http1_total === null)
      this._upstream_cx_http1_total = this.store.counter(`${this.prefix}upstream_cx_http1_total`);
    return this._upstream_cx_http1_total;
  }
  get upstream_cx_http2_total(): Counter {
    if (this._upstream_cx_http2_total === null)
      this._upstream_cx_http2_total = this.store.counter(`${this.prefix}upstream_cx_http2_total`);
    return this._upstream_cx_http2_total;
  }
  get upstream_cx_connect_fail(): Counter {
    if (this._upstream_cx_connect_fail === null)
      this._upstream_cx_connect_fail = this.store.counter(`${this.prefix}upstream_cx_connect_fail`);
    return this._upstream_cx_connect_fail;
  }
  get upstream_cx_connect_timeout(): Counter {
    if (this._upstream_cx_connect_timeout === null)
      this._upstream_cx_connect_timeout = this.store.counter(`${this.prefix}upstream_cx_connect_timeout`);
    return this._upstream_cx_connect_timeout;
  }
  get upstream_cx_overflow(): Counter {
    if (this._upstream_cx_overflow === null)
      this._upstream_cx_overflow = this.store.counter(`${this.prefix}upstream_cx_overflow`);
    return this._upstream_cx_overflow;
  }
  get upstream_cx_destroy(): Counter {
    if (this._upstream_cx_destroy === null)
      this._upstream_cx_destroy = this.store.counter(`${this.prefix}upstream_cx_destroy`);
    return this._upstream_cx_destroy;
  }
  get upstream_cx_destroy_local(): Counter {
    if (this._upstream_cx_destroy_local === null)
      this._upstream_cx_destroy_local = this.store.counter(`${this.prefix}upstream_cx_destroy_local`);
    return this._upstream_cx_destroy_local;
  }
  get upstream_cx_destroy_remote(): Counter {
    if (this._upstream_cx_destroy_remote === null)
      this._upstream_cx_destroy_remote = this.store.counter(`${this.prefix}upstream_cx_destroy_remote`);
    return this._upstream_cx_destroy_remote;
  }
  get upstream_cx_rx_bytes_total(): Counter {
    if (this._upstream_cx_rx_bytes_total === null)
      this._upstream_cx_rx_bytes_total = this.store.counter(`${this.prefix}upstream_cx_rx_bytes_total`);
    return this._upstream_cx_rx_bytes_total;
  }
  get upstream_cx_tx_bytes_total(): Counter {
    if (this._upstream_cx_tx_bytes_total === null)
      this._upstream_cx_tx_bytes_total = this.store.counter(`${this.prefix}upstream_cx_tx_bytes_total`);
    return this._upstream_cx_tx_bytes_total;
  }
  get upstream_cx_protocol_error(): Counter {
    if (this._upstream_cx_protocol_error === null)
      this._upstream_cx_protocol_error = this.store.counter(`${this.prefix}upstream_cx_protocol_error`);
    return this._upstream_cx_protocol_error;
  }
  get upstream_cx_none_healthy(): Counter {
    if (this._upstream_cx_none_healthy === null)
      this._upstream_cx_none_healthy = this.store.counter(`${this.prefix}upstream_cx_none_healthy`);
    return this._upstream_cx_none_healthy;
  }
  get membership_change(): Counter {
    if (this._membership_change === null)
      this._membership_change = this.store.counter(`${this.prefix}membership_change`);
    return this._membership_change;
  }
  get update_attempt(): Counter {
    if (this._update_attempt === null)
      this._update_attempt = this.store.counter(`${this.prefix}update_attempt`);
    return this._update_attempt;
  }
  get update_success(): Counter {
    if (this._update_success === null)
      this._update_success = this.store.counter(`${this.prefix}update_success`);
    return this._update_success;
  }
  get update_failure(): Counter {
    if (this._update_failure === null)
      this._update_failure = this.store.counter(`${this.prefix}update_failure`);
    return this._update_failure;
  }
  get lb_healthy_panic(): Counter {
    if (this._lb_healthy_panic === null)
      this._lb_healthy_panic = this.store.counter(`${this.prefix}lb_healthy_panic`);
    return this._lb_healthy_panic;
  }

  /** Counts a completed upstream response under upstream_rq_<class>xx and upstream_rq_<code>. */
  recordResponse(status: number): void {
    const cls = (status / 100) | 0;
    if (cls >= 1 && cls <= 5) {
      let c = this.rqClass[cls - 1];
      if (c === null) {
        c = this.store.counter(`${this.prefix}upstream_rq_${cls}xx`);
        this.rqClass[cls - 1] = c;
      }
      c.inc();
    }
    let code = this.rqCode.get(status);
    if (code === undefined) {
      code = this.store.counter(`${this.prefix}upstream_rq_${status}`);
      this.rqCode.set(status, code);
    }
    code.inc();
  }
}
