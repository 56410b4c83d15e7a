import type { Host } from '../../../upstream/host.js';
import type { LbContext, LoadBalancer } from '../../../upstream/load-balancer.js';
import { EdfScheduler } from '../common/edf.js';
import { HOST_RESELECT_ATTEMPTS, wasTried } from '../common/previous-hosts.js';
import type { Rng } from '../common/rng.js';
import { allWeightsEqual, hostWeight } from '../common/weights.js';
import type { LeastRequestConfig } from './factory.js';

/**
 * LEAST_REQUEST as Envoy implements it:
 * - equal weights: power of N choices — draw choice_count hosts at random (with replacement) and
 *   take the one with the fewest active requests (the first drawn wins a tie); FULL_SCAN instead
 *   looks at every host and breaks ties at random (O(n), by the operator's choice);
 * - unequal weights: an EDF schedule over dynamic weights
 *   `weight / (active_requests + 1) ^ active_request_bias`, each host's weight re-read when it is
 *   rescheduled after a pick, so busy hosts come round less often but never drain to zero.
 */
export class LeastRequestLoadBalancer implements LoadBalancer {
  private readonly hosts: readonly Host[];
  private readonly rng: Rng;
  private readonly choiceCount: number;
  private readonly fullScan: boolean;
  private readonly bias: number;
  /** null on the unweighted path. */
  private readonly edf: EdfScheduler | null;

  constructor(hosts: readonly Host[], config: LeastRequestConfig, rng: Rng) {
    this.hosts = hosts.slice();
    this.rng = rng;
    this.choiceCount = config.choiceCount;
    this.fullScan = config.selectionMethod === 'FULL_SCAN';
    this.bias = config.activeRequestBias;
    if (hosts.length === 0 || allWeightsEqual(hosts)) {
      this.edf = null;
    } else {
      const deadlines = new Float64Array(hosts.length);
      // Start each host at a random point of its first period so proxies do not move in step.
      for (let i = 0; i < hosts.length; i++)
        deadlines[i] = (1 - rng.nextFloat()) / this.dynamicWeight(hosts[i]);
      this.edf = new EdfScheduler(deadlines);
    }
  }

  chooseHost(ctx: LbContext | null): Host | null {
    if (this.hosts.length === 0) return null;
    let host = this.pickOnce(ctx);
    for (let attempt = 0; attempt < HOST_RESELECT_ATTEMPTS && wasTried(ctx, host); attempt++) {
      host = this.pickOnce(ctx);
    }
    return host;
  }

  private pickOnce(ctx: LbContext | null): Host {
    const edf = this.edf;
    if (edf !== null) {
      const host = this.hosts[edf.top()];
      edf.advanceTop(1 / this.dynamicWeight(host));
      return host;
    }
    return this.fullScan ? this.scanAll() : this.pickOfN(ctx);
  }

  /** Envoy's hostWeight: the configured weight scaled down by the host's active requests. */
  private dynamicWeight(host: Host): number {
    const w = hostWeight(host);
    const bias = this.bias;
    if (bias === 0) return w;
    const active = host.rqActive > 0 ? host.rqActive + 1 : 1;
    if (bias === 1) return w / active;
    return w / active ** bias;
  }

  /** The least loaded of choice_count random draws; a host already tried loses to any other. */
  private pickOfN(ctx: LbContext | null): Host {
    const hosts = this.hosts;
    const n = hosts.length;
    const rng = this.rng;
    const avoid = ctx !== null && ctx.previousHosts !== null;
    let best = hosts[rng.nextInt(n)];
    let bestTried = avoid && wasTried(ctx, best);
    for (let i = 1; i < this.choiceCount; i++) {
      const h = hosts[rng.nextInt(n)];
      if (avoid) {
        const tried = wasTried(ctx, h);
        if (tried !== bestTried) {
          if (!tried) {
            best = h;
            bestTried = false;
          }
          continue;
        }
      }
      if (h.rqActive < best.rqActive) best = h;
    }
    return best;
  }

  private scanAll(): Host {
    const hosts = this.hosts;
    let best = hosts[0];
    let ties = 1;
    for (let i = 1; i < hosts.length; i++) {
      const h = hosts[i];
      if (h.rqActive < best.rqActive) {
        best = h;
        ties = 1;
      } else if (h.rqActive === best.rqActive) {
        // Reservoir sampling: each of the tied hosts ends up chosen with probability 1/ties.
        ties++;
        if (this.rng.nextInt(ties) === 0) best = h;
      }
    }
    return best;
  }
}
