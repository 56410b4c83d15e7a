/**
 * Mesh → xDS resources, as ProtoObjects (proxy/config/proto-object.ts: snake_case keys, durations
 * in milliseconds, Any as `{'@type', ...}`). Every resource points at ADS for what it references:
 * listeners name their RouteConfiguration through `rds` on ADS, clusters are EDS on ADS, so one
 * stream carries everything and the server can order it.
 */
import type { ProtoObject } from '../proxy/config/proto-object.js';
import {
  HEALTH_STATUSES,
  LB_POLICIES,
  type MeshEndpoint,
  type MeshListener,
  type MeshRouteRule,
  type MeshRouteTable,
  type MeshService,
} from './mesh.js';

const HCM_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const HTTP_OPTIONS_TYPE = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const HTTP_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** `ads: {}` with the v3 resource API: what Envoy and gRPC both expect in a ConfigSource. */
function adsSource(): ProtoObject {
  return { ads: {}, resource_api_version: 'V3' };
}

function connectionManager(statPrefix: string, routeConfigName: string): ProtoObject {
  return {
    '@type': HCM_TYPE,
    stat_prefix: statPrefix,
    codec_type: 'AUTO',
    rds: { config_source: adsSource(), route_config_name: routeConfigName },
    // gRPC requires the router to be the last (here: only) filter, and typed.
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
  };
}

export function listenerResource(l: MeshListener): ProtoObject {
  return {
    name: l.name,
    address: { socket_address: { address: l.address, port_value: l.port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: connectionManager(l.name, l.routes),
          },
        ],
      },
    ],
  };
}

/**
 * The API listener a proxyless gRPC client asks for when dialing xds:///<service>: no socket, just
 * the connection manager, whose routes (a RouteConfiguration of the same name) send every call to
 * the service's cluster.
 */
export function apiListenerResource(s: MeshService): ProtoObject {
  return { name: s.name, api_listener: { api_listener: connectionManager(s.name, s.name) } };
}

export function apiRouteResource(s: MeshService): ProtoObject {
  return {
    name: s.name,
    virtual_hosts: [
      { name: s.name, domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: s.name } }] },
    ],
  };
}

export function routeResource(t: MeshRouteTable): ProtoObject {
  return {
    name: t.name,
    virtual_hosts: [{ name: t.name, domains: [...t.domains], routes: t.rules.map(routeEntry) }],
  };
}

function routeEntry(r: MeshRouteRule): ProtoObject {
  const action: ProtoObject = {};
  if (r.backends.length === 1) action.cluster = r.backends[0].service;
  else {
    action.weighted_clusters = { clusters: r.backends.map((b) => ({ name: b.service, weight: b.weight })) };
  }
  if (r.timeout_ms !== null) action.timeout = r.timeout_ms;
  if (r.retries !== null) {
    const policy: ProtoObject = { retry_on: r.retries.on, num_retries: r.retries.attempts };
    if (r.retries.per_try_timeout_ms !== null) policy.per_try_timeout = r.retries.per_try_timeout_ms;
    action.retry_policy = policy;
  }
  return { match: { prefix: r.prefix }, route: action };
}

/** How the snapshot is built beyond the mesh itself. */
export interface ResourceOptions {
  /**
   * Load reporting and global balancing are on: clusters say `lrs_server: {self: {}}` (report load
   * to this server; what proxyless gRPC needs, and Envoy honours) and balance by locality weight
   * (common_lb_config.locality_weighted_lb_config), so the weights this server decides take effect.
   */
  readonly lrs?: boolean;
  /** Per cluster, locality key (`region/zone/sub_zone`) → load_balancing_weight to serve instead of the mesh's. */
  readonly localityWeights?: (cluster: string) => ReadonlyMap<string, number> | undefined;
}

export function clusterResource(s: MeshService, options: ResourceOptions = {}): ProtoObject {
  const cluster: ProtoObject = {
    name: s.name,
    type: 'EDS',
    eds_cluster_config: { eds_config: adsSource(), service_name: s.name },
    connect_timeout: s.connect_timeout_ms,
    lb_policy: LB_POLICIES[s.lb_policy],
  };
  if (options.lrs === true) {
    cluster.lrs_server = { self: {} };
    cluster.common_lb_config = { locality_weighted_lb_config: {} };
  }
  if (s.protocol === 'http2') {
    cluster.typed_extension_protocol_options = {
      [HTTP_OPTIONS_KEY]: {
        '@type': HTTP_OPTIONS_TYPE,
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  }
  return cluster;
}

/** The locality key the LRS sink and the balancer use: `region/zone/sub_zone`. */
export function meshLocalityKey(l: { region: string; zone: string; sub_zone: string }): string {
  return `${l.region}/${l.zone}/${l.sub_zone}`;
}

/**
 * The mesh's own weight of each locality of a service: the sum of its endpoints' weights (over
 * every priority), the weight the global balancer starts from.
 */
export function configuredLocalityWeights(s: MeshService): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of s.endpoints) {
    const k = meshLocalityKey(e.locality);
    out.set(k, (out.get(k) ?? 0) + e.weight);
  }
  return out;
}

/**
 * One LocalityLbEndpoints per (locality, priority), in first-seen order. The locality's weight is
 * the sum of its endpoints' weights: gRPC ignores a locality without a weight, and Envoy uses it
 * only when locality-weighted balancing is on. With global balancing, `weights` (the balancer's
 * decision, per locality key) replaces that sum.
 */
export function loadAssignmentResource(s: MeshService, weights?: ReadonlyMap<string, number>): ProtoObject {
  const groups = new Map<string, { first: MeshEndpoint; members: MeshEndpoint[] }>();
  for (const e of s.endpoints) {
    const key = JSON.stringify([e.locality.region, e.locality.zone, e.locality.sub_zone, e.priority]);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, { first: e, members: [e] });
    else g.members.push(e);
  }
  const endpoints: ProtoObject[] = [];
  for (const { first, members } of groups.values()) {
    endpoints.push({
      locality: { ...first.locality },
      priority: first.priority,
      load_balancing_weight:
        weights?.get(meshLocalityKey(first.locality)) ?? members.reduce((sum, e) => sum + e.weight, 0),
      lb_endpoints: members.map((e) => ({
        endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } },
        health_status: HEALTH_STATUSES[e.health_status],
        load_balancing_weight: e.weight,
      })),
    });
  }
  return { cluster_name: s.name, endpoints };
}
