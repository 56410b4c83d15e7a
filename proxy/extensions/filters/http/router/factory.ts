import { rejectUnknown } from '../../../../config/fields.js';
import type { Issues } from '../../../../config/issues.js';
import { joinPath } from '../../../../config/issues.js';
import type { ProtoObject } from '../../../../config/proto-object.js';
import type { HttpFilterFactory, StreamCallbacks } from '../../../../http/filter.js';
import { type RouterConfig, RouterFilter } from './router-filter.js';

export const ROUTER_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

/** Router fields remora accepts; the rest of Envoy's Router message is refused, not ignored. */
const KNOWN = new Set(['@type', 'suppress_envoy_headers', 'dynamic_stats', 'start_child_span']);

export const routerFilterFactory: HttpFilterFactory<RouterConfig> = {
  name: 'envoy.filters.http.router',
  typeUrl: ROUTER_TYPE_URL,
  terminal: true,
  parseConfig(config: ProtoObject, path: string, issues: Issues): RouterConfig {
    rejectUnknown(config, KNOWN, path, issues, 'field not supported by remora');
    // Envoy's dynamic_stats: false stops the per-request cluster stats (upstream_rq_<code>,
    // upstream_rq_time, ...); remora always records them, so false would be silently ignored.
    // start_child_span only matters with tracing, which remora does not have: accepted.
    if (config.dynamic_stats === false)
      issues.error(
        joinPath(path, 'dynamic_stats'),
        'false is not supported by remora (cluster request stats are always recorded)',
      );
    return { suppressEnvoyHeaders: config.suppress_envoy_headers === true };
  },
  create(config: RouterConfig, callbacks: StreamCallbacks): RouterFilter {
    return new RouterFilter(config, callbacks);
  },
};
