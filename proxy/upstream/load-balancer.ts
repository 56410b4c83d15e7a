import type { Issues } from '../config/issues.js';
import type { ProtoObject } from '../config/proto-object.js';
import type { Host } from './host.js';

/**
 * The load-balancing seam. A policy lives in proxy/extensions/load-balancing-policies/<name>/ as a
 * factory (parses its typed config once, on the control path) and the balancer it creates.
 *
 * A balancer is built for one snapshot of hosts; when membership, weights or health change, the
 * cluster calls `create` again with the previous balancer so policies with memory (smooth round
 * robin positions, EWMA estimates) can carry it over. Picks must be O(1) or O(log n).
 */
export interface LbContext {
  /**
   * The request's hash for consistent-hashing policies (from the route's hash_policy), an unsigned
   * integer below 2^53; undefined when the request has none (hashing policies then pick randomly).
   */
  readonly hashKey: number | undefined;
  /** Hosts this request already tried (retry host predicate); null when none. */
  readonly previousHosts: readonly Host[] | null;
  /** `ip:port` of the downstream peer. */
  readonly downstreamAddress: string;
  /**
   * `ip:port` (Host.key) of a host the request asks for (the stateful session filter's cookie).
   * The cluster returns that host when it is a member and healthy, and balances as usual otherwise;
   * absent, null or '' when the request names none.
   */
  readonly overrideHost?: string | null;
}

export interface LoadBalancer {
  /** The chosen host, or null when there is none to choose (503 UH). */
  chooseHost(ctx: LbContext | null): Host | null;
  /**
   * Optional latency hook for latency-aware policies (peak EWMA): the router reports, once per
   * request that this balancer's cluster sent to `host`, how long it took (ms) when it ended
   * (response complete, reset or timeout).
   */
  onRequestEnd?(host: Host, latencyMs: number): void;
}

export interface LbPolicyFactory<C = unknown> {
  /** Extension name, e.g. `envoy.load_balancing_policies.round_robin`. */
  readonly name: string;
  /** The Cluster.lb_policy enum value that selects this policy, if any (e.g. `ROUND_ROBIN`). */
  readonly lbPolicyEnum: string | null;
  /** Type URL of the typed config in `load_balancing_policy`, if any. */
  readonly typeUrl: string | null;
  /**
   * Validates the policy's config: the `*_lb_config` object of the Cluster (or the typed config),
   * undefined when absent. Reports problems under `path`.
   */
  parseConfig(config: ProtoObject | undefined, path: string, issues: Issues): C;
  /** `hosts` are the hosts to balance over (already filtered for health by the cluster). */
  create(hosts: readonly Host[], config: C, previous: LoadBalancer | null): LoadBalancer;
}
