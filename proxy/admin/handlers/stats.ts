import { enableRegexBacktrackingFallback, translateRe2 } from '../../config/regex.js';
import {
  formatStatsText,
  type StatsQuery,
  type StatType,
  statsJson,
} from '../../observability/stats-format.js';
import { withEndpointStats } from '../../upstream/endpoint-stats.js';
import {
  type AdminContext,
  type AdminRequest,
  type AdminResponse,
  json,
  TEXT,
  text,
} from '../admin-context.js';

/**
 * GET /stats (`?filter=<regex>`, `?usedonly`, `?type=Counters|Gauges|Histograms`,
 * `?format=json|prometheus`), GET /stats/prometheus, POST /reset_counters.
 */

const TYPES: readonly StatType[] = ['All', 'Counters', 'Gauges', 'Histograms'];

/** The query, or a 400 response. The filter regex is compiled here, once per admin request. */
export function parseStatsQuery(q: URLSearchParams): StatsQuery | AdminResponse {
  let filter: RegExp | null = null;
  const f = q.get('filter');
  if (f !== null && f !== '') {
    // RE2 syntax, as Envoy's filter; translated to a flag-free JS pattern that V8 can run on its
    // linear-time engine, so a hostile filter cannot stall the process.
    const r = translateRe2(f);
    if (!r.ok) return text(`Invalid re2 regex: ${r.error}\n`, 400);
    enableRegexBacktrackingFallback();
    filter = new RegExp(r.value.source);
  }
  const t = q.get('type') ?? 'All';
  const type = TYPES.find((x) => x === t);
  if (type === undefined) return text(`invalid type: ${t}; expected one of ${TYPES.join(', ')}\n`, 400);
  return { filter, usedOnly: q.has('usedonly'), type };
}

function isResponse(x: StatsQuery | AdminResponse): x is AdminResponse {
  return 'status' in x;
}

export function statsHandler(req: AdminRequest, ctx: AdminContext): AdminResponse {
  const q = parseStatsQuery(req.query);
  if (isResponse(q)) return q;
  const store = withEndpointStats(ctx.sources.stats, ctx.sources.clusters());
  const format = req.query.get('format');
  if (format === null || format === 'text') return text(formatStatsText(store, q));
  if (format === 'json') return json(statsJson(store, q));
  if (format === 'prometheus')
    return { status: 200, contentType: TEXT, body: ctx.prometheus.format(store, q) };
  return text(`usage: /stats?format=json|prometheus|text; unknown format '${format}'\n`, 400);
}

export function prometheusHandler(req: AdminRequest, ctx: AdminContext): AdminResponse {
  const q = parseStatsQuery(req.query);
  if (isResponse(q)) return q;
  const store = withEndpointStats(ctx.sources.stats, ctx.sources.clusters());
  return { status: 200, contentType: TEXT, body: ctx.prometheus.format(store, q) };
}

export function resetCountersHandler(_req: AdminRequest, ctx: AdminContext): AdminResponse {
  for (const c of ctx.sources.stats.counters.values()) c.value = 0;
  return text('OK\n');
}
