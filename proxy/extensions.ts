/**
 * The one explicit list of every extension remora ships, keyed the way config names them. Nothing
 * registers itself by being imported: adding an extension is one line here (ARCHITECTURE.md,
 * principle 4).
 */

import { logicalDnsClusterFactory } from './extensions/clusters/logical_dns/factory.js';
import { staticClusterFactory } from './extensions/clusters/static/factory.js';
import { strictDnsClusterFactory } from './extensions/clusters/strict_dns/factory.js';
import { faultFilterFactory } from './extensions/filters/http/fault/factory.js';
import { routerFilterFactory } from './extensions/filters/http/router/factory.js';
import { statefulSessionFilterFactory } from './extensions/filters/http/stateful_session/factory.js';
import { leastRequestFactory } from './extensions/load-balancing-policies/least_request/factory.js';
import { maglevFactory } from './extensions/load-balancing-policies/maglev/factory.js';
import { peakEwmaFactory } from './extensions/load-balancing-policies/peak_ewma/factory.js';
import { randomFactory } from './extensions/load-balancing-policies/random/factory.js';
import { ringHashFactory } from './extensions/load-balancing-policies/ring_hash/factory.js';
import { roundRobinFactory } from './extensions/load-balancing-policies/round_robin/factory.js';
import type { HttpFilterFactory, HttpFilterRegistry } from './http/filter.js';
import type { ClusterDiscoveryFactory } from './upstream/discovery.js';
import type { LbPolicyFactory } from './upstream/load-balancer.js';

/** HTTP filters by typed_config type URL. */
const HTTP_FILTERS: readonly HttpFilterFactory[] = [
  routerFilterFactory as HttpFilterFactory,
  statefulSessionFilterFactory as HttpFilterFactory,
  faultFilterFactory as HttpFilterFactory,
];

/** Host discovery by Cluster.type (EDS is fed by the xDS client, not a discovery). */
const CLUSTER_DISCOVERIES: readonly ClusterDiscoveryFactory[] = [
  staticClusterFactory,
  strictDnsClusterFactory,
  logicalDnsClusterFactory,
];

/** Load-balancing policies (Cluster.lb_policy enum and load_balancing_policy type URLs). */
const LB_POLICIES: readonly LbPolicyFactory[] = [
  roundRobinFactory,
  randomFactory,
  leastRequestFactory,
  ringHashFactory,
  maglevFactory,
  peakEwmaFactory,
] as readonly LbPolicyFactory[];

export interface ExtensionRegistries {
  readonly httpFilters: HttpFilterRegistry;
  readonly clusterDiscoveries: ReadonlyMap<string, ClusterDiscoveryFactory>;
  /**
   * By Cluster.lb_policy enum name; policies with no enum value (peak EWMA) are listed under their
   * extension name, which no enum value can spell, so the cluster translator finds every typed
   * policy here (translateTypedLbPolicy searches the values by type URL).
   */
  readonly lbPoliciesByEnum: ReadonlyMap<string, LbPolicyFactory>;
  /** By typed config type URL (Cluster.load_balancing_policy). */
  readonly lbPoliciesByTypeUrl: ReadonlyMap<string, LbPolicyFactory>;
}

export function buildRegistries(): ExtensionRegistries {
  const lbByEnum = new Map<string, LbPolicyFactory>();
  const lbByUrl = new Map<string, LbPolicyFactory>();
  for (const f of LB_POLICIES) {
    lbByEnum.set(f.lbPolicyEnum ?? f.name, f);
    if (f.typeUrl !== null) lbByUrl.set(f.typeUrl, f);
  }
  return {
    httpFilters: new Map(HTTP_FILTERS.map((f) => [f.typeUrl, f])),
    clusterDiscoveries: new Map(CLUSTER_DISCOVERIES.map((f) => [f.type, f])),
    lbPoliciesByEnum: lbByEnum,
    lbPoliciesByTypeUrl: lbByUrl,
  };
}
