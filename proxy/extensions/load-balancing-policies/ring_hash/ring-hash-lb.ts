import type { Host } from '../../../upstream/host.js';
import type { LbContext, LoadBalancer } from '../../../upstream/load-balancer.js';
import { HOST_RESELECT_ATTEMPTS, wasTried } from '../common/previous-hosts.js';
import type { Rng } from '../common/rng.js';
import { HashRing, type RingParams } from './ring.js';

/**
 * RING_HASH: the request's hash (LbContext.hashKey, the top 53 bits of the route hash policy's
 * 64-bit hash) picks the first ring entry clockwise from it; a request with no hash picks a random
 * point. A retry that must avoid hosts already tried walks on along the ring, as Envoy does.
 */
export class RingHashLoadBalancer implements LoadBalancer {
  readonly ring: HashRing;
  private readonly rng: Rng;

  constructor(
    hosts: readonly Host[],
    params: RingParams,
    rng: Rng,
    previous: RingHashLoadBalancer | null = null,
  ) {
    this.ring = new HashRing(hosts, params, previous?.ring ?? null);
    this.rng = rng;
  }

  /** Envoy's ring_hash_lb gauges: size, min_hashes_per_host, max_hashes_per_host. */
  get size(): number {
    return this.ring.size;
  }

  chooseHost(ctx: LbContext | null): Host | null {
    const ring = this.ring;
    const size = ring.size;
    if (size === 0) return null;
    const key = ctx?.hashKey;
    const entry = ring.entryFor(key === undefined ? this.rng.next53() : key);
    let host = ring.hostAt(entry);
    for (let attempt = 1; attempt <= HOST_RESELECT_ATTEMPTS && wasTried(ctx, host); attempt++) {
      host = ring.hostAt((entry + attempt) % size);
    }
    return host;
  }
}
