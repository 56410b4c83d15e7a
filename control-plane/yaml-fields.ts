/**
 * A small typed reader over one YAML mapping, reporting every problem to an Issues collector with
 * the field's path. Missing optional keys yield their default; a wrong type yields the default too
 * (plus an error), so validation carries on and reports everything in one pass.
 */
import { type Issues, joinPath } from '../proxy/config/issues.js';

type Json = Record<string, unknown>;

function isMapping(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export class Fields {
  private constructor(
    private readonly obj: Json,
    readonly path: string,
    private readonly issues: Issues,
  ) {}

  /** Wraps `value` when it is a mapping (optionally checking its keys); otherwise reports and returns null. */
  static of(value: unknown, path: string, issues: Issues, known?: readonly string[]): Fields | null {
    if (!isMapping(value)) {
      issues.error(path === '' ? '(root)' : path, 'must be a mapping');
      return null;
    }
    const f = new Fields(value, path, issues);
    if (known !== undefined) f.known(known);
    return f;
  }

  private at(key: string): string {
    return key === '' ? this.path : joinPath(this.path, key);
  }

  error(key: string, message: string): void {
    this.issues.error(this.at(key), message);
  }

  /** Reports every key not in `keys` (typos must not be silently ignored). */
  known(keys: readonly string[]): void {
    for (const k of Object.keys(this.obj)) {
      if (!keys.includes(k)) this.error(k, `unknown field (expected one of: ${keys.join(', ')})`);
    }
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  /** A string; `def` null makes the key required. */
  string(key: string, def: string | null): string | null {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (def === null) this.error(key, 'is required');
      return def;
    }
    if (typeof v !== 'string') {
      this.error(key, 'must be a string');
      return def;
    }
    return v;
  }

  optString(key: string): string | null {
    return this.has(key) ? this.string(key, null) : null;
  }

  /** An integer in [min, max]; `def` null makes the key required. */
  integer(key: string, def: number | null, min: number, max: number): number | null {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (def === null) this.error(key, 'is required');
      return def;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.error(key, `must be an integer in ${min}..${max}`);
      return def;
    }
    return v;
  }

  boolean(key: string, def: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') {
      this.error(key, 'must be true or false');
      return def;
    }
    return v;
  }

  oneOf<T extends string>(key: string, values: readonly T[], def: T): T {
    const v = this.obj[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.error(key, `must be one of: ${values.join(', ')}`);
      return def;
    }
    return v as T;
  }

  /** A duration as milliseconds: a number (ms) or a string such as `250ms`, `2s`, `1.5m`, `1h`. */
  duration(key: string, def: number | null): number | null {
    const v = this.obj[key];
    if (v === undefined || v === null) return def;
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
    const m = typeof v === 'string' ? DURATION.exec(v) : null;
    if (m !== null && Number(m[1]) > 0) return Number(m[1]) * UNIT_MS[m[2]];
    this.error(key, 'must be a positive duration such as 250ms, 2s, 1m (or a number of milliseconds)');
    return def;
  }

  /** A nested mapping, or null when absent (or wrong, with an error). */
  object(key: string, known: readonly string[]): Fields | null {
    if (!this.has(key)) return null;
    return Fields.of(this.obj[key], this.at(key), this.issues, known);
  }

  /** A list of mappings, each read by `read`; absent means empty. Null results are dropped. */
  list<T>(key: string, read: (f: Fields) => T | null): T[] {
    const v = this.obj[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.error(key, 'must be a list');
      return [];
    }
    const out: T[] = [];
    v.forEach((item, i) => {
      const f = Fields.of(item, joinPath(this.at(key), i), this.issues);
      const r = f === null ? null : read(f);
      if (r !== null) out.push(r);
    });
    return out;
  }

  /** A list of strings, or null when absent. */
  stringList(key: string): string[] | null {
    const v = this.obj[key];
    if (v === undefined || v === null) return null;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
      this.error(key, 'must be a list of strings');
      return [];
    }
    return v as string[];
  }
}
