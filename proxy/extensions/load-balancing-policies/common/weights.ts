import type { Host } from '../../../upstream/host.js';

/**
 * A host's load-balancing weight as the policies use it. The cluster validates
 * load_balancing_weight >= 1; anything else (a Host built by hand) counts as weight 1 so one bad
 * value cannot zero out or poison a whole table.
 */
export function hostWeight(host: Host): number {
  const w = host.weight;
  return Number.isFinite(w) && w > 0 ? w : 1;
}

/** True when every host has the same weight (policies then take their unweighted fast path). */
export function allWeightsEqual(hosts: readonly Host[]): boolean {
  if (hosts.length === 0) return true;
  const w0 = hostWeight(hosts[0]);
  for (let i = 1; i < hosts.length; i++) if (hostWeight(hosts[i]) !== w0) return false;
  return true;
}
