import type { Host } from '../../../upstream/host.js';
import type { LbContext, LoadBalancer } from '../../../upstream/load-balancer.js';
import { BoundedLoad } from '../common/bounded-load.js';
import { HOST_RESELECT_ATTEMPTS, wasTried } from '../common/previous-hosts.js';
import { requestHashOf } from '../common/request-hash.js';
import type { Rng } from '../common/rng.js';
import { HashRing, type RingParams } from './ring.js';

/**
 * RING_HASH: the request's hash (LbContext.hashKey, the top 53 bits of the route hash policy's
 * 64-bit hash) picks the first ring entry clockwise from it; a request with no hash picks a random
 * point. A retry that must avoid hosts already tried walks on along the ring, as Envoy does.
 * With hash_balance_factor, a host at its load cap hands the request on (see BoundedLoad).
 */
export class RingHashLoadBalancer implements LoadBalancer {
  readonly ring: HashRing;
  private readonly rng: Rng;
  /** Set when hash_balance_factor caps each host's share of the requests in flight. */
  private readonly bounded: BoundedLoad | null;

  constructor(
    hosts: readonly Host[],
    params: RingParams,
    rng: Rng,
    previous: RingHashLoadBalancer | null = null,
  ) {
    this.ring = new HashRing(hosts, params, previous?.ring ?? null);
    this.rng = rng;
    this.bounded =
      params.hashBalanceFactor > 0
        ? new BoundedLoad(this.ring.hosts, this.ring.layout.weights, params.hashBalanceFactor)
        : null;
  }

  /** Envoy's ring_hash_lb gauges: size, min_hashes_per_host, max_hashes_per_host. */
  get size(): number {
    return this.ring.size;
  }

  chooseHost(ctx: LbContext | null): Host | null {
    const ring = this.ring;
    const size = ring.size;
    if (size === 0) return null;
    const hash = requestHashOf(ctx, this.rng);
    const entry = ring.entryFor(hash);
    let host = this.hostFor(entry, hash);
    // Envoy's retry attempt n behaves as if the first n entries from the hash were not there.
    for (let attempt = 1; attempt <= HOST_RESELECT_ATTEMPTS && wasTried(ctx, host); attempt++) {
      host = this.hostFor((entry + attempt) % size, hash);
    }
    return host;
  }

  private hostFor(entry: number, hash: number): Host {
    const index = this.ring.hostIndex[entry];
    return this.bounded === null ? this.ring.hosts[index] : this.bounded.choose(index, hash);
  }
}
