import { type Issues, joinPath } from './issues.js';
import type { ProtoObject, ProtoValue } from './proto-object.js';

/**
 * The one set of typed field readers over decoded ProtoObjects (proto-object.ts) that every
 * translator shares. Each `read*` reports a wrong type or value at the field's path and returns
 * the default, so translation carries on and every mistake is reported at once (an xDS NACK lists
 * them all). The decoder normally guarantees types; these also guard hand-written objects.
 *
 * The `as*` coercions are total and silent: for places where a wrong type cannot come from the
 * decoder and a missing value simply means the default.
 */

/** A message value (not a list, bytes or null). */
export function isObject(v: unknown): v is ProtoObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** The value as a message, or undefined when it is not one. */
export function asObject(v: ProtoValue | undefined): ProtoObject | undefined {
  return isObject(v) ? v : undefined;
}

/** The value as a list, or an empty list when it is not one. */
export function asArray(v: ProtoValue | undefined): ProtoValue[] {
  return Array.isArray(v) ? v : [];
}

export function asString(v: ProtoValue | undefined, dflt = ''): string {
  return typeof v === 'string' ? v : dflt;
}

export function asNumber(v: ProtoValue | undefined, dflt: number): number {
  return typeof v === 'number' ? v : dflt;
}

export function asBool(v: ProtoValue | undefined, dflt: boolean): boolean {
  return typeof v === 'boolean' ? v : dflt;
}

/** Whether the field is set (present and not null). */
export function has(obj: ProtoObject, key: string): boolean {
  return obj[key] !== undefined && obj[key] !== null;
}

/**
 * Reports every set field of `obj` that is not in `known`, with its path. `message` lets a
 * translator keep the wording its users (and tests) know.
 */
export function rejectUnknown(
  obj: ProtoObject,
  known: ReadonlySet<string> | readonly string[],
  path: string,
  issues: Issues,
  message = 'unknown or unsupported field',
): void {
  const isKnown = isStringList(known) ? (k: string) => known.includes(k) : (k: string) => known.has(k);
  for (const k of Object.keys(obj)) {
    if (obj[k] === undefined) continue;
    if (!isKnown(k)) issues.error(joinPath(path, k), message);
  }
}

function isStringList(v: ReadonlySet<string> | readonly string[]): v is readonly string[] {
  return Array.isArray(v);
}

export function readObject(
  obj: ProtoObject,
  key: string,
  path: string,
  issues: Issues,
): ProtoObject | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) {
    issues.error(joinPath(path, key), 'must be a message');
    return undefined;
  }
  return v;
}

export function readArray(obj: ProtoObject, key: string, path: string, issues: Issues): ProtoValue[] {
  const v = obj[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    issues.error(joinPath(path, key), 'must be a list');
    return [];
  }
  return v;
}

/** A repeated message field: [element, path] for each element that is a message. */
export function readMessages(
  obj: ProtoObject,
  key: string,
  path: string,
  issues: Issues,
): [ProtoObject, string][] {
  const out: [ProtoObject, string][] = [];
  const list = readArray(obj, key, path, issues);
  for (let i = 0; i < list.length; i++) {
    const p = joinPath(joinPath(path, key), i);
    const v = list[i];
    if (isObject(v)) out.push([v, p]);
    else issues.error(p, 'must be a message');
  }
  return out;
}

/** A repeated string field: [element, path] for each element that is a string. */
export function readStrings(obj: ProtoObject, key: string, path: string, issues: Issues): [string, string][] {
  const out: [string, string][] = [];
  const list = readArray(obj, key, path, issues);
  for (let i = 0; i < list.length; i++) {
    const p = joinPath(joinPath(path, key), i);
    const v = list[i];
    if (typeof v === 'string') out.push([v, p]);
    else issues.error(p, 'must be a string');
  }
  return out;
}

export function readString(obj: ProtoObject, key: string, path: string, issues: Issues, dflt = ''): string {
  const v = obj[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string') {
    issues.error(joinPath(path, key), 'must be a string');
    return dflt;
  }
  return v;
}

export function readBool(obj: ProtoObject, key: string, path: string, issues: Issues, dflt = false): boolean {
  const v = obj[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') {
    issues.error(joinPath(path, key), 'must be a boolean');
    return dflt;
  }
  return v;
}

/** Any integer (int32/int64 as decoded); range-checked by the caller where it matters. */
export function readInt(obj: ProtoObject, key: string, path: string, issues: Issues, dflt: number): number {
  const v = obj[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    issues.error(joinPath(path, key), 'must be an integer');
    return dflt;
  }
  return v;
}

/** A non-negative integer (uint32/uint64 fields) within `max`. */
export function readUint(
  obj: ProtoObject,
  key: string,
  path: string,
  issues: Issues,
  dflt: number,
  max = 0xffffffff,
): number {
  const v = obj[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    issues.error(joinPath(path, key), `must be an integer between 0 and ${max}`);
    return dflt;
  }
  return v;
}

/** A google.protobuf.Duration (milliseconds in the decoded form), non-negative. */
export function readDurationMs(
  obj: ProtoObject,
  key: string,
  path: string,
  issues: Issues,
  dflt: number,
): number {
  const v = obj[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    issues.error(joinPath(path, key), 'must be a non-negative duration');
    return dflt;
  }
  return v;
}

/** An enum given by value name; `allowed` lists the supported names, the rest are reported. */
export function readEnum<T extends string>(
  obj: ProtoObject,
  key: string,
  path: string,
  issues: Issues,
  allowed: readonly T[],
  dflt: T,
): T {
  const v = obj[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    issues.error(joinPath(path, key), `${String(v)} is not supported (supported: ${allowed.join(', ')})`);
    return dflt;
  }
  return v as T;
}

/** Names of the members of a oneof that are set. */
export function oneofSet(obj: ProtoObject, keys: readonly string[]): string[] {
  return keys.filter((k) => has(obj, k));
}

/**
 * The set member of a oneof, or null. More than one set is reported at `path`; none set is
 * reported with the message `required` unless it is null (an optional oneof).
 */
export function readOneof(
  obj: ProtoObject,
  keys: readonly string[],
  path: string,
  issues: Issues,
  required: string | null,
): string | null {
  const set = oneofSet(obj, keys);
  if (set.length > 1) {
    issues.error(path, `only one of ${set.join(', ')} may be set`);
    return set[0];
  }
  if (set.length === 0) {
    if (required !== null) issues.error(path, required);
    return null;
  }
  return set[0];
}
