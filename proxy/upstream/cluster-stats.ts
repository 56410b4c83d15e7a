import type { Counter, Gauge, Histogram, StatsStore } from '../observability/stats.js';

/**
 * A cluster's stats under Envoy's names (`cluster.<name>.*`), looked up once when the cluster is
 * built. The router increments the request stats, pools the connection stats.
 */
export class ClusterStats {
  readonly upstream_rq_total: Counter;
  readonly upstream_rq_active: Gauge;
  readonly upstream_rq_pending_total: Counter;
  readonly upstream_rq_pending_active: Gauge;
  readonly upstream_rq_pending_overflow: Counter;
  readonly upstream_rq_completed: Counter;
  readonly upstream_rq_timeout: Counter;
  readonly upstream_rq_per_try_timeout: Counter;
  readonly upstream_rq_rx_reset: Counter;
  readonly upstream_rq_tx_reset: Counter;
  readonly upstream_rq_retry: Counter;
  readonly upstream_rq_retry_success: Counter;
  readonly upstream_rq_retry_overflow: Counter;
  readonly upstream_rq_retry_limit_exceeded: Counter;
  /** circuit_breakers.default.* gauges (proxy/upstream/circuit-breakers.ts keeps them current). */
  readonly cb_default_rq_retry_open: Gauge;
  readonly cb_default_remaining_retries: Gauge;
  readonly cb_default_rq_open: Gauge;
  readonly cb_default_rq_pending_open: Gauge;
  readonly cb_default_cx_open: Gauge;
  readonly upstream_rq_time: Histogram;
  readonly upstream_cx_total: Counter;
  readonly upstream_cx_active: Gauge;
  readonly upstream_cx_http1_total: Counter;
  readonly upstream_cx_http2_total: Counter;
  readonly upstream_cx_connect_fail: Counter;
  readonly upstream_cx_connect_timeout: Counter;
  readonly upstream_cx_overflow: Counter;
  readonly upstream_cx_destroy: Counter;
  readonly upstream_cx_destroy_local: Counter;
  readonly upstream_cx_destroy_remote: Counter;
  readonly upstream_cx_rx_bytes_total: Counter;
  readonly upstream_cx_tx_bytes_total: Counter;
  readonly upstream_cx_protocol_error: Counter;
  readonly upstream_cx_none_healthy: Counter;
  readonly membership_total: Gauge;
  readonly membership_healthy: Gauge;
  readonly membership_degraded: Gauge;
  readonly membership_change: Counter;
  readonly update_attempt: Counter;
  readonly update_success: Counter;
  readonly update_failure: Counter;
  readonly lb_healthy_panic: Counter;
  /** upstream_rq_1xx .. upstream_rq_5xx, indexed by status / 100. */
  private readonly rqClass: Counter[];
  /** upstream_rq_<code>, created on first use of a code (codes are few). */
  private readonly rqCode = new Map<number, Counter>();
  private readonly prefix: string;

  constructor(
    private readonly store: StatsStore,
    clusterName: string,
  ) {
    const p = `cluster.${clusterName}.`;
    this.prefix = p;
    const c = (n: string) => store.counter(p + n);
    const g = (n: string) => store.gauge(p + n);
    this.upstream_rq_total = c('upstream_rq_total');
    this.upstream_rq_active = g('upstream_rq_active');
    this.upstream_rq_pending_total = c('upstream_rq_pending_total');
    this.upstream_rq_pending_active = g('upstream_rq_pending_active');
    this.upstream_rq_pending_overflow = c('upstream_rq_pending_overflow');
    this.upstream_rq_completed = c('upstream_rq_completed');
    this.upstream_rq_timeout = c('upstream_rq_timeout');
    this.upstream_rq_per_try_timeout = c('upstream_rq_per_try_timeout');
    this.upstream_rq_rx_reset = c('upstream_rq_rx_reset');
    this.upstream_rq_tx_reset = c('upstream_rq_tx_reset');
    this.upstream_rq_retry = c('upstream_rq_retry');
    this.upstream_rq_retry_success = c('upstream_rq_retry_success');
    this.upstream_rq_retry_overflow = c('upstream_rq_retry_overflow');
    this.upstream_rq_retry_limit_exceeded = c('upstream_rq_retry_limit_exceeded');
    this.cb_default_rq_retry_open = g('circuit_breakers.default.rq_retry_open');
    this.cb_default_remaining_retries = g('circuit_breakers.default.remaining_retries');
    this.cb_default_rq_open = g('circuit_breakers.default.rq_open');
    this.cb_default_rq_pending_open = g('circuit_breakers.default.rq_pending_open');
    this.cb_default_cx_open = g('circuit_breakers.default.cx_open');
    this.upstream_rq_time = store.histogram(`${p}upstream_rq_time`);
    this.upstream_cx_total = c('upstream_cx_total');
    this.upstream_cx_active = g('upstream_cx_active');
    this.upstream_cx_http1_total = c('upstream_cx_http1_total');
    this.upstream_cx_http2_total = c('upstream_cx_http2_total');
    this.upstream_cx_connect_fail = c('upstream_cx_connect_fail');
    this.upstream_cx_connect_timeout = c('upstream_cx_connect_timeout');
    this.upstream_cx_overflow = c('upstream_cx_overflow');
    this.upstream_cx_destroy = c('upstream_cx_destroy');
    this.upstream_cx_destroy_local = c('upstream_cx_destroy_local');
    this.upstream_cx_destroy_remote = c('upstream_cx_destroy_remote');
    this.upstream_cx_rx_bytes_total = c('upstream_cx_rx_bytes_total');
    this.upstream_cx_tx_bytes_total = c('upstream_cx_tx_bytes_total');
    this.upstream_cx_protocol_error = c('upstream_cx_protocol_error');
    this.upstream_cx_none_healthy = c('upstream_cx_none_healthy');
    this.membership_total = g('membership_total');
    this.membership_healthy = g('membership_healthy');
    this.membership_degraded = g('membership_degraded');
    this.membership_change = c('membership_change');
    this.update_attempt = c('update_attempt');
    this.update_success = c('update_success');
    this.update_failure = c('update_failure');
    this.lb_healthy_panic = c('lb_healthy_panic');
    this.rqClass = [1, 2, 3, 4, 5].map((k) => c(`upstream_rq_${k}xx`));
  }

  /** Counts a completed upstream response under upstream_rq_<class>xx and upstream_rq_<code>. */
  recordResponse(status: number): void {
    const cls = (status / 100) | 0;
    if (cls >= 1 && cls <= 5) this.rqClass[cls - 1].inc();
    let code = this.rqCode.get(status);
    if (code === undefined) {
      code = this.store.counter(`${this.prefix}upstream_rq_${status}`);
      this.rqCode.set(status, code);
    }
    code.inc();
  }
}
