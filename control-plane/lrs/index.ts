/** The control plane's load reporting sink and global load-balancing decision: the public surface. */
export {
  type ConfiguredWeights,
  decideClusterWeights,
  GlobalBalancer,
  type GlobalBalancerOptions,
} from './global-balancer.js';
export {
  type Clock,
  type LoadCounts,
  LoadStore,
  type LocalityAggregate,
  localityKeyOf,
  type NodeLoadStatus,
} from './load-store.js';
export {
  decideLocalityWeights,
  type LocalityLoadInput,
  type LocalityWeightDecision,
  type LocalityWeightOptions,
  localityWeights,
  withMinimumShare,
} from './locality-weights.js';
export {
  DEFAULT_REPORTING_POLICY,
  LoadReportingServer,
  type LoadReportingServerOptions,
  type LoadRequestListener,
  type ReceivedLoadRequest,
  type ReportingPolicy,
} from './lrs-server.js';
