import { isObject, readUint, rejectUnknown } from '../config/fields.js';
import { type Issues, joinPath } from '../config/issues.js';
import type { ProtoObject } from '../config/proto-object.js';
import type { StreamCallbacks } from '../http/filter.js';
import { ResponseFlag } from '../http/response-flags.js';
import type { ThresholdsModel } from '../model/cluster.js';
import type { Gauge } from '../observability/stats.js';
import type { UpstreamCluster } from './cluster.js';

/** circuit_breakers.thresholds[].retry_budget: retries limited to a share of active requests. */
export interface RetryBudgetModel {
  /** budget_percent (default 20). */
  readonly budgetPercent: number;
  /** min_retry_concurrency (default 3). */
  readonly minRetryConcurrency: number;
}

/** Thresholds fields translated here (the cluster translator accepts them and spreads the result). */
export const THRESHOLD_EXTRA_FIELDS = ['retry_budget', 'track_remaining'] as const;

/** Reads Thresholds.retry_budget and track_remaining; absent fields stay absent. */
export function translateThresholdExtras(
  t: ProtoObject,
  path: string,
  issues: Issues,
): { retryBudget?: RetryBudgetModel; trackRemaining?: boolean } {
  const out: { retryBudget?: RetryBudgetModel; trackRemaining?: boolean } = {};
  if (t.track_remaining === true) out.trackRemaining = true;
  const rb = t.retry_budget;
  if (rb === undefined || rb === null) return out;
  const rp = joinPath(path, 'retry_budget');
  if (!isObject(rb)) {
    issues.error(rp, 'must be a message');
    return out;
  }
  rejectUnknown(rb, new Set(['budget_percent', 'min_retry_concurrency']), rp, issues);
  let budgetPercent = 20;
  const bp = rb.budget_percent;
  if (bp !== undefined && bp !== null) {
    const v = isObject(bp) ? bp.value : undefined;
    if (typeof v !== 'number' || !(v >= 0 && v <= 100))
      issues.error(joinPath(rp, 'budget_percent.value'), 'must be between 0 and 100');
    else budgetPercent = v;
  }
  out.retryBudget = {
    budgetPercent,
    minRetryConcurrency: readUint(rb, 'min_retry_concurrency', rp, issues, 3),
  };
  return out;
}

interface ThresholdsWithExtras extends ThresholdsModel {
  readonly retryBudget?: RetryBudgetModel;
  readonly trackRemaining?: boolean;
}

const DEFAULTS: ThresholdsWithExtras = {
  priority: 'DEFAULT',
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
};

/**
 * A cluster's circuit breakers for one routing priority (Envoy keeps one ResourceManager per
 * priority): requests admitted at this priority against max_requests, open retries against
 * max_retries or the retry budget, and, through the connection pools of this priority (a cluster
 * keeps one pool per host and priority, as Envoy does), open connections against max_connections
 * and waiting requests against max_pending_requests; with the circuit_breakers.<default|high>.*
 * gauges. A route's `priority` picks the instance (UpstreamCluster.breakers, poolFor).
 */
export class ClusterBreakers {
  retriesActive = 0;
  /** Requests admitted at this priority and not yet complete (Envoy's per-priority rq count). */
  requestsActive = 0;
  /** Connections open in this priority's pools. */
  connectionsActive = 0;
  /** Requests waiting in this priority's pools for a connection or a stream slot. */
  pendingActive = 0;
  readonly maxRequests: number;
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  private readonly maxRetries: number;
  private readonly budget: RetryBudgetModel | null;
  private readonly rqRetryOpen: Gauge;
  private readonly remainingRetries: Gauge;
  private readonly rqOpen: Gauge;
  private readonly cxOpen: Gauge;
  private readonly rqPendingOpen: Gauge;
  /** track_remaining: remaining_cx / remaining_pending (null when not tracked). */
  private readonly remainingCx: Gauge | null;
  private readonly remainingPending: Gauge | null;

