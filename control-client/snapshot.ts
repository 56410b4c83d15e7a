/**
 * Snapshots of accepted resources, for remora's beyond-Envoy persistence: the proxy writes the
 * last accepted resources to a local file and, when it starts while the control plane is
 * unreachable, restores them so it can serve, then reconciles once the stream is up (the restored
 * versions go out as version_info / initial_resource_versions, so the server can tell what we hold).
 *
 * Resources are kept as the bytes received, not as translated values: a restore goes through the
 * same decode and validate as a response, so a snapshot written by an older remora is re-checked.
 */
import { decodeDeltaResources } from './decode.js';
import type { TypeState } from './type-state.js';
import type { AnyMessage, ResourceMessage } from './wire.js';

export interface SnapshotResource {
  readonly name: string;
  readonly version: string;
  readonly resource: AnyMessage;
}

export interface ResourceSnapshot {
  readonly typeUrl: string;
  /** The last accepted state-of-the-world version_info ('' under delta). */
  readonly versionInfo: string;
  readonly resources: readonly SnapshotResource[];
}

export function takeSnapshot(state: TypeState<unknown>): ResourceSnapshot {
  const resources: SnapshotResource[] = [];
  for (const [name, cached] of state.cache) {
    if (cached.resource !== null)
      resources.push({ name, version: cached.version, resource: cached.resource });
  }
  return { typeUrl: state.type.typeUrl, versionInfo: state.versionInfo, resources };
}

/**
 * Loads a snapshot as if it were an accepted response (all or nothing; names nobody watches are
 * ignored). Only before the server has answered for the type: afterwards the server is the truth.
 * Returns the errors; empty means restored.
 */
export function restoreSnapshot(state: TypeState<unknown>, snapshot: ResourceSnapshot): string[] {
  if (snapshot.typeUrl !== state.type.typeUrl) {
    return [`snapshot is for ${snapshot.typeUrl}, not ${state.type.typeUrl}`];
  }
  if (state.stats.update_success > 0 || state.stats.update_rejected > 0) {
    return [
      `${state.type.typeUrl}: the management server has already answered; a snapshot is for startup only`,
    ];
  }
  const wrapped: ResourceMessage[] = snapshot.resources.map((r) => ({
    name: r.name,
    version: r.version,
    resource: r.resource,
    aliases: [],
  }));
  const decoded = decodeDeltaResources(state.type, wrapped);
  if (decoded.errors.length > 0) return decoded.errors;
  state.versionInfo = snapshot.versionInfo;
  state.stats.version_text = snapshot.versionInfo;
  state.apply(decoded.updates, [], false);
  return [];
}

/** JSON for a snapshot file: bytes as base64. */
export function snapshotsToJson(snapshots: readonly ResourceSnapshot[]): string {
  return JSON.stringify({
    snapshots: snapshots.map((s) => ({
      type_url: s.typeUrl,
      version_info: s.versionInfo,
      resources: s.resources.map((r) => ({
        name: r.name,
        version: r.version,
        type_url: r.resource.type_url,
        value: r.resource.value.toString('base64'),
      })),
    })),
  });
}

/** Parses snapshotsToJson output; throws with a field path on anything malformed. */
export function snapshotsFromJson(text: string): ResourceSnapshot[] {
  const doc: unknown = JSON.parse(text);
  const list = field(doc, 'snapshots', 'snapshots');
  if (!Array.isArray(list)) throw new Error('snapshots: must be a list');
  return list.map((s: unknown, i: number) => {
    const path = `snapshots[${i}]`;
    const resources = field(s, 'resources', path);
    if (!Array.isArray(resources)) throw new Error(`${path}.resources: must be a list`);
    return {
      typeUrl: str(s, 'type_url', path),
      versionInfo: str(s, 'version_info', path),
      resources: resources.map((r: unknown, j: number) => {
        const rp = `${path}.resources[${j}]`;
        return {
          name: str(r, 'name', rp),
          version: str(r, 'version', rp),
          resource: { type_url: str(r, 'type_url', rp), value: Buffer.from(str(r, 'value', rp), 'base64') },
        };
      }),
    };
  });
}

function field(obj: unknown, key: string, path: string): unknown {
  if (typeof obj !== 'object' || obj === null) throw new Error(`${path}: must be an object`);
  return (obj as Record<string, unknown>)[key];
}

function str(obj: unknown, key: string, path: string): string {
  const v = field(obj, key, path);
  if (typeof v !== 'string') throw new Error(`${path}.${key}: must be a string`);
  return v;
}
