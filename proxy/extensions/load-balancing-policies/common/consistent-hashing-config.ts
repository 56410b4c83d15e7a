import { type Issues, joinPath } from '../../../config/issues.js';
import type { ProtoObject } from '../../../config/proto-object.js';
import { readBool, readMessage, readUint } from './config-fields.js';

const UINT32_MAX = 4294967295;

/**
 * ConsistentHashingLbConfig, shared by ring hash and Maglev. In the typed policies it is the
 * `consistent_hashing_lb_config` field of RingHash / Maglev; with the `lb_policy` enum it lives in
 * the Cluster's `common_lb_config`, so the cluster translator folds it into the `*_lb_config`
 * object it hands to parseConfig (see withCommonHashingConfig).
 */
export interface ConsistentHashingSettings {
  readonly useHostnameForHashing: boolean;
  /** Bounded-load cap as a percentage of the average load (>= 100), or 0 when unbounded. */
  readonly hashBalanceFactor: number;
}

export function parseConsistentHashing(
  root: ProtoObject,
  path: string,
  issues: Issues,
  legacyTopLevel: boolean,
): ConsistentHashingSettings {
  let useHostname = false;
  let factor = 0;
  // RingHash (typed) still carries the deprecated top-level copies of both fields.
  if (legacyTopLevel) {
    useHostname = readBool(root, 'use_hostname_for_hashing', path, issues) ?? false;
    factor = readUint(root, 'hash_balance_factor', path, issues, { min: 100, max: UINT32_MAX }) ?? 0;
  }
  const chc = readMessage(root, 'consistent_hashing_lb_config', path, issues);
  if (chc !== undefined) {
    const p = joinPath(path, 'consistent_hashing_lb_config');
    useHostname = readBool(chc, 'use_hostname_for_hashing', p, issues) ?? false;
    factor = readUint(chc, 'hash_balance_factor', p, issues, { min: 100, max: UINT32_MAX }) ?? 0;
  }
  return { useHostnameForHashing: useHostname, hashBalanceFactor: factor };
}

/**
 * For the `lb_policy: RING_HASH | MAGLEV` form: returns the `*_lb_config` object with the
 * Cluster's `common_lb_config.consistent_hashing_lb_config` added, ready for parseConfig.
 */
export function withCommonHashingConfig(
  lbConfig: ProtoObject | undefined,
  commonLbConfig: ProtoObject | undefined,
): ProtoObject | undefined {
  const chc = commonLbConfig?.consistent_hashing_lb_config;
  if (chc === undefined) return lbConfig;
  return { ...(lbConfig ?? {}), consistent_hashing_lb_config: chc };
}
