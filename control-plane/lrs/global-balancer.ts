/**
 * Glue between the aggregated load (LoadStore) and the weighting rule (locality-weights.ts): the
 * weights one cluster's localities should get now, given the weights configured for them.
 *
 *   const decisions = decideClusterWeights(lrs.store, 'backend', configuredWeights);
 *   // write decisions[i].weight into the matching LocalityLbEndpoints.load_balancing_weight
 *
 * Only configured localities are weighted: a locality the proxies report but the mesh no longer
 * lists is ignored, and a configured locality nobody reported yet counts as healthy and idle.
 */
import type { LoadStore } from './load-store.js';
import {
  decideLocalityWeights,
  type LocalityLoadInput,
  type LocalityWeightDecision,
  type LocalityWeightOptions,
} from './locality-weights.js';

export function decideClusterWeights(
  store: LoadStore,
  cluster: string,
  configured: ReadonlyMap<string, number>,
  options?: LocalityWeightOptions,
): LocalityWeightDecision[] {
  const load = store.clusterWindow(cluster);
  const inputs: LocalityLoadInput[] = [];
  for (const [key, weight] of configured) {
    const l = load.get(key);
    inputs.push({
      key,
      weight,
      success: l?.success ?? 0,
      error: l?.error ?? 0,
      inProgress: l?.inProgress ?? 0,
    });
  }
  return decideLocalityWeights(inputs, options);
}
