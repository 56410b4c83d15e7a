import type { Host } from '../../../upstream/host.js';
import type { LbContext } from '../../../upstream/load-balancer.js';

/**
 * How many extra picks a policy makes to avoid hosts the request already tried (the
 * previous_hosts retry predicate), like Envoy's host_selection_retry_max_attempts. Bounded so a
 * pick stays O(1)/O(log n) even when every host has been tried; after that the last pick stands.
 */
export const HOST_RESELECT_ATTEMPTS = 3;

/** True when the request already tried `host`. The list is short (one entry per retry). */
export function wasTried(ctx: LbContext | null, host: Host): boolean {
  if (ctx === null) return false;
  const prev = ctx.previousHosts;
  if (prev === null) return false;
  for (let i = 0; i < prev.length; i++) if (prev[i] === host) return true;
  return false;
}
