/**
 * Bootstrap cluster_manager.load_stats_config → the settings of the load reporting (LRS) client.
 * As in Envoy, it is an ApiConfigSource with api_type GRPC whose one envoy_grpc service names a
 * static cluster (usually the ADS cluster): the same rules as ads_config, read by the same code.
 */
import { type Issues, joinPath } from '../../config/issues.js';
import type { ProtoObject } from '../../config/proto-object.js';
import type { ClusterModel } from '../../model/cluster.js';
import { readGrpcServiceCluster } from './ads-bootstrap.js';

export interface LoadStatsSettings {
  /** host:port of the LRS cluster's first endpoint (gRPC target). */
  readonly target: string;
  readonly clusterName: string;
  readonly setNodeOnFirstMessageOnly: boolean;
  /** initial_metadata of the grpc_service, sent on the stream. */
  readonly initialMetadata: ReadonlyArray<readonly [string, string]>;
}

const PATH = 'cluster_manager.load_stats_config';

/** Reads load_stats_config (the decoded ApiConfigSource); null (with issues) when it cannot be followed. */
export function readLoadStatsSettings(
  src: ProtoObject,
  staticClusters: readonly ClusterModel[],
  issues: Issues,
): LoadStatsSettings | null {
  const before = issues.errorCount;
  // LoadReportingService is one bidi stream of its own: Envoy accepts GRPC only here.
  if (src.api_type !== 'GRPC') {
    const shown = src.api_type === undefined ? 'unset' : String(src.api_type);
    issues.error(joinPath(PATH, 'api_type'), `must be GRPC (got ${shown}): load reports go over gRPC`);
  }
  const tv = src.transport_api_version;
  if (tv !== undefined && tv !== 'V3')
    issues.error(joinPath(PATH, 'transport_api_version'), 'only V3 is supported');
  const service = readGrpcServiceCluster(src, PATH, staticClusters, issues, 'load reporting');
  if (issues.errorCount > before) return null;
  return {
    target: service.target,
    clusterName: service.clusterName,
    setNodeOnFirstMessageOnly: src.set_node_on_first_message_only === true,
    initialMetadata: service.initialMetadata,
  };
}
