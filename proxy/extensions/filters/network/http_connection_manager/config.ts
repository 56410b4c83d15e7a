import { asArray, asBool, asNumber, asObject, asString, readDurationMs } from '../../../../config/fields.js';
import { type Issues, joinPath } from '../../../../config/issues.js';
import { type ProtoObject, type ProtoValue, typeUrlOf } from '../../../../config/proto-object.js';
import type { AccessLogSink } from '../../../../http/access-log-sink.js';
import type { FilterFactoryContext, HttpFilterRegistry } from '../../../../http/filter.js';
import type {
  AccessLogEntry,
  CodecType,
  EscapedSlashesAction,
  HcmConfig,
  HeadersWithUnderscoresAction,
  HttpFilterModel,
} from '../../../../model/listener.js';
import type { StatsStore } from '../../../../observability/stats.js';
import { compileRouteConfig } from '../../../../router/compile.js';
import type { RouteTable } from '../../../../router/types.js';
import {
  type RouteTranslateOptions,
  translateRouteConfiguration,
} from '../../../../xds/route-configuration.js';
import { translateDownstreamHttp1, translateDownstreamHttp2 } from './protocol-options.js';

export const HCM_TYPE_URL =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** Translates one AccessLog config into a sink; reports problems under `path`. */
export type AccessLogTranslator = (config: ProtoObject, path: string, issues: Issues) => AccessLogSink | null;

export interface HcmTranslateDeps {
  readonly httpFilters: HttpFilterRegistry;
  /** Translates and compiles an inline RouteConfiguration (proxy/router); null when it had errors. */
  readonly routeConfig: (config: ProtoObject, path: string, issues: Issues) => RouteTable | null;
  /** From proxy/observability when present; without it AccessLog configs are kept raw. */
  readonly accessLog?: AccessLogTranslator;
  /**
   * RDS (proxy/xds/rds-route-table.ts): validates `rds` and returns the table that follows its
   * route_config_name. Without it (bootstrap static listeners) `rds` is refused.
   */
  readonly rds?: (rds: ProtoObject, path: string, issues: Issues) => RouteTable | null;
  /** The proxy's stats store: HTTP filters register their stats under `http.<stat_prefix>.`. */
  readonly stats?: StatsStore;
}

/**
 * The usual `routeConfig` dependency: proxy/xds/route-configuration.ts translates the inline
 * RouteConfiguration and proxy/router/compile.ts compiles it. `opts.clusterExists` enables
 * validate_clusters (Envoy validates inline route configs by default).
 */
export function inlineRouteConfig(opts: RouteTranslateOptions = {}): HcmTranslateDeps['routeConfig'] {
  return (config, path, issues) => {
    const model = translateRouteConfiguration(config, path, issues, {
      validateClustersDefault: true,
      ...opts,
    });
    return model === null ? null : compileRouteConfig(model);
  };
}

const DEFAULT_STREAM_IDLE_MS = 5 * 60_000;
const DEFAULT_IDLE_MS = 60 * 60_000;
const DEFAULT_DRAIN_MS = 5_000;

/** Fields of HttpConnectionManager that remora does not implement yet: refused, never ignored. */
const UNSUPPORTED = [
  'rds',
  'scoped_routes',
  'tracing',
  'http3_protocol_options',
  'local_reply_config',
  'request_id_extension',
  'original_ip_detection_extensions',
  'early_header_mutation_extensions',
  'forward_client_cert_details',
  'set_current_client_cert_details',
  'internal_address_config',
  'typed_header_validation_config',
  'proxy_status_config',
];

/** Translates access_log entries (shared with tcp_proxy). */
export function translateAccessLogs(
  list: ProtoValue | undefined,
  path: string,
  issues: Issues,
  translator: AccessLogTranslator | undefined,
): AccessLogEntry[] {
  const out: AccessLogEntry[] = [];
  asArray(list).forEach((v, i) => {
    const c = asObject(v) ?? {};
    const sink = translator === undefined ? null : translator(c, joinPath(path, i), issues);
    out.push({ sink, raw: c });
  });
  return out;
}

/**
 * HttpConnectionManager (decoded) → HcmConfig. Defaults are Envoy's except server_name, which is
 * 'remora' (Envoy's is 'envoy'); set server_name to 'envoy' for byte-identical responses.
 */
