/** The production cluster manager and pools, built from Cluster protos for integration tests. */
import { Issues } from '../../proxy/config/issues.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { staticClusterFactory } from '../../proxy/extensions/clusters/static/factory.js';
import { roundRobinFactory } from '../../proxy/extensions/load-balancing-policies/round_robin/factory.js';
import type { ClusterModel } from '../../proxy/model/cluster.js';
import type { StatsStore } from '../../proxy/observability/stats.js';
import { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import type { ClusterDiscoveryFactory } from '../../proxy/upstream/discovery.js';
import type { LbPolicyFactory } from '../../proxy/upstream/load-balancer.js';
import { translateCluster } from '../../proxy/xds/cluster.js';

const lbPolicies = new Map<string, LbPolicyFactory>([['ROUND_ROBIN', roundRobinFactory as LbPolicyFactory]]);
const discoveries = new Map<string, ClusterDiscoveryFactory>([['STATIC', staticClusterFactory]]);

export interface ClusterSpec {
  readonly name: string;
  readonly ports: readonly number[];
  readonly http2?: boolean;
  readonly extra?: ProtoObject;
}

export function realClusters(stats: StatsStore, specs: readonly ClusterSpec[]): ClusterManager {
  const manager = new ClusterManager({ stats, discoveries });
  for (const s of specs) manager.addOrUpdate(clusterModel(s));
  return manager;
}

/** The ClusterModel of a spec (for CDS-like updates through ClusterManager.addOrUpdate). */
export function clusterModel(s: ClusterSpec): ClusterModel {
  const issues = new Issues();
  const m = translateCluster(
    {
      name: s.name,
      connect_timeout: 1000,
      load_assignment: {
        cluster_name: s.name,
        endpoints: [
          {
            lb_endpoints: s.ports.map((port) => ({
              endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
            })),
          },
        ],
      },
      ...(s.http2 === true ? { http2_protocol_options: {} } : {}),
      ...s.extra,
    },
    `clusters.${s.name}`,
    issues,
    { lbPolicies },
  );
  if (m === null || !issues.ok) throw new Error(issues.format());
  return m;
}
