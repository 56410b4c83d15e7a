/**
 * An immutable set of xDS resources built from one mesh: per type URL, name → encoded resource with
 * its own version (a content hash, so an unchanged resource keeps its version across rebuilds and
 * control-plane restarts). Sessions read from snapshots; a new mesh builds a new snapshot.
 */
import { createHash } from 'node:crypto';
import type { AnyMessage } from '../control-client/index.js';
import { encodeMessage } from '../proxy/config/binary-encode.js';
import type { ProtoObject } from '../proxy/config/proto-object.js';
import type { Mesh } from './mesh.js';
import {
  apiListenerResource,
  apiRouteResource,
  clusterResource,
  listenerResource,
  loadAssignmentResource,
  type ResourceOptions,
  routeResource,
} from './resources.js';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, PUSH_ORDER, ROUTE_TYPE } from './type-urls.js';

export interface SnapshotResource {
  readonly name: string;
  /** Content hash of the encoded bytes. */
  readonly version: string;
  readonly any: AnyMessage;
  /** The resource before encoding, for /snapshot. */
  readonly proto: ProtoObject;
  /** An API listener (proxyless gRPC): served by name only, never in a wildcard LDS answer. */
  readonly apiListener: boolean;
}

export type ResourceMap = ReadonlyMap<string, SnapshotResource>;

const MESSAGE_NAMES: Readonly<Record<string, string>> = {
  [LISTENER_TYPE]: 'envoy.config.listener.v3.Listener',
  [ROUTE_TYPE]: 'envoy.config.route.v3.RouteConfiguration',
  [CLUSTER_TYPE]: 'envoy.config.cluster.v3.Cluster',
  [ENDPOINT_TYPE]: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
};

export function hashOf(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

export function makeResource(
  typeUrl: string,
  name: string,
  proto: ProtoObject,
  apiListener = false,
): SnapshotResource {
  const value = encodeMessage(MESSAGE_NAMES[typeUrl], proto);
  return { name, version: hashOf(value), any: { type_url: typeUrl, value }, proto, apiListener };
}

/** Version of a set of resources: a hash of their sorted names and versions ('' hashes too). */
export function versionOf(resources: Iterable<SnapshotResource>): string {
  const parts = [...resources].map((r) => `${r.name}\u0000${r.version}`).sort();
  return hashOf(parts.join('\u0001'));
}

export class Snapshot {
  /** Per node id, the socket listeners it may see (absent: every listener). */
  readonly nodeListeners: ReadonlyMap<string, ReadonlySet<string>>;

  constructor(
    readonly types: ReadonlyMap<string, ResourceMap>,
    nodeListeners: ReadonlyMap<string, ReadonlySet<string>> = new Map(),
    /** When the mesh it came from was loaded (for /snapshot). */
    readonly createdAt = Date.now(),
  ) {
    this.nodeListeners = nodeListeners;
  }

  static empty(): Snapshot {
    return new Snapshot(new Map(PUSH_ORDER.map((t) => [t, new Map()])));
  }

  resources(typeUrl: string): ResourceMap {
    return this.types.get(typeUrl) ?? new Map();
  }

  /** The per-type SotW version of the whole snapshot (what /snapshot shows). */
  typeVersion(typeUrl: string): string {
    return versionOf(this.resources(typeUrl).values());
  }

  /**
   * The resources of `typeUrl` a node may see: every one, except socket listeners a per-node
   * override leaves out.
   */
  visible(typeUrl: string, nodeId: string): ResourceMap {
    const all = this.resources(typeUrl);
    const allowed = this.nodeListeners.get(nodeId);
    if (typeUrl !== LISTENER_TYPE || allowed === undefined) return all;
    const out = new Map<string, SnapshotResource>();
    for (const [name, r] of all) if (r.apiListener || allowed.has(name)) out.set(name, r);
    return out;
  }

  toJSON(): object {
    const out: Record<string, object> = {};
    for (const t of PUSH_ORDER) {
      const rs = this.resources(t);
      out[t] = {
        version: this.typeVersion(t),
        resources: [...rs.values()].map((r) => ({
          name: r.name,
          version: r.version,
          resource: jsonable(r.proto),
        })),
      };
    }
    return { created_at: new Date(this.createdAt).toISOString(), types: out };
  }
}

/** Union of two resource maps, `next` winning: what a make-before-break push serves meanwhile. */
export function unionOf(prev: ResourceMap, next: ResourceMap): ResourceMap {
  if (prev.size === 0) return next;
  const out = new Map(prev);
  for (const [name, r] of next) out.set(name, r);
  return out;
}

export function buildSnapshot(mesh: Mesh, options: ResourceOptions = {}): Snapshot {
  const lds = new Map<string, SnapshotResource>();
  const rds = new Map<string, SnapshotResource>();
  const cds = new Map<string, SnapshotResource>();
  const eds = new Map<string, SnapshotResource>();
  for (const s of mesh.services) {
    cds.set(s.name, makeResource(CLUSTER_TYPE, s.name, clusterResource(s, options)));
    const weights = options.localityWeights?.(s.name);
    eds.set(s.name, makeResource(ENDPOINT_TYPE, s.name, loadAssignmentResource(s, weights)));
    if (s.grpc) {
      lds.set(s.name, makeResource(LISTENER_TYPE, s.name, apiListenerResource(s), true));
      rds.set(s.name, makeResource(ROUTE_TYPE, s.name, apiRouteResource(s)));
    }
  }
  for (const t of mesh.routes) rds.set(t.name, makeResource(ROUTE_TYPE, t.name, routeResource(t)));
  for (const l of mesh.listeners) lds.set(l.name, makeResource(LISTENER_TYPE, l.name, listenerResource(l)));
  const nodes = new Map<string, ReadonlySet<string>>();
  for (const n of mesh.nodes) if (n.listeners !== null) nodes.set(n.id, new Set(n.listeners));
  const types = new Map<string, ResourceMap>([
    [CLUSTER_TYPE, cds],
    [ENDPOINT_TYPE, eds],
    [LISTENER_TYPE, lds],
    [ROUTE_TYPE, rds],
  ]);
  return new Snapshot(types, nodes);
}

/** ProtoObject → JSON-safe value (Buffers as base64). */
function jsonable(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (Array.isArray(v)) return v.map(jsonable);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonable(x);
    return out;
  }
  return v;
}
