import type { LbContext } from '../../../upstream/load-balancer.js';
import type { Rng } from './rng.js';

const TWO_POW_53 = 9007199254740992;

/**
 * The hash a consistent-hashing policy looks up: LbContext.hashKey when it is what the seam
 * promises (an integer in [0, 2^53)), else a random one, as Envoy picks at random for a request
 * without a hash. A malformed key therefore cannot index outside a table.
 */
export function requestHashOf(ctx: LbContext | null, rng: Rng): number {
  const key = ctx === null ? undefined : ctx.hashKey;
  if (key !== undefined && key >= 0 && key < TWO_POW_53 && Number.isInteger(key)) return key;
  return rng.next53();
}
