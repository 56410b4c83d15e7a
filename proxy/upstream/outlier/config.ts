import { readBool, readDurationMs, readUint, rejectUnknown } from '../../config/fields.js';
import { type Issues, joinPath } from '../../config/issues.js';
import type { ProtoObject } from '../../config/proto-object.js';

/**
 * envoy.config.cluster.v3.OutlierDetection as the detector uses it, with Envoy's defaults filled in.
 * Percentages are 0..100; durations are milliseconds.
 */
export interface OutlierDetectionModel {
  readonly consecutive5xx: number;
  readonly consecutiveGatewayFailure: number;
  readonly consecutiveLocalOriginFailure: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionTimeJitterMs: number;
  readonly maxEjectionPercent: number;
  readonly enforcingConsecutive5xx: number;
  readonly enforcingConsecutiveGatewayFailure: number;
  readonly enforcingConsecutiveLocalOriginFailure: number;
  readonly enforcingSuccessRate: number;
  readonly enforcingLocalOriginSuccessRate: number;
  readonly successRateMinimumHosts: number;
  readonly successRateRequestVolume: number;
  /** success_rate_stdev_factor / 1000 (Envoy's default 1900 → 1.9). */
  readonly successRateStdevFactor: number;
  readonly failurePercentageThreshold: number;
  readonly enforcingFailurePercentage: number;
  readonly enforcingFailurePercentageLocalOrigin: number;
  readonly failurePercentageMinimumHosts: number;
  readonly failurePercentageRequestVolume: number;
  readonly splitExternalLocalOriginErrors: boolean;
  readonly successfulActiveHealthCheckUnejectHost: boolean;
  readonly alwaysEjectOneHost: boolean;
}

const FIELDS = new Set([
  'consecutive_5xx',
  'interval',
  'base_ejection_time',
  'max_ejection_percent',
  'enforcing_consecutive_5xx',
  'enforcing_success_rate',
  'success_rate_minimum_hosts',
  'success_rate_request_volume',
  'success_rate_stdev_factor',
  'consecutive_gateway_failure',
  'enforcing_consecutive_gateway_failure',
  'split_external_local_origin_errors',
  'consecutive_local_origin_failure',
  'enforcing_consecutive_local_origin_failure',
  'enforcing_local_origin_success_rate',
  'failure_percentage_threshold',
  'enforcing_failure_percentage',
  'enforcing_failure_percentage_local_origin',
  'failure_percentage_minimum_hosts',
  'failure_percentage_request_volume',
  'max_ejection_time',
  'max_ejection_time_jitter',
  'successful_active_health_check_uneject_host',
  'always_eject_one_host',
]);

const PERCENT_FIELDS = [
  'max_ejection_percent',
  'enforcing_consecutive_5xx',
  'enforcing_success_rate',
  'enforcing_consecutive_gateway_failure',
  'enforcing_consecutive_local_origin_failure',
  'enforcing_local_origin_success_rate',
  'failure_percentage_threshold',
  'enforcing_failure_percentage',
  'enforcing_failure_percentage_local_origin',
] as const;

/** Validates and fills defaults; problems go to `issues` under `path`. */
export function translateOutlierDetection(
  o: ProtoObject,
  path: string,
  issues: Issues,
): OutlierDetectionModel {
  rejectUnknown(o, FIELDS, path, issues);
  for (const f of PERCENT_FIELDS) {
    const v = o[f];
    if (typeof v === 'number' && v > 100) issues.error(joinPath(path, f), 'must be at most 100');
  }
  const u = (k: string, d: number) => readUint(o, k, path, issues, d);
  const d = (k: string, dflt: number) => readDurationMs(o, k, path, issues, dflt);
  const intervalMs = d('interval', 10_000);
  if (o.interval !== undefined && intervalMs <= 0)
    issues.error(joinPath(path, 'interval'), 'must be positive');
  const baseEjectionTimeMs = d('base_ejection_time', 30_000);
  if (o.base_ejection_time !== undefined && baseEjectionTimeMs <= 0)
    issues.error(joinPath(path, 'base_ejection_time'), 'must be positive');
  // Envoy: max_ejection_time defaults to 300 s, or to base_ejection_time when that is larger.
  const maxEjectionTimeMs = d('max_ejection_time', Math.max(300_000, baseEjectionTimeMs));
  if (o.max_ejection_time !== undefined && maxEjectionTimeMs < baseEjectionTimeMs)
    issues.error(joinPath(path, 'max_ejection_time'), 'must not be smaller than base_ejection_time');
  return {
    consecutive5xx: u('consecutive_5xx', 5),
    consecutiveGatewayFailure: u('consecutive_gateway_failure', 5),
    consecutiveLocalOriginFailure: u('consecutive_local_origin_failure', 5),
    intervalMs: intervalMs > 0 ? intervalMs : 10_000,
    baseEjectionTimeMs: baseEjectionTimeMs > 0 ? baseEjectionTimeMs : 30_000,
    maxEjectionTimeMs,
    maxEjectionTimeJitterMs: d('max_ejection_time_jitter', 0),
    maxEjectionPercent: u('max_ejection_percent', 10),
    enforcingConsecutive5xx: u('enforcing_consecutive_5xx', 100),
    enforcingConsecutiveGatewayFailure: u('enforcing_consecutive_gateway_failure', 0),
    enforcingConsecutiveLocalOriginFailure: u('enforcing_consecutive_local_origin_failure', 100),
    enforcingSuccessRate: u('enforcing_success_rate', 100),
    enforcingLocalOriginSuccessRate: u('enforcing_local_origin_success_rate', 100),
    successRateMinimumHosts: u('success_rate_minimum_hosts', 5),
    successRateRequestVolume: u('success_rate_request_volume', 100),
    successRateStdevFactor: u('success_rate_stdev_factor', 1900) / 1000,
    failurePercentageThreshold: u('failure_percentage_threshold', 85),
    enforcingFailurePercentage: u('enforcing_failure_percentage', 0),
    enforcingFailurePercentageLocalOrigin: u('enforcing_failure_percentage_local_origin', 0),
    failurePercentageMinimumHosts: u('failure_percentage_minimum_hosts', 5),
    failurePercentageRequestVolume: u('failure_percentage_request_volume', 50),
    splitExternalLocalOriginErrors: readBool(o, 'split_external_local_origin_errors', path, issues, false),
    successfulActiveHealthCheckUnejectHost: readBool(
      o,
      'successful_active_health_check_uneject_host',
      path,
      issues,
      true,
    ),
    alwaysEjectOneHost: readBool(o, 'always_eject_one_host', path, issues, false),
  };
}
