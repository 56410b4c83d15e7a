import type { Issues } from '../../../config/issues.js';
import type { ProtoObject } from '../../../config/proto-object.js';
import type { Host } from '../../../upstream/host.js';
import type { LbPolicyFactory, LoadBalancer } from '../../../upstream/load-balancer.js';
import { configRoot, readMessage } from '../common/config-fields.js';
import { defaultRng, type Rng } from '../common/rng.js';
import { RandomLoadBalancer } from './random-lb.js';

/** Random has nothing to tune; the config object only records that it was parsed. */
export interface RandomConfig {
  readonly kind: 'random';
}

const CONFIG: RandomConfig = Object.freeze({ kind: 'random' });

export interface RandomFactoryOptions {
  /** The random source (a seeded one in tests); defaults to a crypto-seeded generator. */
  readonly rng?: Rng;
}

export class RandomLbFactory implements LbPolicyFactory<RandomConfig> {
  readonly name = 'envoy.load_balancing_policies.random';
  readonly lbPolicyEnum = 'RANDOM';
  readonly typeUrl = 'type.googleapis.com/envoy.extensions.load_balancing_policies.random.v3.Random';
  private readonly rng: Rng;

  constructor(options: RandomFactoryOptions = {}) {
    this.rng = options.rng ?? defaultRng();
  }

  /** `Random { locality_lb_config }`: locality handling belongs to the cluster's host sets. */
  parseConfig(config: ProtoObject | undefined, path: string, issues: Issues): RandomConfig {
    const root = configRoot(config, path, issues);
    readMessage(root, 'locality_lb_config', path, issues);
    return CONFIG;
  }

  create(hosts: readonly Host[], _config: RandomConfig, _previous: LoadBalancer | null): LoadBalancer {
    return new RandomLoadBalancer(hosts, this.rng);
  }
}

export const randomFactory: LbPolicyFactory<RandomConfig> = new RandomLbFactory();
