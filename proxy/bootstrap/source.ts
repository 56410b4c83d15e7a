/**
 * Reading a bootstrap's text into a plain JSON-like value, before any proto decoding: the file
 * (YAML for .yaml/.yml, JSON for .json, otherwise JSON then YAML, as Envoy picks by extension)
 * or the --config-yaml string. Problems are reported into Issues with a location instead of a
 * field path: `remora.yaml:12:5: Map keys must be unique`, `cannot read config file ...`.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { Issues } from '../config/issues.js';

export type SourceFormat = 'yaml' | 'json' | 'auto';

/** The format a config path implies by its extension. */
export function formatOfPath(path: string): SourceFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
  if (lower.endsWith('.json')) return 'json';
  return 'auto';
}

/** Reads and parses the file at `path`; undefined (with an issue) when that is not possible. */
export function readConfigFile(path: string, issues: Issues): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    issues.error(path, `cannot read config file: ${describeFsError(err)}`);
    return undefined;
  }
  return parseConfigText(text, path, formatOfPath(path), issues);
}

/**
 * Parses bootstrap text. `name` labels locations in messages (the file path or `--config-yaml`).
 * The value must be a mapping (the Bootstrap message); an empty document is an error.
 */
export function parseConfigText(
  text: string,
  name: string,
  format: SourceFormat,
  issues: Issues,
): Record<string, unknown> | undefined {
  if (text.replace(/^\uFEFF/, '').trim() === '') {
    issues.error(name, 'the bootstrap is empty');
    return undefined;
  }
  let value: unknown;
  if (format === 'json') {
    const r = parseJson(text);
    if (!r.ok) {
      issues.error(r.line === undefined ? name : `${name}:${r.line}:${r.col}`, `invalid JSON: ${r.reason}`);
      return undefined;
    }
    value = r.value;
  } else if (format === 'auto') {
    const r = parseJson(text);
    value = r.ok ? r.value : parseYaml(text, name, issues);
    if (!r.ok && value === undefined) return undefined;
  } else {
    value = parseYaml(text, name, issues);
    if (value === undefined) return undefined;
  }
  if (value === null) {
    issues.error(name, 'the bootstrap is empty (only comments)');
    return undefined;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    issues.error(
      name,
      `the bootstrap must be a mapping of fields (node, admin, static_resources, ...), not ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}`,
    );
    return undefined;
  }
  return value as Record<string, unknown>;
}

type JsonResult = { ok: true; value: unknown } | { ok: false; reason: string; line?: number; col?: number };

function parseJson(text: string): JsonResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const m = /\(line (\d+) column (\d+)\)/.exec(message);
    const reason = message.replace(/\s*\(line \d+ column \d+\)/, '').replace(/\s+/g, ' ');
    if (m === null) return { ok: false, reason };
    return { ok: false, reason, line: Number(m[1]), col: Number(m[2]) };
  }
}

/**
 * YAML 1.2 (core schema: no timestamps or other 1.1 surprises), duplicate keys rejected, one
 * document only. Returns undefined after reporting every syntax error with line and column.
 */
function parseYaml(text: string, name: string, issues: Issues): unknown {
  const docs = parseAllDocuments(text, { version: '1.2', prettyErrors: true, uniqueKeys: true });
  if (!Array.isArray(docs)) {
    issues.error(name, 'the bootstrap is empty');
    return undefined;
  }
  let failed = false;
  for (const doc of docs) {
    for (const e of doc.errors) {
      failed = true;
      const pos = e.linePos?.[0];
      // prettyErrors appends " at line L, column C:" and a source excerpt; the location goes in the path.
      const reason = e.message.split(/ at line \d+, column \d+/)[0];
      issues.error(
        pos === undefined ? name : `${name}:${pos.line}:${pos.col}`,
        `YAML syntax error: ${reason}`,
      );
    }
  }
  if (failed) return undefined;
  if (docs.length === 0) {
    issues.error(name, 'the bootstrap is empty (only comments)');
    return undefined;
  }
  if (docs.length > 1) {
    issues.error(name, `holds ${docs.length} YAML documents; a bootstrap is exactly one`);
    return undefined;
  }
  try {
    // Bounded alias expansion: a "billion laughs" document fails here instead of eating memory.
    return docs[0].toJS({ maxAliasCount: 1000 });
  } catch (err) {
    issues.error(name, `YAML: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
