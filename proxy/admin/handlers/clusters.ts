import { HealthFlag, type Host } from '../../upstream/host.js';
import { type AdminContext, type AdminRequest, type AdminResponse, json, text } from '../admin-context.js';
import { type CircuitBreakerThresholds, type ClusterAdminDetails, DEFAULT_THRESHOLDS } from '../sources.js';

/**
 * GET /clusters in Envoy's text format (`cluster::host::stat::value` lines) or, with
 * `?format=json`, Envoy's admin.v3.Clusters JSON.
 */

/** Envoy's health flag names in its order, as `/failed_active_hc/...` in health_flags. */
const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [HealthFlag.FailedActiveHc, 'failed_active_hc'],
  [HealthFlag.FailedOutlierCheck, 'failed_outlier_check'],
  [HealthFlag.FailedEdsHealth, 'failed_eds_health'],
  [HealthFlag.DegradedActiveHc, 'degraded_active_hc'],
  [HealthFlag.DegradedEdsHealth, 'degraded_eds_health'],
  [HealthFlag.PendingDynamicRemoval, 'pending_dynamic_removal'],
  [HealthFlag.PendingActiveHc, 'pending_active_hc'],
  [HealthFlag.ExcludedViaImmediateHcFail, 'excluded_via_immediate_hc_fail'],
  [HealthFlag.ActiveHcTimeout, 'active_hc_timeout'],
];

export function healthFlagsText(flags: number): string {
  if (flags === 0) return 'healthy';
  let s = '';
  for (const [bit, name] of FLAG_NAMES) if ((flags & bit) !== 0) s += `/${name}`;
  return s;
}

/**
 * Per-host stats as Envoy lists them: sorted by name, counters and gauges together. `cost` is the
 * balancer's current cost of the host (peak EWMA only, remora's addition): shown as the gauge
 * peak_ewma_cost_us, latency estimate × (active requests + 1) in microseconds.
 */
function hostStats(h: Host, cost?: number): Array<[string, number, 'COUNTER' | 'GAUGE']> {
  const out: Array<[string, number, 'COUNTER' | 'GAUGE']> = [
    ['cx_active', h.cxActive, 'GAUGE'],
    ['cx_connect_fail', h.cxConnectFail, 'COUNTER'],
    ['cx_total', h.cxTotal, 'COUNTER'],
  ];
  if (cost !== undefined) out.push(['peak_ewma_cost_us', Math.round(cost * 1000), 'GAUGE']);
  out.push(
    ['rq_active', h.rqActive, 'GAUGE'],
    ['rq_error', h.rqError, 'COUNTER'],
    ['rq_success', h.rqSuccess, 'COUNTER'],
    ['rq_timeout', h.rqTimeout, 'COUNTER'],
    ['rq_total', h.rqTotal, 'COUNTER'],
  );
  return out;
}

function thresholdLines(name: string, prio: string, t: CircuitBreakerThresholds): string {
  return (
    `${name}::${prio}::max_connections::${t.maxConnections}\n` +
    `${name}::${prio}::max_pending_requests::${t.maxPendingRequests}\n` +
    `${name}::${prio}::max_requests::${t.maxRequests}\n` +
    `${name}::${prio}::max_retries::${t.maxRetries}\n`
  );
}

function successRate(d: ClusterAdminDetails | undefined, h: Host): number {
  return d?.successRate?.(h.key) ?? -1;
}

