/**
 * remora's protobuf schema: every .proto under proto/ loaded once into one protobufjs Root (field
 * names kept as written, snake_case), plus the registry that maps Any type URLs to message types.
 * Both config decoders (proto3 JSON from the bootstrap, binary from xDS) walk this reflection, so
 * a field exists for remora exactly when it is in proto/.
 *
 * google/protobuf/* imports resolve to protobufjs's bundled well-known types.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export type MessageType = protobuf.Type;
export type EnumType = protobuf.Enum;
export type FieldInfo = protobuf.Field;

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** The file whose presence marks remora's project root (the directory holding proto/). */
const MARKER = join('proto', 'envoy', 'config', 'bootstrap', 'v3', 'bootstrap.proto');

/**
 * The project root, found by walking up from this module: from the TS source it is two levels up
 * (proxy/config/), from the compiled tree three (dist/proxy/config/). Walking rather than fixing
 * the depth keeps both working without a build step copying protos.
 */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, MARKER))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`remora's proto/ directory not found above ${fileURLToPath(import.meta.url)}`);
}

export function protoDir(): string {
  return join(projectRoot(), 'proto');
}

function listProtos(dir: string, out: string[]): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) listProtos(full, out);
    else if (e.name.endsWith('.proto')) out.push(full);
  }
}

export class Schema {
  /** Full message name (no leading dot) → type, for every message in the schema. */
  private readonly types = new Map<string, MessageType>();

  /** Wraps an already loaded root (tests use this for Envoy's official protos). */
  constructor(readonly root: protobuf.Root) {
    root.resolveAll();
    this.collect(root);
  }

  /** Loads every .proto under `dir`; imports are written relative to `dir`, as in Envoy's tree. */
  static fromDir(dir: string): Schema {
    const files: string[] = [];
    listProtos(dir, files);
    const root = new protobuf.Root();
    // The bundled well-known types (google/protobuf/*) are matched by protobufjs before this runs.
    root.resolvePath = (_origin, target) => (target.startsWith(dir) ? target : join(dir, target));
    root.loadSync(
      files.map((f) => relative(dir, f).split(sep).join('/')),
      { keepCase: true },
    );
    return new Schema(root);
  }

  private collect(ns: protobuf.NamespaceBase): void {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) this.types.set(nested.fullName.slice(1), nested);
      if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) this.collect(nested);
    }
  }

  /** The message type with this full name (`envoy.config.cluster.v3.Cluster`); throws if absent. */
  lookupType(fullName: string): MessageType {
    const t = this.types.get(fullName.startsWith('.') ? fullName.slice(1) : fullName);
    if (t === undefined) throw new Error(`remora's schema has no message type ${fullName}`);
    return t;
  }

  /** The message type for an Any type URL (any prefix before the last '/'), or null when unknown. */
  typeForUrl(typeUrl: string): MessageType | null {
    const slash = typeUrl.lastIndexOf('/');
    if (slash < 0) return null;
    return this.types.get(typeUrl.slice(slash + 1)) ?? null;
  }

  /** Every type URL an Any may carry in remora's config, sorted. */
  knownTypeUrls(): string[] {
    return [...this.types.keys()].sort().map((n) => TYPE_URL_PREFIX + n);
  }
}

let shared: Schema | undefined;

/** The process-wide schema, loaded on first use (the protos never change while running). */
export function schema(): Schema {
  if (shared === undefined) shared = Schema.fromDir(protoDir());
  return shared;
}

export function lookupType(fullName: string): MessageType {
  return schema().lookupType(fullName);
}

export function typeForUrl(typeUrl: string): MessageType | null {
  return schema().typeForUrl(typeUrl);
}

/** `envoy.config.cluster.v3.Cluster` → `type.googleapis.com/envoy.config.cluster.v3.Cluster`. */
export function typeUrlFor(fullName: string): string {
  return TYPE_URL_PREFIX + (fullName.startsWith('.') ? fullName.slice(1) : fullName);
}

/** Full name without the leading dot that protobufjs keeps. */
export function fullNameOf(type: MessageType | EnumType): string {
  return type.fullName.startsWith('.') ? type.fullName.slice(1) : type.fullName;
}
