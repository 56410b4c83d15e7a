/**
 * The load reporting service (envoy.service.load_stats.v3) as remora's own protos define it
 * (proto/envoy/service/load_stats/v3/lrs.proto), loaded once per process with protobufjs the same
 * way as the discovery protos (wire.ts): keepCase, defaults and arrays on, uint64 as numbers.
 *
 * Both ends use this: the client (lrs-client.ts) and the control plane's sink (control-plane/lrs/).
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { type NodeMessage, protoRoot, TO_OBJECT_OPTIONS } from './wire.js';

type Type = protobuf.Type;

export const LRS_SERVICE_NAME = 'envoy.service.load_stats.v3.LoadReportingService';

/** The client feature a client advertises to say it honours LoadStatsResponse.send_all_clusters. */
export const LRS_SEND_ALL_CLUSTERS_FEATURE = 'envoy.lrs.supports_send_all_clusters';

/** google.protobuf.Duration in message form (seconds as a number: uint64 fits long before it matters). */
export interface DurationMessage {
  seconds: number;
  nanos: number;
}

export interface LocalityMessage {
  region: string;
  zone: string;
  sub_zone: string;
}

export interface EndpointLoadMetricStatsMessage {
  metric_name: string;
  num_requests_finished_with_metric: number;
  total_metric_value: number;
}

export interface UpstreamEndpointStatsMessage {
  address?: { socket_address?: { address: string; port_value: number } | null } | null;
  total_successful_requests: number;
  total_requests_in_progress: number;
  total_error_requests: number;
  total_issued_requests: number;
  load_metric_stats: EndpointLoadMetricStatsMessage[];
}

export interface UpstreamLocalityStatsMessage {
  locality?: LocalityMessage | null;
  total_successful_requests: number;
  total_requests_in_progress: number;
  total_error_requests: number;
  total_issued_requests: number;
  load_metric_stats: EndpointLoadMetricStatsMessage[];
  upstream_endpoint_stats: UpstreamEndpointStatsMessage[];
  priority: number;
}

export interface ClusterStatsMessage {
  cluster_name: string;
  cluster_service_name: string;
  upstream_locality_stats: UpstreamLocalityStatsMessage[];
  total_dropped_requests: number;
  dropped_requests: Array<{ category: string; dropped_count: number }>;
  load_report_interval?: DurationMessage | null;
}

export interface LoadStatsRequest {
  node?: NodeMessage | null;
  cluster_stats: ClusterStatsMessage[];
}

export interface LoadStatsResponse {
  clusters: string[];
  send_all_clusters: boolean;
  load_reporting_interval?: DurationMessage | null;
  report_endpoint_granularity: boolean;
}

export function durationToMs(d: DurationMessage | null | undefined): number {
  if (d === null || d === undefined) return 0;
  return Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6);
}

export function msToDuration(ms: number): DurationMessage {
  const whole = Math.max(0, Math.round(ms * 1e6)); // nanoseconds, exact for sub-ms intervals too
  return { seconds: Math.floor(whole / 1e9), nanos: whole % 1e9 };
}

interface LrsProtos {
  readonly service: ServiceDefinition;
  readonly request: Type;
  readonly response: Type;
}

let loaded: LrsProtos | undefined;

function lrsProtos(): LrsProtos {
  if (loaded !== undefined) return loaded;
  const dir = protoRoot();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : dir + target);
  root.loadSync('envoy/service/load_stats/v3/lrs.proto', { keepCase: true });
  root.resolveAll();
  const request = root.lookupType('envoy.service.load_stats.v3.LoadStatsRequest');
  const response = root.lookupType('envoy.service.load_stats.v3.LoadStatsResponse');
  const method: MethodDefinition<object, object> = {
    path: `/${LRS_SERVICE_NAME}/StreamLoadStats`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (msg) => Buffer.from(request.encode(request.fromObject(msg)).finish()),
    requestDeserialize: (bytes) => request.toObject(request.decode(bytes), TO_OBJECT_OPTIONS),
    responseSerialize: (msg) => Buffer.from(response.encode(response.fromObject(msg)).finish()),
    responseDeserialize: (bytes) => response.toObject(response.decode(bytes), TO_OBJECT_OPTIONS),
    originalName: 'StreamLoadStats',
  };
  loaded = { service: { StreamLoadStats: method }, request, response };
  return loaded;
}

/** The LoadReportingService definition: what a grpc-js client or server is built from. */
export function lrsServiceDefinition(): ServiceDefinition {
  return lrsProtos().service;
}
