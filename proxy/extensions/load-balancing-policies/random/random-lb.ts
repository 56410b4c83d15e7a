import type { Host } from '../../../upstream/host.js';
import type { LbContext, LoadBalancer } from '../../../upstream/load-balancer.js';
import { AliasTable } from '../common/alias-table.js';
import { HOST_RESELECT_ATTEMPTS, wasTried } from '../common/previous-hosts.js';
import type { Rng } from '../common/rng.js';
import { allWeightsEqual, hostWeight } from '../common/weights.js';

const INV_TWO_POW_32 = 1 / 4294967296;

/**
 * RANDOM: each pick independent, host i chosen with probability weight_i / sum of weights (with
 * equal weights, a plain uniform index). O(1) per pick through an alias table built once per
 * host snapshot.
 */
export class RandomLoadBalancer implements LoadBalancer {
  private readonly hosts: readonly Host[];
  /** null when all weights are equal: a uniform index is then exact and cheaper. */
  private readonly table: AliasTable | null;
  private readonly rng: Rng;

  constructor(hosts: readonly Host[], rng: Rng) {
    this.hosts = hosts.slice();
    this.rng = rng;
    if (allWeightsEqual(hosts)) {
      this.table = null;
    } else {
      const w = new Float64Array(hosts.length);
      for (let i = 0; i < hosts.length; i++) w[i] = hostWeight(hosts[i]);
      this.table = new AliasTable(w);
    }
  }

  chooseHost(ctx: LbContext | null): Host | null {
    const n = this.hosts.length;
    if (n === 0) return null;
    let host = this.pickOnce();
    for (let attempt = 0; attempt < HOST_RESELECT_ATTEMPTS && wasTried(ctx, host); attempt++) {
      host = this.pickOnce();
    }
    return host;
  }

  private pickOnce(): Host {
    const table = this.table;
    if (table === null) return this.hosts[this.rng.nextInt(this.hosts.length)];
    // 32 random bits resolve weights far finer than any configured ratio; one draw, not two.
    return this.hosts[table.sample(this.rng.nextU32() * INV_TWO_POW_32)];
  }
}
