import type { ClusterModel } from '../../../model/cluster.js';
import type { ClusterDiscoveryFactory, HostDiscovery } from '../../../upstream/discovery.js';
import { DnsDiscovery } from '../../../upstream/dns-discovery.js';

/**
 * `type: LOGICAL_DNS`: one host, the first address the single endpoint's name resolves to; new
 * connections go to the latest first address, existing ones finish on the old (its pool drains).
 */
export const logicalDnsClusterFactory: ClusterDiscoveryFactory = {
  type: 'LOGICAL_DNS',
  create(model: ClusterModel): HostDiscovery {
    return new DnsDiscovery(model, true);
  },
};
