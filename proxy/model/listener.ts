import type { AccessLogSink } from '../http/access-log-sink.js';
import type { HttpFilterFactory } from '../http/filter.js';
import type { RouteTable } from '../router/types.js';

/**
 * Proto-free listener model, produced by proxy/xds/listener.ts from an
 * envoy.config.listener.v3.Listener and consumed by proxy/network/listener.ts. Everything here is
 * validated already; the data path trusts it.
 */
export interface ListenerModel {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly filterChains: readonly FilterChainModel[];
  /** Soft limit on bytes buffered per connection (Envoy's default 1 MiB). */
  readonly perConnectionBufferLimitBytes: number;
  /**
   * Listener stat_prefix: stats are listener.<statPrefix>.* instead of listener.<address>_<port>.*
   * (Envoy's rule). Absent or empty means the address form.
   */
  readonly statPrefix?: string;
}

/** The subset of FilterChainMatch remora evaluates; an empty field matches anything. */
export interface FilterChainMatchModel {
  readonly destinationPort: number | null;
  /** Destination (local) address ranges. */
  readonly prefixRanges: readonly CidrRange[];
  readonly sourcePrefixRanges: readonly CidrRange[];
  readonly sourcePorts: readonly number[];
}

export interface CidrRange {
  readonly address: string;
  readonly prefixLen: number;
}

export interface FilterChainModel {
  readonly name: string;
  readonly match: FilterChainMatchModel;
  /** The terminal network filter of the chain (the only kinds remora supports so far). */
  readonly filter: NetworkFilterModel;
}

export type NetworkFilterModel =
  | { readonly kind: 'http_connection_manager'; readonly config: HcmConfig }
  | { readonly kind: 'tcp_proxy'; readonly config: TcpProxyConfig };

export type CodecType = 'AUTO' | 'HTTP1' | 'HTTP2';

export type HeadersWithUnderscoresAction = 'ALLOW' | 'REJECT_REQUEST' | 'DROP_HEADER';

export type EscapedSlashesAction =
  | 'IMPLEMENTATION_SPECIFIC_DEFAULT'
  | 'KEEP_UNCHANGED'
  | 'REJECT_REQUEST'
  | 'UNESCAPE_AND_REDIRECT'
  | 'UNESCAPE_AND_FORWARD';

/** One configured HTTP filter, its typed config already parsed by the filter's factory. */
export interface HttpFilterModel {
  readonly name: string;
  readonly typeUrl: string;
  /** What the factory's parseConfig returned. */
  readonly config: unknown;
  readonly factory: HttpFilterFactory;
}

export interface HcmConfig {
  readonly codecType: CodecType;
  readonly statPrefix: string;
  readonly routeTable: RouteTable;
  readonly httpFilters: readonly HttpFilterModel[];
  /**
   * Access logs as the observability translator produced them (one sink per entry), or the raw
   * decoded AccessLog objects when no translator was supplied (kept for the integrator).
   */
  readonly accessLogs: readonly AccessLogEntry[];
  readonly useRemoteAddress: boolean;
  readonly xffNumTrustedHops: number;
  readonly skipXffAppend: boolean;
  readonly generateRequestId: boolean;
  readonly preserveExternalRequestId: boolean;
  readonly alwaysSetRequestIdInResponse: boolean;
  readonly normalizePath: boolean;
  readonly mergeSlashes: boolean;
  readonly pathWithEscapedSlashesAction: EscapedSlashesAction;
  readonly maxRequestHeadersKb: number;
  /** Connection idle timeout in ms (0 = none). Envoy's default is 1 h. */
  readonly idleTimeoutMs: number;
  readonly maxHeadersCount: number;
  readonly headersWithUnderscoresAction: HeadersWithUnderscoresAction;
  /** 0 disables. Envoy's default 5 min. */
  readonly streamIdleTimeoutMs: number;
  /** 0 disables (Envoy's default). */
  readonly requestTimeoutMs: number;
  /** 0 disables (Envoy's default). */
  readonly requestHeadersTimeoutMs: number;
  /** Time between GOAWAY/Connection: close and closing the connection on drain. Envoy's default 5 s. */
  readonly drainTimeoutMs: number;
  /** Server header value ('' = do not set). */
  readonly serverName: string;
  readonly serverHeaderTransformation: 'OVERWRITE' | 'APPEND_IF_ABSENT' | 'PASS_THROUGH';
  /** Lower-case upgrade types allowed (e.g. 'websocket'). */
  readonly upgradeTypes: readonly string[];
  /** Via header value to add ('' = none). */
  readonly via: string;
  /** Downstream HTTP/2 settings from http2_protocol_options; absent = remora's defaults. */
  readonly http2?: Http2SettingsModel;
}

/** The Http2ProtocolOptions remora applies to downstream HTTP/2 sessions (unset = default). */
export interface Http2SettingsModel {
  readonly hpackTableSize?: number;
  readonly maxConcurrentStreams?: number;
  readonly initialStreamWindowSize?: number;
  readonly initialConnectionWindowSize?: number;
}

export interface AccessLogEntry {
  /** A sink built by the observability translator, or null when only the raw config is kept. */
  readonly sink: AccessLogSink | null;
  readonly raw: unknown;
}

export interface WeightedClusterModel {
  readonly name: string;
  readonly weight: number;
}

export interface TcpProxyConfig {
  readonly statPrefix: string;
  /** A single cluster, or '' when weightedClusters is used. */
  readonly cluster: string;
  readonly weightedClusters: readonly WeightedClusterModel[];
  readonly totalWeight: number;
  /** Envoy's default 1 h; 0 disables. */
  readonly idleTimeoutMs: number;
  /** Envoy's default 1. */
  readonly maxConnectAttempts: number;
  readonly accessLogs: readonly AccessLogEntry[];
  /** hash_policy [{source_ip: {}}]: hash each connection on its peer IP (ring hash, Maglev). */
  readonly hashOnSourceIp?: boolean;
}
