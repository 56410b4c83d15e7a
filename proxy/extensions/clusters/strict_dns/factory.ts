import type { ClusterModel } from '../../../model/cluster.js';
import type { ClusterDiscoveryFactory, HostDiscovery } from '../../../upstream/discovery.js';
import { DnsDiscovery } from '../../../upstream/dns-discovery.js';

/** `type: STRICT_DNS`: every address each endpoint's name resolves to is a host, re-resolved periodically. */
export const strictDnsClusterFactory: ClusterDiscoveryFactory = {
  type: 'STRICT_DNS',
  create(model: ClusterModel): HostDiscovery {
    return new DnsDiscovery(model, false);
  },
};
