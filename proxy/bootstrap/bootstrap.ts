/**
 * The bootstrap as the rest of remora sees it: node identity, the admin listener, and the static
 * listeners and clusters still in decoded-proto form (the listener and cluster translators turn
 * them into models, with the same code that serves xDS). Built from an already-decoded
 * envoy.config.bootstrap.v3.Bootstrap ProtoObject; problems go to Issues with field paths.
 */
import { isIP } from 'node:net';
import { asObject, asString } from '../config/fields.js';
import { type Issues, joinPath } from '../config/issues.js';
import type { ProtoObject, ProtoValue } from '../config/proto-object.js';

export interface BootstrapLocality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export interface BootstrapNode {
  readonly id: string;
  readonly cluster: string;
  /** node.metadata (a Struct) as plain JSON; {} when absent. */
  readonly metadata: ProtoObject;
  readonly locality: BootstrapLocality;
}

export interface BootstrapAdmin {
  /** An IP literal: the admin listener binds exactly here. */
  readonly address: string;
  /** 0 (also when port_value is absent, as in Envoy) asks the OS for a free port. */
  readonly port: number;
  /** admin.access_log_path (Envoy's older, still common form); null when not set. */
  readonly accessLogPath: string | null;
  /** admin.access_log entries (envoy.config.accesslog.v3.AccessLog), untranslated. */
  readonly accessLog: readonly ProtoObject[];
}

/** One static resource and where it sits in the bootstrap, for the translator's error paths. */
export interface StaticResource {
  /** e.g. `static_resources.clusters[2]` */
  readonly path: string;
  readonly resource: ProtoObject;
}

export interface Bootstrap {
  readonly node: BootstrapNode;
  readonly admin: BootstrapAdmin | null;
  readonly staticListeners: readonly StaticResource[];
  readonly staticClusters: readonly StaticResource[];
  /** dynamic_resources (lds_config, cds_config, ads_config) as decoded; null when absent. */
  readonly dynamicResources: ProtoObject | null;
  /** cluster_manager.load_stats_config (an ApiConfigSource) as decoded; null when absent. */
  readonly loadStatsConfig: ProtoObject | null;
  /** The whole decoded bootstrap (after --config-yaml merging), for /config_dump. */
  readonly proto: ProtoObject;
}

/** The `--service-node`, `--service-cluster` and `--service-zone` flags, which win over the file. */
export interface NodeOverrides {
  readonly serviceNode?: string;
  readonly serviceCluster?: string;
  readonly serviceZone?: string;
}

/**
 * Builds the model; returns null when the decoded bootstrap has errors at this level (issues tells
 * which). Field-level decode errors are the decoder's business and are expected to be checked first.
 */
export function buildBootstrap(proto: ProtoObject, issues: Issues): Bootstrap | null {
  const before = issues.errorCount;
  const node = buildNode(asObject(proto.node) ?? {});
  const admin = proto.admin === undefined ? null : buildAdmin(asObject(proto.admin) ?? {}, 'admin', issues);
  const statics = asObject(proto.static_resources) ?? {};
  const staticListeners = resources(statics.listeners, 'static_resources.listeners', 'listener', issues);
  const staticClusters = resources(statics.clusters, 'static_resources.clusters', 'cluster', issues);
  const dynamicResources =
    proto.dynamic_resources === undefined ? null : (asObject(proto.dynamic_resources) ?? {});
  const lsc = asObject(proto.cluster_manager)?.load_stats_config;
  const loadStatsConfig = lsc === undefined ? null : (asObject(lsc) ?? {});
  if (issues.errorCount > before) return null;
  return { node, admin, staticListeners, staticClusters, dynamicResources, loadStatsConfig, proto };
}

/** The bootstrap with the command line's node overrides applied (node and proto.node both). */
export function applyNodeOverrides(b: Bootstrap, o: NodeOverrides): Bootstrap {
  if (o.serviceNode === undefined && o.serviceCluster === undefined && o.serviceZone === undefined) return b;
  const locality =
    o.serviceZone === undefined ? b.node.locality : { ...b.node.locality, zone: o.serviceZone };
  const node: BootstrapNode = {
    ...b.node,
    id: o.serviceNode ?? b.node.id,
    cluster: o.serviceCluster ?? b.node.cluster,
    locality,
  };
  const protoNode: ProtoObject = { ...asObject(b.proto.node) };
  if (node.id !== '') protoNode.id = node.id;
  if (node.cluster !== '') protoNode.cluster = node.cluster;
  if (o.serviceZone !== undefined)
    protoNode.locality = { ...asObject(protoNode.locality), zone: o.serviceZone };
  return { ...b, node, proto: { ...b.proto, node: protoNode } };
}

function buildNode(n: ProtoObject): BootstrapNode {
  const loc = asObject(n.locality) ?? {};
  return {
    id: asString(n.id),
    cluster: asString(n.cluster),
    metadata: asObject(n.metadata) ?? {},
    locality: { region: asString(loc.region), zone: asString(loc.zone), subZone: asString(loc.sub_zone) },
  };
}

function buildAdmin(a: ProtoObject, path: string, issues: Issues): BootstrapAdmin | null {
  const accessLogPath = typeof a.access_log_path === 'string' ? a.access_log_path : null;
  const accessLog = Array.isArray(a.access_log) ? (a.access_log as ProtoObject[]) : [];
  if (a.address === undefined) {
    // As in Envoy: an admin block without an address runs no admin listener.
    issues.warn(path, 'admin has no address, so the admin interface is not started');
    return null;
  }
  const apath = joinPath(joinPath(path, 'address'), 'socket_address');
  const sa = asObject(asObject(a.address)?.socket_address) ?? {};
  if (asObject(a.address)?.socket_address === undefined) {
    issues.error(joinPath(path, 'address'), 'socket_address is required');
    return null;
  }
  const address = asString(sa.address);
  if (address === '') issues.error(joinPath(apath, 'address'), 'an IP address is required');
  else if (isIP(address) === 0)
    issues.error(
      joinPath(apath, 'address'),
      `'${address}' is not an IP address (admin binds to an IP, not a name)`,
    );
  if (sa.protocol === 'UDP') issues.error(joinPath(apath, 'protocol'), 'the admin interface is TCP only');
  if (sa.resolver_name !== undefined)
    issues.error(joinPath(apath, 'resolver_name'), 'custom resolvers are not supported');
  const port = typeof sa.port_value === 'number' ? sa.port_value : 0;
  if (port > 65535) issues.error(joinPath(apath, 'port_value'), `${port} is not a TCP port (0-65535)`);
  return { address, port, accessLogPath, accessLog };
}

/** Lists the resources with their paths; duplicate non-empty names are an error, as in Envoy. */
function resources(
  list: ProtoValue | undefined,
  path: string,
  what: string,
  issues: Issues,
): StaticResource[] {
  if (!Array.isArray(list)) return [];
  const out: StaticResource[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < list.length; i++) {
    const resource = asObject(list[i]) ?? {};
    const rpath = joinPath(path, i);
    const name = asString(resource.name);
    if (name !== '') {
      const first = seen.get(name);
      if (first !== undefined)
        issues.error(
          joinPath(rpath, 'name'),
          `duplicate ${what} name '${name}' (also at ${joinPath(path, first)})`,
        );
      else seen.set(name, i);
    }
    out.push({ path: rpath, resource });
  }
  return out;
}
