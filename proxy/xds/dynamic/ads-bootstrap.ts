/**
 * Bootstrap dynamic_resources → the settings of the ADS client. remora speaks ADS only (as the
 * sidecar deployments of Envoy do): ads_config names a static cluster over gRPC, and lds_config /
 * cds_config (and every rds/eds config_source) say `ads: {}`. Everything else is refused with its
 * field path rather than ignored: REST, non-aggregated gRPC config sources, path (file) sources.
 */
import { isObject } from '../../config/fields.js';
import { type Issues, joinPath } from '../../config/issues.js';
import type { ProtoObject } from '../../config/proto-object.js';
import type { ClusterModel } from '../../model/cluster.js';
import { checkAdsConfigSource } from '../resource-types.js';

export interface AdsSettings {
  /** host:port of the ADS cluster's first endpoint (gRPC target). */
  readonly target: string;
  readonly clusterName: string;
  readonly apiType: 'GRPC' | 'DELTA_GRPC';
  readonly setNodeOnFirstMessageOnly: boolean;
  /** initial_metadata of the grpc_service, sent on the stream. */
  readonly initialMetadata: ReadonlyArray<readonly [string, string]>;
  /** lds_config present. */
  readonly lds: boolean;
  /** cds_config present. */
  readonly cds: boolean;
  /** initial_fetch_timeout (ms) of lds_config / cds_config; Envoy's default 15 s; 0 disables. */
  readonly ldsInitialFetchTimeoutMs: number;
  readonly cdsInitialFetchTimeoutMs: number;
}

const DEFAULT_INITIAL_FETCH_TIMEOUT_MS = 15_000;
const ADS_CLUSTER_TYPES = new Set(['STATIC', 'STRICT_DNS', 'LOGICAL_DNS']);

/**
 * Reads `dynamic_resources`; null (with issues) when it cannot be followed. `staticClusters` are
 * the bootstrap's translated static clusters (the ADS cluster must be one of them).
 */
export function readAdsSettings(
  dr: ProtoObject,
  staticClusters: readonly ClusterModel[],
  issues: Issues,
): AdsSettings | null {
  const path = 'dynamic_resources';
  const before = issues.errorCount;
  const lds = isObject(dr.lds_config);
  const cds = isObject(dr.cds_config);
  const ldsTimeout = lds
    ? configSource(dr.lds_config as ProtoObject, joinPath(path, 'lds_config'), issues)
    : 0;
  const cdsTimeout = cds
    ? configSource(dr.cds_config as ProtoObject, joinPath(path, 'cds_config'), issues)
    : 0;
  const ads = dr.ads_config;
  const apath = joinPath(path, 'ads_config');
  if (!isObject(ads)) {
    if (lds || cds) issues.error(apath, 'is required: lds_config / cds_config use ads: {}');
    return null;
  }
  const apiType = ads.api_type;
  if (apiType !== 'GRPC' && apiType !== 'DELTA_GRPC') {
    const shown = apiType === undefined ? 'unset' : String(apiType);
    issues.error(
      joinPath(apath, 'api_type'),
      `must be GRPC or DELTA_GRPC (got ${shown}); remora speaks ADS over gRPC only`,
    );
  }
  const tv = ads.transport_api_version;
  if (tv !== undefined && tv !== 'V3')
    issues.error(joinPath(apath, 'transport_api_version'), 'only V3 is supported');
  const service = readGrpcServiceCluster(ads, apath, staticClusters, issues, 'ADS');
  if (issues.errorCount > before) return null;
  return {
    target: service.target,
    clusterName: service.clusterName,
    apiType: apiType as 'GRPC' | 'DELTA_GRPC',
    setNodeOnFirstMessageOnly: ads.set_node_on_first_message_only === true,
    initialMetadata: service.initialMetadata,
    lds,
    cds,
    ldsInitialFetchTimeoutMs: ldsTimeout,
    cdsInitialFetchTimeoutMs: cdsTimeout,
  };
}