  constructor(
    private readonly cluster: UpstreamCluster,
    thresholds: readonly ThresholdsModel[],
    priority: 'DEFAULT' | 'HIGH' = 'DEFAULT',
  ) {
    // Envoy's defaults apply to a priority with no thresholds entry.
    const t: ThresholdsWithExtras = thresholds.find((x) => x.priority === priority) ?? DEFAULTS;
    this.maxRetries = t.maxRetries;
    this.maxRequests = t.maxRequests;
    this.maxConnections = t.maxConnections;
    this.maxPendingRequests = t.maxPendingRequests;
    this.budget = t.retryBudget ?? null;
    const st = cluster.stats;
    if (priority === 'DEFAULT') {
      this.rqRetryOpen = st.cb_default_rq_retry_open;
      this.remainingRetries = st.cb_default_remaining_retries;
      this.rqOpen = st.cb_default_rq_open;
      this.cxOpen = st.cb_default_cx_open;
      this.rqPendingOpen = st.cb_default_rq_pending_open;
      this.remainingCx = t.trackRemaining === true ? st.cb_default_remaining_cx : null;
      this.remainingPending = t.trackRemaining === true ? st.cb_default_remaining_pending : null;
    } else {
      this.rqRetryOpen = st.circuitBreakerGauge('high', 'rq_retry_open');
      this.remainingRetries = st.circuitBreakerGauge('high', 'remaining_retries');
      this.rqOpen = st.circuitBreakerGauge('high', 'rq_open');
      this.cxOpen = st.circuitBreakerGauge('high', 'cx_open');
      this.rqPendingOpen = st.circuitBreakerGauge('high', 'rq_pending_open');
      this.remainingCx = t.trackRemaining === true ? st.circuitBreakerGauge('high', 'remaining_cx') : null;
      this.remainingPending =
        t.trackRemaining === true ? st.circuitBreakerGauge('high', 'remaining_pending') : null;
    }
    this.remainingCx?.set(this.maxConnections);
    this.remainingPending?.set(this.maxPendingRequests);
    this.remainingRetries.set(this.retryLimit());
  }

  /**
   * max_requests: whether one more request of this priority may start on the cluster (Envoy's
   * rq_open breaker). Admitted requests count until requestDone(). The caller answers 503 UO with
   * x-envoy-overloaded when it may not.
   */
  admitRequest(): boolean {
    const active = this.requestsActive;
    if (active >= this.maxRequests) {
      this.rqOpen.set(1);
      this.cluster.stats.upstream_rq_pending_overflow.inc();
      return false;
    }
    this.requestsActive = active + 1;
    this.rqOpen.set(active + 1 >= this.maxRequests ? 1 : 0);
    return true;
  }

  /** An admitted request completed (once per admitRequest() that returned true). */
  requestDone(): void {
    if (this.requestsActive > 0) this.requestsActive--;
    this.rqOpen.set(this.requestsActive >= this.maxRequests ? 1 : 0);
  }

  /**
   * max_connections: whether a pool of this priority that has `poolConnections` open may open one
   * more. As in Envoy, a pool with no connection at all always opens one, so its pending requests
   * are never stranded while other hosts hold the cluster's connections. A refusal counts
   * upstream_cx_overflow; the request then waits as pending for one of the pool's connections.
   * The pool calls connectionOpened() when it does open one.
   */
  canOpenConnection(poolConnections: number): boolean {
    if (this.connectionsActive < this.maxConnections || poolConnections === 0) return true;
    this.cluster.stats.upstream_cx_overflow.inc();
    this.cxOpen.set(1);
    return false;
  }

  /** A pool of this priority opened a connection (once per connection, closed or not yet). */
  connectionOpened(): void {
    this.connectionsActive++;
    this.connectionsChanged();
  }

  /** A connection of this priority's pools closed (once per connectionOpened()). */
  connectionClosed(): void {
    if (this.connectionsActive > 0) this.connectionsActive--;
    this.connectionsChanged();
  }

  private connectionsChanged(): void {
    const open = this.connectionsActive;
    this.cxOpen.set(open >= this.maxConnections ? 1 : 0);
    this.remainingCx?.set(Math.max(0, this.maxConnections - open));
  }

