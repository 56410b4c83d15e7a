import { StatsStore } from '../observability/stats.js';
import type { UpstreamCluster } from './cluster.js';
import type { Host } from './host.js';

/**
 * Per-endpoint stats (Cluster.track_cluster_stats.per_endpoint_stats), named as Envoy names them:
 * `cluster.<cluster>.endpoint.<address>.<stat>` with the address's `:` written `_`
 * (`cluster.backend.endpoint.127.0.0.1_8080.rq_total`).
 *
 * Like Envoy, they are not separate counters bumped on the request path: every host already keeps
 * its counters for /clusters and the balancers (Host.rqTotal, ...), and the stats are read from
 * them when /stats is asked. So a cluster with the option off costs nothing, one with it on costs
 * nothing per request, and hosts that leave take their stats with them.
 */

const COUNTERS = ['cx_connect_fail', 'cx_total', 'rq_error', 'rq_success', 'rq_timeout', 'rq_total'] as const;
const GAUGES = ['cx_active', 'rq_active', 'healthy'] as const;

/** The stat-name segment for a host: `127.0.0.1_8080`, `[__1]_8080` (Envoy's sanitising of `:`). */
export function endpointStatSegment(host: Host): string {
  return host.key.replaceAll(':', '_');
}

function counterValue(h: Host, s: (typeof COUNTERS)[number]): number {
  switch (s) {
    case 'cx_connect_fail':
      return h.cxConnectFail;
    case 'cx_total':
      return h.cxTotal;
    case 'rq_error':
      return h.rqError;
    case 'rq_success':
      return h.rqSuccess;
    case 'rq_timeout':
      return h.rqTimeout;
    case 'rq_total':
      return h.rqTotal;
  }
}

function gaugeValue(h: Host, s: (typeof GAUGES)[number]): number {
  switch (s) {
    case 'cx_active':
      return h.cxActive;
    case 'rq_active':
      return h.rqActive;
    case 'healthy':
      return h.healthy ? 1 : 0;
  }
}

/**
 * The store as /stats should show it: `store` itself when no cluster asks for per-endpoint stats,
 * otherwise a snapshot holding the same stat objects plus the endpoints' stats of every cluster
 * that does. Built per admin request (O(stats + hosts)); the live store is not touched.
 */
export function withEndpointStats(store: StatsStore, clusters: Iterable<UpstreamCluster>): StatsStore {
  let view: StatsStore | null = null;
  for (const c of clusters) {
    if (c.perEndpointStats !== true) continue;
    if (view === null) {
      view = new StatsStore();
      for (const [k, v] of store.counters) view.counters.set(k, v);
      for (const [k, v] of store.gauges) view.gauges.set(k, v);
      for (const [k, v] of store.histograms) view.histograms.set(k, v);
    }
    for (const h of c.allHosts()) {
      const p = `cluster.${c.name}.endpoint.${endpointStatSegment(h)}.`;
      for (const s of COUNTERS) view.counter(p + s).value = counterValue(h, s);
      for (const s of GAUGES) view.gauge(p + s).value = gaugeValue(h, s);
    }
  }
  return view ?? store;
}
