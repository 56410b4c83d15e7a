import { isIP } from 'node:net';
import { asArray, asObject, asString } from '../config/fields.js';
import { type Issues, joinPath } from '../config/issues.js';
import { type ProtoObject, type ProtoValue, typeUrlOf } from '../config/proto-object.js';
import {
  HCM_TYPE_URL,
  type HcmTranslateDeps,
  translateHcm,
} from '../extensions/filters/network/http_connection_manager/config.js';
import { TCP_PROXY_TYPE_URL, translateTcpProxy } from '../extensions/filters/network/tcp_proxy/config.js';
import type {
  CidrRange,
  FilterChainMatchModel,
  FilterChainModel,
  ListenerModel,
  NetworkFilterModel,
} from '../model/listener.js';

export type ListenerTranslateDeps = HcmTranslateDeps;

const LISTENER_UNSUPPORTED = [
  'listener_filters',
  'default_filter_chain',
  'filter_chain_matcher',
  'use_original_dst',
  'transparent',
  'freebind',
  'socket_options',
  'additional_addresses',
  'internal_listener',
  'udp_listener_config',
  'api_listener',
];

/**
 * Listener fields that remora accepts without acting on them, and why that is right:
 * - metadata, traffic_direction: informational in Envoy too; they stay in the stored resource, so
 *   /config_dump shows them.
 * - listener_filters_timeout, continue_on_listener_filters_timeout: only govern listener filters,
 *   which remora rejects above; Envoy ignores them without listener filters as well.
 */
function checkListenerOptions(l: ProtoObject, path: string, issues: Issues): void {
  // bind_to_port false means "receive connections handed over by another listener" (original
  // destination redirection); remora has no such hand-over, so the listener would never serve.
  if (l.bind_to_port === false)
    issues.error(
      joinPath(path, 'bind_to_port'),
      'false is not supported by remora (no original-destination hand-over); omit it or set true',
    );
  // Listener access logs log connections that no filter chain accepted; remora's listener does not
  // build a StreamInfo for those, so the logs would silently stay empty.
  if (asArray(l.access_log).length > 0)
    issues.error(
      joinPath(path, 'access_log'),
      'listener access logs are not supported by remora; configure access_log on the http_connection_manager or tcp_proxy',
    );
  // DEFAULT: drained by /drain_listeners, shutdown and LDS removal alike, which is what remora does.
  if (l.drain_type !== undefined && l.drain_type !== 'DEFAULT')
    issues.error(joinPath(path, 'drain_type'), 'only DEFAULT is supported by remora');
}

const MATCH_UNSUPPORTED = [
  'server_names',
  'application_protocols',
  'direct_source_prefix_ranges',
  'source_type',
];

function cidrs(v: ProtoValue | undefined, path: string, issues: Issues): CidrRange[] {
  const out: CidrRange[] = [];
  asArray(v).forEach((e, i) => {
    const r = asObject(e) ?? {};
    const address = asString(r.address_prefix);
    const len = typeof r.prefix_len === 'number' ? r.prefix_len : isIP(address) === 6 ? 128 : 32;
    const fam = isIP(address);
    if (fam === 0)
      issues.error(
        joinPath(joinPath(path, i), 'address_prefix'),
        `${JSON.stringify(address)} is not an IP address`,
      );
    else if (len < 0 || len > (fam === 4 ? 32 : 128))
      issues.error(joinPath(joinPath(path, i), 'prefix_len'), 'out of range');
    out.push({ address, prefixLen: len });
  });
  return out;
}

function translateMatch(m: ProtoObject | undefined, path: string, issues: Issues): FilterChainMatchModel {
  if (m === undefined)
    return { destinationPort: null, prefixRanges: [], sourcePrefixRanges: [], sourcePorts: [] };
  for (const k of MATCH_UNSUPPORTED)
    if (m[k] !== undefined) issues.error(joinPath(path, k), 'not supported by remora');
  const tp = m.transport_protocol;
  if (tp !== undefined && tp !== 'raw_buffer')
    issues.error(joinPath(path, 'transport_protocol'), 'only raw_buffer is supported');
  const dp = m.destination_port;
  if (dp !== undefined && (typeof dp !== 'number' || dp < 1 || dp > 65535)) {
    issues.error(joinPath(path, 'destination_port'), 'must be in 1..65535');
  }
  return {
    destinationPort: typeof dp === 'number' ? dp : null,
    prefixRanges: cidrs(m.prefix_ranges, joinPath(path, 'prefix_ranges'), issues),
    sourcePrefixRanges: cidrs(m.source_prefix_ranges, joinPath(path, 'source_prefix_ranges'), issues),
    sourcePorts: asArray(m.source_ports).filter((p): p is number => typeof p === 'number'),
  };
}

