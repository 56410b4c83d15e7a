/** Shared by the decoder tests: the test-only schema and the realistic bootstrap fixture. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { Schema } from '../../proxy/config/schema.js';

let testSchemaCache: Schema | undefined;

/** test/config/fixtures/protos: every proto3 JSON rule in one small package (remora.test.v1). */
export function testSchema(): Schema {
  testSchemaCache ??= Schema.fromDir(fileURLToPath(new URL('./fixtures/protos', import.meta.url)));
  return testSchemaCache;
}

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/** The realistic bootstrap (YAML) as the plain JS value YAML parsing yields. */
export function fullBootstrapJson(): unknown {
  return parse(readFileSync(fixturePath('full-bootstrap.yaml'), 'utf8'));
}
