import { isObject, readObject, rejectUnknown } from '../config/fields.js';
import { type Issues, joinPath } from '../config/issues.js';
import type { ProtoObject } from '../config/proto-object.js';
import type { CommonLbModel } from '../model/cluster.js';

const COMMON_LB_FIELDS = new Set([
  'healthy_panic_threshold',
  'locality_weighted_lb_config',
  'consistent_hashing_lb_config',
]);
const NOT_SUPPORTED = new Set([
  'zone_aware_lb_config',
  'update_merge_window',
  'ignore_new_hosts_until_first_hc',
  'close_connections_on_host_set_change',
  'override_host_status',
]);

/**
 * Cluster.common_lb_config → CommonLbModel. consistent_hashing_lb_config is not part of the
 * model: the cluster translator folds it into the ring hash / Maglev config
 * (withCommonHashingConfig). Returns undefined when the field is absent.
 */
export function translateCommonLbConfig(
  c: ProtoObject,
  path: string,
  issues: Issues,
): CommonLbModel | undefined {
  const common = readObject(c, 'common_lb_config', path, issues);
  if (!common) return undefined;
  const p = joinPath(path, 'common_lb_config');
  for (const k of Object.keys(common)) {
    if (NOT_SUPPORTED.has(k)) issues.error(joinPath(p, k), 'not supported by remora');
  }
  rejectUnknown(common, new Set([...COMMON_LB_FIELDS, ...NOT_SUPPORTED]), p, issues);
  let threshold = 50;
  const hpt = readObject(common, 'healthy_panic_threshold', p, issues);
  if (hpt) {
    const hp = joinPath(p, 'healthy_panic_threshold');
    rejectUnknown(hpt, new Set(['value']), hp, issues);
    const v = hpt.value ?? 0;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) {
      issues.error(joinPath(hp, 'value'), 'must be a percentage in [0, 100]');
    } else threshold = v;
  }
  const lw = readObject(common, 'locality_weighted_lb_config', p, issues);
  if (lw) rejectUnknown(lw, new Set(), joinPath(p, 'locality_weighted_lb_config'), issues);
  const chc = readObject(common, 'consistent_hashing_lb_config', p, issues);
  if (chc) {
    rejectUnknown(
      chc,
      new Set(['use_hostname_for_hashing', 'hash_balance_factor']),
      joinPath(p, 'consistent_hashing_lb_config'),
      issues,
    );
  }
  return { healthyPanicThresholdPercent: threshold, localityWeighted: lw !== undefined };
}

/**
 * Whether a typed load_balancing_policy asks for locality weighting: RingHash / Maglev carry
 * `locality_weighted_lb_config`, RoundRobin / LeastRequest / Random carry
 * `locality_lb_config.locality_weighted_lb_config` (Envoy's LocalityLbConfig).
 */
export function typedLocalityWeighted(body: ProtoObject): boolean {
  if (isObject(body.locality_weighted_lb_config)) return true;
  const llc = body.locality_lb_config;
  return isObject(llc) && isObject(llc.locality_weighted_lb_config);
}

/** common_lb_config's model with locality weighting switched on by the typed policy, if it asks. */
export function withTypedLocality(
  common: CommonLbModel | undefined,
  typedWeighted: boolean,
): CommonLbModel | undefined {
  if (!typedWeighted) return common;
  return { healthyPanicThresholdPercent: common?.healthyPanicThresholdPercent ?? 50, localityWeighted: true };
}
