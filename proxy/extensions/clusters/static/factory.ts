import type { ClusterModel } from '../../../model/cluster.js';
import {
  type ClusterDiscoveryFactory,
  type DiscoverySink,
  type HostDiscovery,
  hostsFromAssignment,
} from '../../../upstream/discovery.js';

/** `type: STATIC`: the hosts are the load_assignment's endpoints (IP addresses), fixed for the cluster's life. */
class StaticDiscovery implements HostDiscovery {
  readonly synchronous = true;
  constructor(private readonly model: ClusterModel) {}
  start(sink: DiscoverySink): void {
    sink.setHosts(hostsFromAssignment(this.model.loadAssignment));
  }
  stop(): void {}
}

export const staticClusterFactory: ClusterDiscoveryFactory = {
  type: 'STATIC',
  create(model: ClusterModel): HostDiscovery {
    return new StaticDiscovery(model);
  },
};
