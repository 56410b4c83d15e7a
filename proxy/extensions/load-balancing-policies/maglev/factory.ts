import { type Issues, joinPath } from '../../../config/issues.js';
import type { ProtoObject } from '../../../config/proto-object.js';
import type { Host } from '../../../upstream/host.js';
import type { LbPolicyFactory, LoadBalancer } from '../../../upstream/load-balancer.js';
import { configRoot, readMessage, readUint } from '../common/config-fields.js';
import { parseConsistentHashing } from '../common/consistent-hashing-config.js';
import { isPrime } from '../common/primes.js';
import { defaultRng, type Rng } from '../common/rng.js';
import { MaglevLoadBalancer } from './maglev-lb.js';

export interface MaglevConfig {
  readonly tableSize: number;
  readonly useHostnameForHashing: boolean;
  /** Bounded-load factor in percent, 0 when off. */
  readonly hashBalanceFactor: number;
}

export const DEFAULT_TABLE_SIZE = 65537;
export const MAX_TABLE_SIZE = 5000011;

export interface MaglevFactoryOptions {
  readonly rng?: Rng;
}

export class MaglevLbFactory implements LbPolicyFactory<MaglevConfig> {
  readonly name = 'envoy.load_balancing_policies.maglev';
  readonly lbPolicyEnum = 'MAGLEV';
  readonly typeUrl = 'type.googleapis.com/envoy.extensions.load_balancing_policies.maglev.v3.Maglev';
  private readonly rng: Rng;

  constructor(options: MaglevFactoryOptions = {}) {
    this.rng = options.rng ?? defaultRng();
  }

  /**
   * Cluster.MaglevLbConfig or the typed Maglev: table_size (default 65537, prime, at most
   * 5000011), consistent_hashing_lb_config (for the enum form, folded in from common_lb_config by
   * the cluster translator: withCommonHashingConfig), locality_weighted_lb_config.
   */
  parseConfig(config: ProtoObject | undefined, path: string, issues: Issues): MaglevConfig {
    const root = configRoot(config, path, issues);
    let tableSize = readUint(root, 'table_size', path, issues, { max: MAX_TABLE_SIZE }) ?? DEFAULT_TABLE_SIZE;
    if (!isPrime(tableSize)) {
      // A composite size leaves some permutations unable to reach every slot (the build could
      // loop forever), so Envoy rejects it too.
      issues.error(joinPath(path, 'table_size'), `must be a prime number, got ${tableSize}`);
      tableSize = DEFAULT_TABLE_SIZE;
    }
    readMessage(root, 'locality_weighted_lb_config', path, issues);
    const hashing = parseConsistentHashing(root, path, issues, false);
    return Object.freeze({
      tableSize,
      useHostnameForHashing: hashing.useHostnameForHashing,
      hashBalanceFactor: hashing.hashBalanceFactor,
    });
  }

  /** A previous Maglev balancer's table is reused when the hosts' keys and weights are unchanged. */
  create(hosts: readonly Host[], config: MaglevConfig, previous: LoadBalancer | null): MaglevLoadBalancer {
    const prev = previous instanceof MaglevLoadBalancer ? previous : null;
    return new MaglevLoadBalancer(hosts, config, this.rng, prev);
  }
}

export const maglevFactory: MaglevLbFactory = new MaglevLbFactory();
