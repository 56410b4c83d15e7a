import type { StreamInfo } from '../../http/stream-info.js';
import type { FormatOperator } from './operators.js';
import { parseFormat, type Segment } from './text-format.js';

/**
 * Envoy's json_format: a Struct whose string values are format strings, nested Structs allowed.
 * A value that is exactly one operator keeps the operator's type (`"%RESPONSE_CODE%"` → 200, a
 * number); a value mixing text and operators is a string. An operator without a value is `null`;
 * under omit_empty_values such keys are left out. One JSON object per line.
 *
 * Compiled once into a tree of entries with their keys already JSON-quoted, so formatting only
 * evaluates operators and concatenates.
 */

/** A decoded google.protobuf.Struct value. */
export type JsonConfigValue =
  | string
  | number
  | boolean
  | null
  | JsonConfigValue[]
  | { [k: string]: JsonConfigValue };

enum Kind {
  /** A constant, already serialised. */
  Constant,
  /** A single operator, typed. */
  Typed,
  /** Text mixed with operators; always a string. */
  Text,
  Object,
}

interface Entry {
  readonly quotedKey: string;
  readonly kind: Kind;
  readonly constant: string;
  readonly op: FormatOperator | null;
  readonly segments: readonly Segment[] | null;
  readonly children: readonly Entry[] | null;
}

export interface JsonCompileError {
  /** Key path inside the Struct (`a.b`). */
  readonly key: string;
  readonly message: string;
}

function entry(quotedKey: string, kind: Kind, parts: Partial<Omit<Entry, 'quotedKey' | 'kind'>>): Entry {
  return {
    quotedKey,
    kind,
    constant: parts.constant ?? '',
    op: parts.op ?? null,
    segments: parts.segments ?? null,
    children: parts.children ?? null,
  };
}

function compileObject(obj: { [k: string]: JsonConfigValue }, prefix: string): Entry[] | JsonCompileError {
  const out: Entry[] = [];
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    const qk = JSON.stringify(k);
    if (typeof v === 'string') {
      const segs = parseFormat(v);
      if (typeof segs === 'string') return { key, message: segs };
      if (segs.length === 1 && typeof segs[0] !== 'string') out.push(entry(qk, Kind.Typed, { op: segs[0] }));
      else if (segs.every((s) => typeof s === 'string'))
        out.push(entry(qk, Kind.Constant, { constant: JSON.stringify(segs.join('')) }));
      else out.push(entry(qk, Kind.Text, { segments: segs }));
    } else if (typeof v === 'number' || typeof v === 'boolean' || v === null) {
      out.push(entry(qk, Kind.Constant, { constant: JSON.stringify(v) }));
    } else if (Array.isArray(v)) {
      return { key, message: 'lists are not supported in json_format; use a string or a nested object' };
    } else {
      const children = compileObject(v, key);
      if (!Array.isArray(children)) return children;
      out.push(entry(qk, Kind.Object, { children }));
    }
  }
  return out;
}

export class JsonFormatter {
  private constructor(
    private readonly entries: readonly Entry[],
    private readonly omitEmpty: boolean,
  ) {}

  static compile(
    struct: { [k: string]: JsonConfigValue },
    omitEmptyValues = false,
  ): JsonFormatter | JsonCompileError {
    const entries = compileObject(struct, '');
    if (!Array.isArray(entries)) return entries;
    return new JsonFormatter(entries, omitEmptyValues);
  }

  /** One JSON object and a newline. */
  format(info: StreamInfo): string {
    return `${this.object(this.entries, info)}\n`;
  }

  private object(entries: readonly Entry[], info: StreamInfo): string {
    let out = '{';
    let first = true;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const v = this.value(e, info);
      if (v === null) continue;
      out += first ? `${e.quotedKey}:${v}` : `,${e.quotedKey}:${v}`;
      first = false;
    }
    return `${out}}`;
  }

  /** The serialised value of one entry, or null when omit_empty_values drops it. */
  private value(e: Entry, info: StreamInfo): string | null {
    switch (e.kind) {
      case Kind.Constant:
        return e.constant;
      case Kind.Typed: {
        const v = e.op!.value(info);
        if (v === null || v === '') return this.omitEmpty ? null : v === null ? 'null' : '""';
        return typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'null') : JSON.stringify(v);
      }
      case Kind.Text: {
        const segs = e.segments!;
        const empty = this.omitEmpty ? '' : '-';
        let s = '';
        for (let i = 0; i < segs.length; i++) {
          const seg = segs[i];
          s += typeof seg === 'string' ? seg : (seg.text(info) ?? empty);
        }
        if (s === '' && this.omitEmpty) return null;
        return JSON.stringify(s);
      }
      case Kind.Object:
        return this.object(e.children!, info);
    }
  }
}
