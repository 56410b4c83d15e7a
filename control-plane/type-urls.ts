/** The four xDS resource types the control plane serves, and the order make-before-break pushes them in. */
export const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE_TYPE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const CLUSTER_TYPE = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const ENDPOINT_TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';

/**
 * Envoy's xDS protocol, "eventual consistency considerations": clusters first, then their
 * endpoints, then listeners, then the routes the new listeners name. Removals go the other way
 * (see push-plan.ts).
 */
export const PUSH_ORDER: readonly string[] = [CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE];

/** Short names for logs and the status page. */
export const TYPE_SHORT_NAMES: Readonly<Record<string, string>> = {
  [LISTENER_TYPE]: 'LDS',
  [ROUTE_TYPE]: 'RDS',
  [CLUSTER_TYPE]: 'CDS',
  [ENDPOINT_TYPE]: 'EDS',
};

/** LDS and CDS are wildcard types: an empty SotW subscription means "everything". */
export function isWildcardType(typeUrl: string): boolean {
  return typeUrl === LISTENER_TYPE || typeUrl === CLUSTER_TYPE;
}
