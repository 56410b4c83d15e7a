import { readMessages, readObject } from '../../config/fields.js';
import { type Issues, joinPath } from '../../config/issues.js';
import type { ProtoObject } from '../../config/proto-object.js';
import { type OutlierDetectionModel, translateOutlierDetection } from '../outlier/config.js';
import { type HealthCheckModel, translateHealthCheck } from './config.js';

/** Cluster fields translated here (the cluster translator accepts them and spreads the result). */
export const CLUSTER_HEALTH_FIELDS = ['health_checks', 'outlier_detection'] as const;

export interface ClusterHealthModel {
  outlierDetection?: OutlierDetectionModel;
  healthChecks?: readonly HealthCheckModel[];
}

/** Cluster.health_checks and Cluster.outlier_detection; absent fields stay absent. */
export function translateClusterHealth(c: ProtoObject, path: string, issues: Issues): ClusterHealthModel {
  const out: ClusterHealthModel = {};
  const od = readObject(c, 'outlier_detection', path, issues);
  if (od !== undefined)
    out.outlierDetection = translateOutlierDetection(od, joinPath(path, 'outlier_detection'), issues);
  const checks: HealthCheckModel[] = [];
  for (const [h, hp] of readMessages(c, 'health_checks', path, issues)) {
    const m = translateHealthCheck(h, hp, issues);
    if (m !== null) checks.push(m);
  }
  if (checks.length > 0) out.healthChecks = checks;
  return out;
}
