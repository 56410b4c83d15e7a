import type { Host } from '../../../upstream/host.js';
import type { LbContext, LoadBalancer } from '../../../upstream/load-balancer.js';
import { HOST_RESELECT_ATTEMPTS, wasTried } from '../common/previous-hosts.js';
import type { Rng } from '../common/rng.js';
import { MaglevTable } from './maglev-table.js';

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/**
 * MAGLEV: host = table[hash mod M] for the request's hash (LbContext.hashKey); a request with no
 * hash uses a random one. A retry avoiding hosts already tried flips most bits of the hash, as
 * Envoy does (hash ^ (2^64 − attempt), here within 53 bits), to land far from the first slot.
 */
export class MaglevLoadBalancer implements LoadBalancer {
  readonly table: MaglevTable;
  private readonly rng: Rng;

  constructor(
    hosts: readonly Host[],
    tableSize: number,
    useHostnameForHashing: boolean,
    rng: Rng,
    previous: MaglevLoadBalancer | null = null,
  ) {
    this.table = new MaglevTable(hosts, tableSize, useHostnameForHashing, previous?.table ?? null);
    this.rng = rng;
  }

  chooseHost(ctx: LbContext | null): Host | null {
    if (this.table.hosts.length === 0) return null;
    const key = ctx?.hashKey;
    const hash = key === undefined ? this.rng.next53() : key;
    const size = this.table.tableSize;
    let host = this.table.hostAt(hash % size);
    for (let attempt = 1; attempt <= HOST_RESELECT_ATTEMPTS && wasTried(ctx, host); attempt++) {
      host = this.table.hostAt(retryHash(hash, attempt) % size);
    }
    return host;
  }
}

/** hash XOR (2^53 − attempt), on the two halves of a 53-bit integer (JS bit ops are 32-bit). */
function retryHash(hash: number, attempt: number): number {
  const mask = TWO_POW_53 - attempt;
  const hi = (Math.floor(hash / TWO_POW_32) ^ Math.floor(mask / TWO_POW_32)) >>> 0;
  const lo = ((hash >>> 0) ^ (mask >>> 0)) >>> 0;
  return hi * TWO_POW_32 + lo;
}
