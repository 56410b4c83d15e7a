/** Builds a listener with one http_connection_manager chain from an HcmConfig override, for tests. */

import { routerFilterFactory } from '../../proxy/extensions/filters/http/router/factory.js';
import type { HcmConfig, ListenerModel } from '../../proxy/model/listener.js';
import { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import type { RouteTable } from '../../proxy/router/types.js';
import type { ClusterLookup } from '../../proxy/upstream/cluster.js';

export function hcmConfig(routeTable: RouteTable, over: Partial<HcmConfig> = {}): HcmConfig {
  return {
    codecType: 'AUTO',
    statPrefix: 'ingress',
    routeTable,
    httpFilters: [
      {
        name: 'envoy.filters.http.router',
        typeUrl: routerFilterFactory.typeUrl,
        config: { suppressEnvoyHeaders: false },
        factory: routerFilterFactory,
      },
    ],
    accessLogs: [],
    useRemoteAddress: true,
    xffNumTrustedHops: 0,
    skipXffAppend: false,
    generateRequestId: true,
    preserveExternalRequestId: false,
    alwaysSetRequestIdInResponse: false,
    normalizePath: false,
    mergeSlashes: false,
    pathWithEscapedSlashesAction: 'IMPLEMENTATION_SPECIFIC_DEFAULT',
    maxRequestHeadersKb: 60,
    idleTimeoutMs: 3_600_000,
    maxHeadersCount: 100,
    headersWithUnderscoresAction: 'ALLOW',
    streamIdleTimeoutMs: 300_000,
    requestTimeoutMs: 0,
    requestHeadersTimeoutMs: 0,
    drainTimeoutMs: 5000,
    serverName: 'remora',
    serverHeaderTransformation: 'OVERWRITE',
    upgradeTypes: [],
    via: '',
    ...over,
  };
}

export async function startHttpListener(
  cfg: HcmConfig,
  clusters: ClusterLookup,
  stats = new StatsStore(),
): Promise<{ listener: Listener; port: number; stats: StatsStore }> {
  const model: ListenerModel = {
    name: 'test',
    address: '127.0.0.1',
    port: 0,
    perConnectionBufferLimitBytes: 1024 * 1024,
    filterChains: [
      {
        name: '',
        match: { destinationPort: null, prefixRanges: [], sourcePrefixRanges: [], sourcePorts: [] },
        filter: { kind: 'http_connection_manager', config: cfg },
      },
    ],
  };
  const listener = new Listener(model, { stats, clusters });
  const port = await listener.listen();
  return { listener, port, stats };
}
