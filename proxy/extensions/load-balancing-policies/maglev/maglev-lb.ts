import type { Host } from '../../../upstream/host.js';
import type { LbContext, LoadBalancer } from '../../../upstream/load-balancer.js';
import { BoundedLoad } from '../common/bounded-load.js';
import { HOST_RESELECT_ATTEMPTS, wasTried } from '../common/previous-hosts.js';
import { requestHashOf } from '../common/request-hash.js';
import type { Rng } from '../common/rng.js';
import type { MaglevConfig } from './factory.js';
import { MaglevTable } from './maglev-table.js';

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/**
 * MAGLEV: host = table[hash mod M] for the request's hash (LbContext.hashKey); a request with no
 * hash uses a random one. A retry avoiding hosts already tried flips most bits of the hash, as
 * Envoy does (hash ^ (2^64 − attempt), here within 53 bits), to land far from the first slot.
 * With hash_balance_factor, a host at its load cap hands the request on (see BoundedLoad).
 */
export class MaglevLoadBalancer implements LoadBalancer {
  readonly table: MaglevTable;
  private readonly rng: Rng;
  /** Set when hash_balance_factor caps each host's share of the requests in flight. */
  private readonly bounded: BoundedLoad | null;

  constructor(
    hosts: readonly Host[],
    config: MaglevConfig,
    rng: Rng,
    previous: MaglevLoadBalancer | null = null,
  ) {
    this.table = new MaglevTable(
      hosts,
      config.tableSize,
      config.useHostnameForHashing,
      previous?.table ?? null,
    );
    this.rng = rng;
    this.bounded =
      config.hashBalanceFactor > 0
        ? new BoundedLoad(this.table.hosts, this.table.layout.weights, config.hashBalanceFactor)
        : null;
  }

  chooseHost(ctx: LbContext | null): Host | null {
    if (this.table.hosts.length === 0) return null;
    const hash = requestHashOf(ctx, this.rng);
    let host = this.hostFor(hash, hash);
    for (let attempt = 1; attempt <= HOST_RESELECT_ATTEMPTS && wasTried(ctx, host); attempt++) {
      host = this.hostFor(retryHash(hash, attempt), hash);
    }
    return host;
  }

  /** The table's host for `slotHash`; bounded loads probe from the request's own hash. */
  private hostFor(slotHash: number, hash: number): Host {
    const index = this.table.table[slotHash % this.table.tableSize];
    return this.bounded === null ? this.table.hosts[index] : this.bounded.choose(index, hash);
  }
}

/** hash XOR (2^53 − attempt), on the two halves of a 53-bit integer (JS bit ops are 32-bit). */
function retryHash(hash: number, attempt: number): number {
  const mask = TWO_POW_53 - attempt;
  const hi = (Math.floor(hash / TWO_POW_32) ^ Math.floor(mask / TWO_POW_32)) >>> 0;
  const lo = ((hash >>> 0) ^ (mask >>> 0)) >>> 0;
  return hi * TWO_POW_32 + lo;
}
