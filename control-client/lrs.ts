/** Load reporting (LRS) in remora's xDS client library: the public surface. */
export {
  clusterStatsMessage,
  DEFAULT_MIN_REPORT_INTERVAL_MS,
  LrsClient,
  type LrsClientHooks,
  type LrsClientOptions,
  type LrsClientStats,
  type LrsReporting,
} from './lrs-client.js';
export type {
  ClusterLoad,
  EndpointLoad,
  LoadMetric,
  LoadSource,
  LocalityId,
  LocalityLoad,
  RequestLoad,
  SnapshotOptions,
} from './lrs-source.js';
export {
  type ClusterStatsMessage,
  type DurationMessage,
  durationToMs,
  type EndpointLoadMetricStatsMessage,
  type LoadStatsRequest,
  type LoadStatsResponse,
  type LocalityMessage,
  LRS_SEND_ALL_CLUSTERS_FEATURE,
  LRS_SERVICE_NAME,
  lrsServiceDefinition,
  msToDuration,
  type UpstreamEndpointStatsMessage,
  type UpstreamLocalityStatsMessage,
} from './lrs-wire.js';
