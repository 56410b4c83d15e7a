/**
 * Envoy's official protos, as shipped by @grpc/grpc-js-xds under deps/, loaded with protobufjs for
 * the conformance tests. remora's proto/ mirrors Envoy's file layout, so the entry files are simply
 * the same relative paths as remora's own files.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { protoDir, Schema } from '../../proxy/config/schema.js';

const DEPS = fileURLToPath(new URL('../../node_modules/@grpc/grpc-js-xds/deps/', import.meta.url));
/** descriptor.proto (for the option annotations) ships with protobufjs, not with the deps. */
const PROTOBUFJS = fileURLToPath(new URL('../../node_modules/protobufjs/', import.meta.url));
export const ENVOY_INCLUDE_DIRS = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate']
  .map((d) => join(DEPS, d))
  .concat(PROTOBUFJS);

/** Relative paths of every .proto remora has (`envoy/config/core/v3/base.proto`, ...). */
export function remoraProtoFiles(): string[] {
  const dir = protoDir();
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith('.proto')) out.push(relative(dir, full).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

export function findInEnvoy(file: string): string | undefined {
  for (const inc of ENVOY_INCLUDE_DIRS) {
    const p = join(inc, file);
    if (existsSync(p)) return p;
  }
  return undefined;
}

let cached: Schema | undefined;

/** Envoy's schema: the official counterparts of all of remora's proto files and what they import. */
export function envoySchema(): Schema {
  if (cached !== undefined) return cached;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => findInEnvoy(target) ?? target;
  const entries = remoraProtoFiles().filter((f) => findInEnvoy(f) !== undefined);
  root.loadSync(entries, { keepCase: true });
  cached = new Schema(root);
  return cached;
}
