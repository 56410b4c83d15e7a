import { type Issues, joinPath } from '../../../config/issues.js';
import type { ProtoObject } from '../../../config/proto-object.js';
import type { Host } from '../../../upstream/host.js';
import type { LbPolicyFactory, LoadBalancer } from '../../../upstream/load-balancer.js';
import { configRoot, readEnum, readMessage, readUint } from '../common/config-fields.js';
import { parseConsistentHashing } from '../common/consistent-hashing-config.js';
import { defaultRng, type Rng } from '../common/rng.js';
import type { RingHashFunction, RingParams } from './ring.js';
import { RingHashLoadBalancer } from './ring-hash-lb.js';

export type RingHashConfig = RingParams;

export const DEFAULT_MIN_RING_SIZE = 1024;
export const MAX_RING_SIZE_LIMIT = 8388608;
export const DEFAULT_MAX_RING_SIZE = MAX_RING_SIZE_LIMIT;

export interface RingHashFactoryOptions {
  readonly rng?: Rng;
}

export class RingHashLbFactory implements LbPolicyFactory<RingHashConfig> {
  readonly name = 'envoy.load_balancing_policies.ring_hash';
  readonly lbPolicyEnum = 'RING_HASH';
  readonly typeUrl = 'type.googleapis.com/envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash';
  private readonly rng: Rng;

  constructor(options: RingHashFactoryOptions = {}) {
    this.rng = options.rng ?? defaultRng();
  }

  /**
   * Cluster.RingHashLbConfig (hash_function XX_HASH | MURMUR_HASH_2) or the typed RingHash
   * (DEFAULT_HASH | XX_HASH | MURMUR_HASH_2, consistent_hashing_lb_config, and the deprecated
   * top-level use_hostname_for_hashing / hash_balance_factor). For the enum form the cluster
   * translator adds common_lb_config.consistent_hashing_lb_config (withCommonHashingConfig).
   */
  parseConfig(config: ProtoObject | undefined, path: string, issues: Issues): RingHashConfig {
    const root = configRoot(config, path, issues);
    const fn = readEnum(root, 'hash_function', path, issues, [
      'DEFAULT_HASH',
      'XX_HASH',
      'MURMUR_HASH_2',
    ] as const);
    const hashFunction: RingHashFunction = fn === 'MURMUR_HASH_2' ? 'MURMUR_HASH_2' : 'XX_HASH';
    // Envoy's legacy field allows 0, which would build an empty ring that fails every request.
    const minRingSize =
      readUint(root, 'minimum_ring_size', path, issues, { min: 1, max: MAX_RING_SIZE_LIMIT }) ??
      DEFAULT_MIN_RING_SIZE;
    const maxRingSize =
      readUint(root, 'maximum_ring_size', path, issues, { max: MAX_RING_SIZE_LIMIT }) ??
      DEFAULT_MAX_RING_SIZE;
    if (minRingSize > maxRingSize) {
      issues.error(
        joinPath(path, 'minimum_ring_size'),
        `minimum_ring_size (${minRingSize}) must not exceed maximum_ring_size (${maxRingSize})`,
      );
    }
    readMessage(root, 'locality_weighted_lb_config', path, issues);
    const hashing = parseConsistentHashing(root, path, issues, true);
    return Object.freeze({
      minRingSize,
      maxRingSize: Math.max(maxRingSize, minRingSize),
      hashFunction,
      useHostnameForHashing: hashing.useHostnameForHashing,
      hashBalanceFactor: hashing.hashBalanceFactor,
    });
  }

  /** A previous ring-hash balancer's ring is reused when the hosts' keys and weights are unchanged. */
  create(
    hosts: readonly Host[],
    config: RingHashConfig,
    previous: LoadBalancer | null,
  ): RingHashLoadBalancer {
    const prev = previous instanceof RingHashLoadBalancer ? previous : null;
    return new RingHashLoadBalancer(hosts, config, this.rng, prev);
  }
}

export const ringHashFactory: RingHashLbFactory = new RingHashLbFactory();