  /**
   * max_pending_requests: a request that found no ready connection becomes pending (waiting for a
   * connection, queued or on one still connecting). False when the breaker is open: the pool fails
   * the request with 'overflow' (503 UO) and upstream_rq_pending_overflow counts it. The cluster's
   * upstream_rq_pending_active counts the pending requests of both priorities.
   */
  startPending(): boolean {
    const st = this.cluster.stats;
    if (this.pendingActive >= this.maxPendingRequests) {
      st.upstream_rq_pending_overflow.inc();
      this.rqPendingOpen.set(1);
      return false;
    }
    this.pendingActive++;
    st.upstream_rq_pending_active.inc();
    st.upstream_rq_pending_total.inc();
    this.pendingChanged();
    return true;
  }

  /** A pending request got its connection, or finished (once per startPending() that returned true). */
  endPending(): void {
    if (this.pendingActive > 0) this.pendingActive--;
    this.cluster.stats.upstream_rq_pending_active.dec();
    this.pendingChanged();
  }

  private pendingChanged(): void {
    const n = this.pendingActive;
    this.rqPendingOpen.set(n >= this.maxPendingRequests ? 1 : 0);
    this.remainingPending?.set(Math.max(0, this.maxPendingRequests - n));
  }

  /**
   * Retries allowed now: the budget's share of this priority's active and pending requests, or
   * max_retries.
   */
  retryLimit(): number {
    const b = this.budget;
    if (b === null) return this.maxRetries;
    const load = this.requestsActive + this.pendingActive;
    return Math.max(b.minRetryConcurrency, Math.floor((load * b.budgetPercent) / 100));
  }

  /** Takes a retry slot; false when the breaker is open (the caller counts upstream_rq_retry_overflow). */
  tryStartRetry(): boolean {
    const limit = this.retryLimit();
    if (this.retriesActive >= limit) {
      this.rqRetryOpen.set(1);
      return false;
    }
    this.retriesActive++;
    this.update(limit);
    return true;
  }

  finishRetry(): void {
    if (this.retriesActive > 0) this.retriesActive--;
    this.update(this.retryLimit());
  }

  private update(limit: number): void {
    this.rqRetryOpen.set(this.retriesActive >= limit ? 1 : 0);
    this.remainingRetries.set(Math.max(0, limit - this.retriesActive));
  }
}

/**
 * A cluster's breakers for both routing priorities, owned by the cluster (UpstreamCluster.breakers).
 * Each priority's instance is built on first use, so its gauges are first set when the cluster is
 * first used (a cluster replacing one of the same name shares its gauges and leaves them alone
 * until then); a replacement cluster gets its own, fresh instances.
 */
export class PriorityBreakers {
  private defaultBreakers: ClusterBreakers | null = null;
  private highBreakers: ClusterBreakers | null = null;

  constructor(
    private readonly cluster: UpstreamCluster,
    /** The cluster's circuit_breakers.thresholds (empty: Envoy's defaults for both priorities). */
    private readonly thresholds: readonly ThresholdsModel[],
  ) {}

  /** The breakers for a route's `priority` (DEFAULT when omitted). */
  get(priority: 'DEFAULT' | 'HIGH' = 'DEFAULT'): ClusterBreakers {
    if (priority === 'HIGH') {
      if (this.highBreakers === null)
        this.highBreakers = new ClusterBreakers(this.cluster, this.thresholds, 'HIGH');
      return this.highBreakers;
    }
    if (this.defaultBreakers === null)
      this.defaultBreakers = new ClusterBreakers(this.cluster, this.thresholds, 'DEFAULT');
    return this.defaultBreakers;
  }
}

const OVERLOADED_BODY = Buffer.from(
  'upstream connect error or disconnect/reset before headers. reset reason: overflow',
);

/** The local reply for a tripped breaker: 503, response flag UO, x-envoy-overloaded: true. */
export function sendOverloaded(cb: StreamCallbacks): void {
  cb.info.setFlag(ResponseFlag.UpstreamOverflow);
  cb.info.responseCodeDetails = 'upstream_reset_before_response_started{overflow}';
  cb.encodeHeaders(
    503,
    { 'x-envoy-overloaded': 'true', 'content-type': 'text/plain', 'content-length': OVERLOADED_BODY.length },
    false,
  );
  cb.encodeData(OVERLOADED_BODY, true);
}