function sortedClusters(ctx: AdminContext) {
  return [...ctx.sources.clusters()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function clustersText(ctx: AdminContext): string {
  let s = '';
  for (const c of sortedClusters(ctx)) {
    const n = c.name;
    const d = ctx.sources.clusterDetails?.(n);
    s += `${n}::observability_name::${n}\n`;
    s += thresholdLines(n, 'default_priority', d?.defaultPriority ?? DEFAULT_THRESHOLDS);
    s += thresholdLines(n, 'high_priority', d?.highPriority ?? DEFAULT_THRESHOLDS);
    s += `${n}::added_via_api::${d?.addedViaApi === true}\n`;
    for (const h of c.allHosts()) {
      const p = `${n}::${h.key}::`;
      for (const [stat, v] of hostStats(h, c.costOf?.(h))) s += `${p}${stat}::${v}\n`;
      s += `${p}hostname::${h.hostname}\n`;
      s += `${p}health_flags::${healthFlagsText(h.healthFlags)}\n`;
      s += `${p}weight::${h.weight}\n`;
      s += `${p}region::${h.locality.region}\n`;
      s += `${p}zone::${h.locality.zone}\n`;
      s += `${p}sub_zone::${h.locality.subZone}\n`;
      s += `${p}canary::false\n`;
      s += `${p}priority::${h.priority}\n`;
      s += `${p}success_rate::${successRate(d, h)}\n`;
      s += `${p}local_origin_success_rate::-1\n`;
    }
  }
  return s;
}

function thresholdsJson(t: CircuitBreakerThresholds, high: boolean) {
  return {
    ...(high ? { priority: 'HIGH' } : {}),
    max_connections: t.maxConnections,
    max_pending_requests: t.maxPendingRequests,
    max_requests: t.maxRequests,
    max_retries: t.maxRetries,
  };
}

function healthStatusJson(flags: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (flags & HealthFlag.FailedActiveHc) out.failed_active_health_check = true;
  if (flags & HealthFlag.FailedOutlierCheck) out.failed_outlier_check = true;
  if (flags & HealthFlag.DegradedActiveHc) out.failed_active_degraded_check = true;
  if (flags & HealthFlag.PendingDynamicRemoval) out.pending_dynamic_removal = true;
  if (flags & HealthFlag.PendingActiveHc) out.pending_active_hc = true;
  if (flags & HealthFlag.ExcludedViaImmediateHcFail) out.excluded_via_immediate_hc_fail = true;
  if (flags & HealthFlag.ActiveHcTimeout) out.active_hc_timeout = true;
  out.eds_health_status =
    flags & HealthFlag.FailedEdsHealth
      ? 'UNHEALTHY'
      : flags & HealthFlag.DegradedEdsHealth
        ? 'DEGRADED'
        : 'HEALTHY';
  return out;
}

function clustersJson(ctx: AdminContext) {
  return {
    cluster_statuses: sortedClusters(ctx).map((c) => {
      const d = ctx.sources.clusterDetails?.(c.name);
      return {
        name: c.name,
        added_via_api: d?.addedViaApi === true,
        host_statuses: c.allHosts().map((h) => {
          const stats = hostStats(h, c.costOf?.(h));
          const sr = successRate(d, h);
          return {
            address: { socket_address: { address: h.address, port_value: h.port } },
            // Counters first, then gauges, as Envoy lists them; uint64 values are strings in proto3 JSON.
            stats: [
              ...stats.filter((x) => x[2] === 'COUNTER').map(([name, v]) => ({ name, value: String(v) })),
              ...stats
                .filter((x) => x[2] === 'GAUGE')
                .map(([name, v]) => ({ type: 'GAUGE', name, value: String(v) })),
            ],
            health_status: healthStatusJson(h.healthFlags),
            ...(sr >= 0 ? { success_rate: { value: sr } } : {}),
            weight: h.weight,
            hostname: h.hostname,
            priority: h.priority,
            locality: {
              ...(h.locality.region ? { region: h.locality.region } : {}),
              ...(h.locality.zone ? { zone: h.locality.zone } : {}),
              ...(h.locality.subZone ? { sub_zone: h.locality.subZone } : {}),
            },
          };
        }),
        circuit_breakers: {
          thresholds: [
            thresholdsJson(d?.defaultPriority ?? DEFAULT_THRESHOLDS, false),
            thresholdsJson(d?.highPriority ?? DEFAULT_THRESHOLDS, true),
          ],
        },
        observability_name: c.name,
      };
    }),
  };
}

export function clustersHandler(req: AdminRequest, ctx: AdminContext): AdminResponse {
  const format = req.query.get('format');
  if (format === 'json') return json(clustersJson(ctx));
  if (format !== null && format !== 'text')
    return text(`unknown format '${format}'; use text or json\n`, 400);
  return text(clustersText(ctx));
}