export function translateHcm(
  c: ProtoObject,
  path: string,
  issues: Issues,
  deps: HcmTranslateDeps,
): HcmConfig | null {
  const before = issues.errorCount;
  for (const key of UNSUPPORTED) {
    if (c[key] !== undefined && !(key === 'rds' && deps.rds !== undefined)) {
      const why =
        key === 'rds' ? 'RDS is not supported yet: give route_config inline' : 'not supported by remora';
      issues.error(joinPath(path, key), why);
    }
  }
  const statPrefix = asString(c.stat_prefix, '');
  if (statPrefix === '') issues.error(joinPath(path, 'stat_prefix'), 'is required');
  const codecType = asString(c.codec_type, 'AUTO') as CodecType;
  if (codecType !== 'AUTO' && codecType !== 'HTTP1' && codecType !== 'HTTP2') {
    issues.error(joinPath(path, 'codec_type'), `${codecType} is not supported (AUTO, HTTP1, HTTP2)`);
  }
  let routeTable: RouteTable | null = null;
  const rc = asObject(c.route_config);
  const rds = deps.rds === undefined ? undefined : asObject(c.rds);
  if (rds !== undefined && rc !== undefined)
    issues.error(joinPath(path, 'rds'), 'only one of rds and route_config may be set');
  else if (rds !== undefined && deps.rds !== undefined)
    routeTable = deps.rds(rds, joinPath(path, 'rds'), issues);
  else if (rc === undefined)
    issues.error(joinPath(path, 'route_config'), 'is required (inline route configuration)');
  else routeTable = deps.routeConfig(rc, joinPath(path, 'route_config'), issues);

  const httpFilters: HttpFilterModel[] = [];
  const filterContext: FilterFactoryContext | undefined =
    deps.stats === undefined ? undefined : { stats: deps.stats, statPrefix: `http.${statPrefix}.` };
  const fl = asArray(c.http_filters);
  const fpath = joinPath(path, 'http_filters');
  if (fl.length === 0) issues.error(fpath, 'must end with envoy.filters.http.router');
  fl.forEach((v, i) => {
    const p = joinPath(fpath, i);
    const f = asObject(v) ?? {};
    const name = asString(f.name, '');
    if (name === '') issues.error(joinPath(p, 'name'), 'is required');
    const tc = asObject(f.typed_config);
    if (tc === undefined) {
      issues.error(joinPath(p, 'typed_config'), 'is required');
      return;
    }
    const typeUrl = typeUrlOf(tc);
    const factory = deps.httpFilters.get(typeUrl);
    if (factory === undefined) {
      // Envoy skips an unknown filter marked is_optional (with a warning) instead of failing.
      if (f.is_optional === true)
        issues.warn(joinPath(p, 'typed_config'), `unknown optional HTTP filter type ${typeUrl}: skipped`);
      else issues.error(joinPath(p, 'typed_config'), `unknown HTTP filter type ${typeUrl}`);
      return;
    }
    const last = i === fl.length - 1;
    if (factory.terminal && !last) issues.error(p, `${factory.name} must be the last HTTP filter`);
    if (!factory.terminal && last)
      issues.error(p, 'the last HTTP filter must be a terminal filter (envoy.filters.http.router)');
    const config = factory.parseConfig(tc, joinPath(p, 'typed_config'), issues, filterContext);
    // A disabled filter only runs where a route enables it through typed_per_filter_config;
    // remora has no per-route filter enabling, so a disabled filter never runs (its config is
    // still validated above). The terminal filter cannot be disabled, as in Envoy.
    if (f.disabled === true) {
      if (factory.terminal) issues.error(joinPath(p, 'disabled'), 'the terminal filter cannot be disabled');
      return;
    }
    httpFilters.push({ name, typeUrl, config, factory });
  });

  const accessLogs = translateAccessLogs(c.access_log, joinPath(path, 'access_log'), issues, deps.accessLog);

  const common = asObject(c.common_http_protocol_options) ?? {};
  const cpath = joinPath(path, 'common_http_protocol_options');
  // Downstream connection lifetime limits the connection manager does not enforce: refused.
  for (const k of ['max_connection_duration', 'max_stream_duration', 'max_requests_per_connection'])
    if (common[k] !== undefined) issues.error(joinPath(cpath, k), 'not supported by remora');
  const maxHeadersCount = asNumber(common.max_headers_count, 100);
  if (maxHeadersCount < 1) issues.error(joinPath(cpath, 'max_headers_count'), 'must be at least 1');
  const underscores = asString(
    common.headers_with_underscores_action,
    'ALLOW',
  ) as HeadersWithUnderscoresAction;
  const maxKb = asNumber(c.max_request_headers_kb, 60);
  if (maxKb < 1 || maxKb > 8192) issues.error(joinPath(path, 'max_request_headers_kb'), 'must be in 1..8192');

  const upgradeTypes: string[] = [];
  asArray(c.upgrade_configs).forEach((v, i) => {
    const u = asObject(v) ?? {};
    const t = asString(u.upgrade_type, '').toLowerCase();
    const p = joinPath(joinPath(path, 'upgrade_configs'), i);
    if (t === '') issues.error(joinPath(p, 'upgrade_type'), 'is required');
    else if (t === 'h2c') issues.error(joinPath(p, 'upgrade_type'), 'h2c upgrades are not supported');
    else if (t === 'connect') issues.error(joinPath(p, 'upgrade_type'), 'CONNECT is not supported yet');
    if (u.filters !== undefined)
      issues.error(joinPath(p, 'filters'), 'per-upgrade filter chains are not supported');
    if (u.enabled === false) return;
    upgradeTypes.push(t);
  });

  translateDownstreamHttp1(
    asObject(c.http_protocol_options),
    joinPath(path, 'http_protocol_options'),
    issues,
  );
  const http2 = translateDownstreamHttp2(
    asObject(c.http2_protocol_options),
    joinPath(path, 'http2_protocol_options'),
    issues,
  );
  // delayed_close_timeout is accepted without effect: Envoy's delayed close keeps a connection it
  // is closing open so the peer reads the final response before a reset. remora closes with a FIN
  // once the response is flushed (socket.end, half-open allowed), never a reset over unread
  // response bytes, so that race does not arise. The value is still checked.
  readDurationMs(c, 'delayed_close_timeout', path, issues, 0);

  const via = asString(c.via, '');
  if (/[\r\n\0]/.test(via)) issues.error(joinPath(path, 'via'), 'must not contain CR, LF or NUL');
  const serverName = asString(c.server_name, 'remora');
  if (/[\r\n\0]/.test(serverName))
    issues.error(joinPath(path, 'server_name'), 'must not contain CR, LF or NUL');

  if (issues.errorCount > before || routeTable === null) return null;
  return {
    codecType,
    statPrefix,
    routeTable,
    httpFilters,
    accessLogs,
    useRemoteAddress: asBool(c.use_remote_address, false),
    xffNumTrustedHops: asNumber(c.xff_num_trusted_hops, 0),
    skipXffAppend: asBool(c.skip_xff_append, false),
    generateRequestId: asBool(c.generate_request_id, true),
    preserveExternalRequestId: asBool(c.preserve_external_request_id, false),
    alwaysSetRequestIdInResponse: asBool(c.always_set_request_id_in_response, false),
    normalizePath: asBool(c.normalize_path, false),
    mergeSlashes: asBool(c.merge_slashes, false),
    pathWithEscapedSlashesAction: asString(
      c.path_with_escaped_slashes_action,
      'IMPLEMENTATION_SPECIFIC_DEFAULT',
    ) as EscapedSlashesAction,
    maxRequestHeadersKb: maxKb,
    idleTimeoutMs: readDurationMs(common, 'idle_timeout', cpath, issues, DEFAULT_IDLE_MS),
    maxHeadersCount,
    headersWithUnderscoresAction: underscores,
    streamIdleTimeoutMs: readDurationMs(c, 'stream_idle_timeout', path, issues, DEFAULT_STREAM_IDLE_MS),
    requestTimeoutMs: readDurationMs(c, 'request_timeout', path, issues, 0),
    requestHeadersTimeoutMs: readDurationMs(c, 'request_headers_timeout', path, issues, 0),
    drainTimeoutMs: readDurationMs(c, 'drain_timeout', path, issues, DEFAULT_DRAIN_MS),
    serverName,
    serverHeaderTransformation: asString(
      c.server_header_transformation,
      'OVERWRITE',
    ) as HcmConfig['serverHeaderTransformation'],
    upgradeTypes,
    via,
    ...(http2 === undefined ? {} : { http2 }),
  };
}