function translateNetworkFilters(
  list: ProtoValue | undefined,
  path: string,
  issues: Issues,
  deps: ListenerTranslateDeps,
): NetworkFilterModel | null {
  const filters = asArray(list);
  if (filters.length === 0) {
    issues.error(
      path,
      'a filter chain needs a terminal network filter (http_connection_manager or tcp_proxy)',
    );
    return null;
  }
  if (filters.length > 1) {
    issues.error(
      path,
      'only one network filter per chain is supported (http_connection_manager or tcp_proxy)',
    );
  }
  const fpath = joinPath(path, 0);
  const f = asObject(filters[0]) ?? {};
  const tc = asObject(f.typed_config);
  if (tc === undefined) {
    issues.error(joinPath(fpath, 'typed_config'), 'is required');
    return null;
  }
  const url = typeUrlOf(tc);
  const tpath = joinPath(fpath, 'typed_config');
  if (url === HCM_TYPE_URL) {
    const config = translateHcm(tc, tpath, issues, deps);
    return config === null ? null : { kind: 'http_connection_manager', config };
  }
  if (url === TCP_PROXY_TYPE_URL) {
    const config = translateTcpProxy(tc, tpath, issues, deps.accessLog);
    return config === null ? null : { kind: 'tcp_proxy', config };
  }
  issues.error(tpath, `unknown network filter type ${url}`);
  return null;
}

/**
 * envoy.config.listener.v3.Listener (decoded) → ListenerModel, or null with the problems in
 * `issues`. Used for bootstrap static_resources.listeners and for LDS alike.
 */
export function translateListener(
  l: ProtoObject,
  path: string,
  issues: Issues,
  deps: ListenerTranslateDeps,
): ListenerModel | null {
  const before = issues.errorCount;
  for (const k of LISTENER_UNSUPPORTED)
    if (l[k] !== undefined) issues.error(joinPath(path, k), 'not supported by remora');
  checkListenerOptions(l, path, issues);
  const name = asString(l.name);
  const sa = asObject(asObject(l.address)?.socket_address);
  const apath = joinPath(joinPath(path, 'address'), 'socket_address');
  let address = '';
  let port = 0;
  if (sa === undefined) issues.error(joinPath(path, 'address'), 'socket_address is required');
  else {
    address = asString(sa.address);
    if (isIP(address) === 0)
      issues.error(joinPath(apath, 'address'), `${JSON.stringify(address)} is not an IP address`);
    const pv = sa.port_value;
    if (typeof pv !== 'number' || pv < 0 || pv > 65535 || !Number.isInteger(pv)) {
      issues.error(joinPath(apath, 'port_value'), 'must be in 0..65535');
    } else port = pv;
    if (sa.protocol !== undefined && sa.protocol !== 'TCP')
      issues.error(joinPath(apath, 'protocol'), 'only TCP is supported');
  }
  const chains: FilterChainModel[] = [];
  const list = asArray(l.filter_chains);
  const cpath = joinPath(path, 'filter_chains');
  if (list.length === 0) issues.error(cpath, 'at least one filter chain is required');
  list.forEach((v, i) => {
    const p = joinPath(cpath, i);
    const fc = asObject(v) ?? {};
    if (fc.transport_socket !== undefined)
      issues.error(joinPath(p, 'transport_socket'), 'TLS is not supported yet');
    const match = translateMatch(asObject(fc.filter_chain_match), joinPath(p, 'filter_chain_match'), issues);
    const filter = translateNetworkFilters(fc.filters, joinPath(p, 'filters'), issues, deps);
    if (filter !== null) chains.push({ name: asString(fc.name), match, filter });
  });
  const limit =
    typeof l.per_connection_buffer_limit_bytes === 'number'
      ? l.per_connection_buffer_limit_bytes
      : 1024 * 1024;
  if (limit < 1) issues.error(joinPath(path, 'per_connection_buffer_limit_bytes'), 'must be positive');
  if (issues.errorCount > before) return null;
  return {
    name,
    address,
    port,
    filterChains: chains,
    perConnectionBufferLimitBytes: limit,
    statPrefix: asString(l.stat_prefix),
  };
}
