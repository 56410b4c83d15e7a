import type { JsonObject, JsonValue } from './sources.js';

/**
 * Builders for the entries of /config_dump's `configs` list, in Envoy's admin.v3 shapes. Callers
 * pass resources as proto3 JSON (the bootstrap as read from the file, xDS resources converted
 * with the JSON mapping); these functions add the `@type` of each Any and the timestamps.
 */

const PREFIX = 'type.googleapis.com/';
export const BOOTSTRAP_DUMP = `${PREFIX}envoy.admin.v3.BootstrapConfigDump`;
export const CLUSTERS_DUMP = `${PREFIX}envoy.admin.v3.ClustersConfigDump`;
export const LISTENERS_DUMP = `${PREFIX}envoy.admin.v3.ListenersConfigDump`;
export const ROUTES_DUMP = `${PREFIX}envoy.admin.v3.RoutesConfigDump`;
const CLUSTER = `${PREFIX}envoy.config.cluster.v3.Cluster`;
const LISTENER = `${PREFIX}envoy.config.listener.v3.Listener`;
const ROUTE_CONFIGURATION = `${PREFIX}envoy.config.route.v3.RouteConfiguration`;

export interface DumpedResource {
  /** The resource, proto3 JSON. */
  readonly resource: JsonObject;
  /** When it was last added or updated (ms since epoch). */
  readonly lastUpdatedMs: number;
  /** xDS version it came with (dynamic resources). */
  readonly versionInfo?: string;
}

/** google.protobuf.Timestamp in proto3 JSON. */
export function timestampJson(ms: number): string {
  return new Date(ms).toISOString();
}

/** The resource as an Any: `@type` first, then its fields (an existing `@type` is kept). */
function asAny(typeUrl: string, r: JsonObject): JsonObject {
  const { '@type': existing, ...rest } = r;
  return { '@type': typeof existing === 'string' ? existing : typeUrl, ...rest };
}

function withVersion(r: DumpedResource): JsonObject {
  return r.versionInfo === undefined ? {} : { version_info: r.versionInfo };
}

export function bootstrapConfigDump(bootstrap: JsonObject, lastUpdatedMs: number): JsonObject {
  return { '@type': BOOTSTRAP_DUMP, bootstrap, last_updated: timestampJson(lastUpdatedMs) };
}

export interface DumpSet {
  /** The version_info of the last accepted xDS response for this type. */
  readonly versionInfo?: string;
  readonly static?: readonly DumpedResource[];
  readonly dynamic?: readonly DumpedResource[];
  /** Dynamic resources not serving yet: clusters waiting for endpoints, listeners for routes. */
  readonly warming?: readonly DumpedResource[];
}

function section(obj: JsonObject, key: string, items: JsonValue[]): void {
  if (items.length > 0) obj[key] = items;
}

export function clustersConfigDump(set: DumpSet): JsonObject {
  const out: JsonObject = { '@type': CLUSTERS_DUMP };
  if (set.versionInfo !== undefined) out.version_info = set.versionInfo;
  section(
    out,
    'static_clusters',
    (set.static ?? []).map((r) => ({
      cluster: asAny(CLUSTER, r.resource),
      last_updated: timestampJson(r.lastUpdatedMs),
    })),
  );
  section(
    out,
    'dynamic_active_clusters',
    (set.dynamic ?? []).map((r) => ({
      ...withVersion(r),
      cluster: asAny(CLUSTER, r.resource),
      last_updated: timestampJson(r.lastUpdatedMs),
    })),
  );
  section(
    out,
    'dynamic_warming_clusters',
    (set.warming ?? []).map((r) => ({
      ...withVersion(r),
      cluster: asAny(CLUSTER, r.resource),
      last_updated: timestampJson(r.lastUpdatedMs),
    })),
  );
  return out;
}

function nameOf(r: DumpedResource): string {
  return typeof r.resource.name === 'string' ? r.resource.name : '';
}

/** A DynamicListener state (active_state / warming_state). */
function listenerState(r: DumpedResource): JsonObject {
  return {
    ...withVersion(r),
    listener: asAny(LISTENER, r.resource),
    last_updated: timestampJson(r.lastUpdatedMs),
  };
}

export function listenersConfigDump(set: DumpSet): JsonObject {
  const out: JsonObject = { '@type': LISTENERS_DUMP };
  if (set.versionInfo !== undefined) out.version_info = set.versionInfo;
  section(
    out,
    'static_listeners',
    (set.static ?? []).map((r) => ({
      listener: asAny(LISTENER, r.resource),
      last_updated: timestampJson(r.lastUpdatedMs),
    })),
  );
  // One DynamicListener per name, with the active and/or the warming state (a listener being
  // replaced has both, as in Envoy).
  const byName = new Map<string, JsonObject>();
  for (const r of set.dynamic ?? [])
    byName.set(nameOf(r), { name: nameOf(r), active_state: listenerState(r) });
  for (const r of set.warming ?? []) {
    const entry = byName.get(nameOf(r)) ?? { name: nameOf(r) };
    entry.warming_state = listenerState(r);
    byName.set(nameOf(r), entry);
  }
  section(out, 'dynamic_listeners', [...byName.values()]);
  return out;
}

export function routesConfigDump(set: DumpSet): JsonObject {
  const out: JsonObject = { '@type': ROUTES_DUMP };
  section(
    out,
    'static_route_configs',
    (set.static ?? []).map((r) => ({
      route_config: asAny(ROUTE_CONFIGURATION, r.resource),
      last_updated: timestampJson(r.lastUpdatedMs),
    })),
  );
  section(
    out,
    'dynamic_route_configs',
    (set.dynamic ?? []).map((r) => ({
      ...withVersion(r),
      route_config: asAny(ROUTE_CONFIGURATION, r.resource),
      last_updated: timestampJson(r.lastUpdatedMs),
    })),
  );
  return out;
}

/** `?resource=<field>`: the message type of one element of each repeated field, as Envoy names it. */
export const RESOURCE_ELEMENT_TYPES: Readonly<Record<string, string>> = {
  static_clusters: `${CLUSTERS_DUMP}.StaticCluster`,
  dynamic_active_clusters: `${CLUSTERS_DUMP}.DynamicCluster`,
  dynamic_warming_clusters: `${CLUSTERS_DUMP}.DynamicCluster`,
  static_listeners: `${LISTENERS_DUMP}.StaticListener`,
  dynamic_listeners: `${LISTENERS_DUMP}.DynamicListener`,
  static_route_configs: `${ROUTES_DUMP}.StaticRouteConfig`,
  dynamic_route_configs: `${ROUTES_DUMP}.DynamicRouteConfig`,
};