/** The gRPC service of an ApiConfigSource: its static cluster and the target that cluster names. */
export interface GrpcServiceCluster {
  /** host:port of the cluster's first endpoint (gRPC target); '' when it could not be derived. */
  readonly target: string;
  readonly clusterName: string;
  /** initial_metadata of the grpc_service, sent on the stream. */
  readonly initialMetadata: ReadonlyArray<readonly [string, string]>;
}

/**
 * Reads `grpc_services` of the ApiConfigSource at `path`: exactly one envoy_grpc service naming a
 * static HTTP/2 cluster with an endpoint. Shared by the ADS stream and load reporting
 * (cluster_manager.load_stats_config); `role` names the stream in messages.
 */
export function readGrpcServiceCluster(
  src: ProtoObject,
  path: string,
  staticClusters: readonly ClusterModel[],
  issues: Issues,
  role: string,
): GrpcServiceCluster {
  const services = Array.isArray(src.grpc_services) ? src.grpc_services : [];
  const gpath = joinPath(path, 'grpc_services');
  let clusterName = '';
  const metadata: Array<readonly [string, string]> = [];
  if (services.length === 0) issues.error(gpath, 'exactly one grpc_service is required');
  else if (services.length > 1) issues.error(gpath, 'only one grpc_service is supported');
  else {
    const gs = services[0];
    const sp = joinPath(gpath, 0);
    const eg = isObject(gs) ? gs.envoy_grpc : undefined;
    if (!isObject(eg)) issues.error(joinPath(sp, 'envoy_grpc'), 'is required (google_grpc is not supported)');
    else clusterName = typeof eg.cluster_name === 'string' ? eg.cluster_name : '';
    if (isObject(eg) && clusterName === '')
      issues.error(joinPath(joinPath(sp, 'envoy_grpc'), 'cluster_name'), 'is required');
    const im = isObject(gs) && Array.isArray(gs.initial_metadata) ? gs.initial_metadata : [];
    for (const h of im) if (isObject(h)) metadata.push([String(h.key ?? ''), String(h.value ?? '')]);
  }
  let target = '';
  if (clusterName !== '') {
    const c = staticClusters.find((m) => m.name === clusterName);
    const cp = joinPath(joinPath(joinPath(gpath, 0), 'envoy_grpc'), 'cluster_name');
    if (c === undefined)
      issues.error(cp, `unknown cluster '${clusterName}': the ${role} cluster must be a static cluster`);
    else if (!ADS_CLUSTER_TYPES.has(c.type))
      issues.error(
        cp,
        `cluster '${clusterName}' is ${c.type}; the ${role} cluster must be STATIC, STRICT_DNS or LOGICAL_DNS`,
      );
    else if (c.protocol !== 'http2')
      issues.error(
        cp,
        `cluster '${clusterName}' must speak HTTP/2 for gRPC (typed_extension_protocol_options http2)`,
      );
    else {
      const first = c.loadAssignment.localities[0]?.endpoints[0];
      if (first === undefined) issues.error(cp, `cluster '${clusterName}' has no endpoint`);
      else
        target = first.address.includes(':')
          ? `[${first.address}]:${first.port}`
          : `${first.address}:${first.port}`;
    }
  }
  return { target, clusterName, initialMetadata: metadata };
}

/** Checks an lds/cds ConfigSource and returns its initial_fetch_timeout in ms. */
function configSource(src: ProtoObject, path: string, issues: Issues): number {
  checkAdsConfigSource(src, path, issues);
  const t = src.initial_fetch_timeout;
  if (t === undefined) return DEFAULT_INITIAL_FETCH_TIMEOUT_MS;
  if (typeof t !== 'number' || t < 0) {
    issues.error(joinPath(path, 'initial_fetch_timeout'), 'must be a non-negative duration');
    return DEFAULT_INITIAL_FETCH_TIMEOUT_MS;
  }
  return t;
}
