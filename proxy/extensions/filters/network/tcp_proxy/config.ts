import { asArray, asNumber, asObject, asString, readDurationMs } from '../../../../config/fields.js';
import { type Issues, joinPath } from '../../../../config/issues.js';
import type { ProtoObject } from '../../../../config/proto-object.js';
import type { TcpProxyConfig, WeightedClusterModel } from '../../../../model/listener.js';
import { type AccessLogTranslator, translateAccessLogs } from '../http_connection_manager/config.js';

export const TCP_PROXY_TYPE_URL =
  'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

const UNSUPPORTED = [
  'metadata_match',
  'downstream_idle_timeout',
  'upstream_idle_timeout',
  'tunneling_config',
  'max_downstream_connection_duration',
  'on_demand',
];

/** TcpProxy (decoded) → TcpProxyConfig. Defaults: idle_timeout 1 h, max_connect_attempts 1 (Envoy's). */
export function translateTcpProxy(
  c: ProtoObject,
  path: string,
  issues: Issues,
  accessLog?: AccessLogTranslator,
): TcpProxyConfig | null {
  const before = issues.errorCount;
  for (const key of UNSUPPORTED)
    if (c[key] !== undefined) issues.error(joinPath(path, key), 'not supported by remora');
  const statPrefix = asString(c.stat_prefix);
  if (statPrefix === '') issues.error(joinPath(path, 'stat_prefix'), 'is required');
  const cluster = asString(c.cluster);
  const weighted: WeightedClusterModel[] = [];
  let total = 0;
  const wc = asObject(c.weighted_clusters);
  if (wc !== undefined) {
    const list = asArray(wc.clusters);
    const wpath = joinPath(joinPath(path, 'weighted_clusters'), 'clusters');
    if (list.length === 0) issues.error(wpath, 'must name at least one cluster');
    list.forEach((v, i) => {
      const e = asObject(v) ?? {};
      const name = asString(e.name);
      const weight = asNumber(e.weight, 0);
      if (name === '') issues.error(joinPath(joinPath(wpath, i), 'name'), 'is required');
      if (weight < 1) issues.error(joinPath(joinPath(wpath, i), 'weight'), 'must be at least 1');
      weighted.push({ name, weight });
      total += weight;
    });
  }
  if (cluster === '' && wc === undefined)
    issues.error(path, 'one of cluster or weighted_clusters is required');
  if (cluster !== '' && wc !== undefined)
    issues.error(path, 'only one of cluster or weighted_clusters may be set');
  const idle = readDurationMs(c, 'idle_timeout', path, issues, 3_600_000);
  const attempts = asNumber(c.max_connect_attempts, 1);
  if (attempts < 1) issues.error(joinPath(path, 'max_connect_attempts'), 'must be at least 1');
  const hashOnSourceIp = readHashPolicy(c.hash_policy, joinPath(path, 'hash_policy'), issues);
  const accessLogs = translateAccessLogs(c.access_log, joinPath(path, 'access_log'), issues, accessLog);
  if (issues.errorCount > before) return null;
  return {
    statPrefix,
    cluster,
    weightedClusters: weighted,
    totalWeight: total,
    idleTimeoutMs: idle,
    maxConnectAttempts: attempts,
    accessLogs,
    hashOnSourceIp,
  };
}

/**
 * TcpProxy.hash_policy (type.v3.HashPolicy, at most one entry, as Envoy validates): only source_ip
 * is supported; filter_state needs a filter-state object no remora network filter sets.
 */
function readHashPolicy(v: ProtoObject[string], path: string, issues: Issues): boolean {
  const list = asArray(v);
  if (list.length > 1) issues.error(path, 'must have at most one entry');
  let sourceIp = false;
  list.forEach((e, i) => {
    const p = joinPath(path, i);
    const o = asObject(e) ?? {};
    if (o.filter_state !== undefined) issues.error(joinPath(p, 'filter_state'), 'not supported by remora');
    else if (o.source_ip !== undefined) sourceIp = true;
    else issues.error(p, 'one of source_ip or filter_state is required');
  });
  return sourceIp;
}
