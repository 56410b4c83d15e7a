import { type Issues, joinPath } from '../../../config/issues.js';
import type { ProtoObject } from '../../../config/proto-object.js';
import type { Host } from '../../../upstream/host.js';
import type { LbPolicyFactory, LoadBalancer } from '../../../upstream/load-balancer.js';
import { RoundRobinLoadBalancer } from './round-robin.js';

/**
 * Parsed round_robin_lb_config. Nothing is configurable yet: slow start is rejected;
 * locality_lb_config (locality_weighted_lb_config) is accepted and applied by the cluster
 * (proxy/upstream/locality-lb.ts), which reads it from the typed config.
 */
export type RoundRobinConfig = Readonly<Record<string, never>>;

const NOT_YET = new Set(['slow_start_config']);
/** Fields handled outside the policy (the cluster's locality weighting). */
const CLUSTER_HANDLED = new Set(['locality_lb_config']);

/**
 * `lb_policy: ROUND_ROBIN` (the default) or the typed policy
 * envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin.
 */
export const roundRobinFactory: LbPolicyFactory<RoundRobinConfig> = {
  name: 'envoy.load_balancing_policies.round_robin',
  lbPolicyEnum: 'ROUND_ROBIN',
  typeUrl: 'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
  parseConfig(config: ProtoObject | undefined, path: string, issues: Issues): RoundRobinConfig {
    if (config !== undefined) {
      for (const k of Object.keys(config)) {
        if (config[k] === undefined || CLUSTER_HANDLED.has(k)) continue;
        issues.error(
          joinPath(path, k),
          NOT_YET.has(k) ? 'not supported yet' : 'unknown or unsupported field',
        );
      }
    }
    return {};
  },
  create(hosts: readonly Host[], _config: RoundRobinConfig, previous: LoadBalancer | null): LoadBalancer {
    return new RoundRobinLoadBalancer(hosts, previous);
  },
};
