import { type Issues, joinPath } from '../config/issues.js';
import type { ProtoObject, ProtoValue } from '../config/proto-object.js';

/**
 * Small typed readers over decoded ProtoObjects for the route translators. Each reports a wrong
 * type at the field's path and returns the fallback, so translation goes on and every problem is
 * reported at once.
 */

/** Reports every present field not in `allowed` as unsupported. */
export function checkFields(
  obj: ProtoObject,
  allowed: readonly string[],
  path: string,
  issues: Issues,
): void {
  for (const key of Object.keys(obj)) {
    if (obj[key] === undefined) continue;
    if (!allowed.includes(key)) issues.error(joinPath(path, key), 'field is not supported by remora');
  }
}

export function has(obj: ProtoObject, key: string): boolean {
  return obj[key] !== undefined && obj[key] !== null;
}

export function readString(
  obj: ProtoObject,
  key: string,
  path: string,
  issues: Issues,
  fallback = '',
): string {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') {
    issues.error(joinPath(path, key), 'must be a string');
    return fallback;
  }
  return v;
}

export function readBool(
  obj: ProtoObject,
  key: string,
  path: string,
  issues: Issues,
  fallback: boolean,
): boolean {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') {
    issues.error(joinPath(path, key), 'must be a boolean');
    return fallback;
  }
  return v;
}

/** An integer field (uint32/int64 as decoded); range-checked by the caller where it matters. */
export function readInt(
  obj: ProtoObject,
  key: string,
  path: string,
  issues: Issues,
  fallback: number,
): number {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    issues.error(joinPath(path, key), 'must be an integer');
    return fallback;
  }
  return v;
}

/** A google.protobuf.Duration (milliseconds in the decoded form). */
export function readDurationMs(
  obj: ProtoObject,
  key: string,
  path: string,
  issues: Issues,
  fallback: number,
): number {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    issues.error(joinPath(path, key), 'must be a non-negative duration');
    return fallback;
  }
  return v;
}

export function readMessage(obj: ProtoObject, key: string, path: string, issues: Issues): ProtoObject | null {
  const v = obj[key];
  if (v === undefined || v === null) return null;
  if (!isMessage(v)) {
    issues.error(joinPath(path, key), 'must be a message');
    return null;
  }
  return v;
}

export function readList(obj: ProtoObject, key: string, path: string, issues: Issues): ProtoValue[] {
  const v = obj[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    issues.error(joinPath(path, key), 'must be a list');
    return [];
  }
  return v;
}

/** A repeated message field: yields [element, path] for each element that is a message. */
export function readMessages(
  obj: ProtoObject,
  key: string,
  path: string,
  issues: Issues,
): [ProtoObject, string][] {
  const out: [ProtoObject, string][] = [];
  const list = readList(obj, key, path, issues);
  for (let i = 0; i < list.length; i++) {
    const p = joinPath(joinPath(path, key), i);
    const v = list[i];
    if (isMessage(v)) out.push([v, p]);
    else issues.error(p, 'must be a message');
  }
  return out;
}

export function readStrings(obj: ProtoObject, key: string, path: string, issues: Issues): [string, string][] {
  const out: [string, string][] = [];
  const list = readList(obj, key, path, issues);
  for (let i = 0; i < list.length; i++) {
    const p = joinPath(joinPath(path, key), i);
    const v = list[i];
    if (typeof v === 'string') out.push([v, p]);
    else issues.error(p, 'must be a string');
  }
  return out;
}

export function isMessage(v: ProtoValue | undefined): v is ProtoObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** Names of the keys of a oneof that are set. */
export function oneofSet(obj: ProtoObject, keys: readonly string[]): string[] {
  return keys.filter((k) => has(obj, k));
}

/** Reports more than one member of a oneof; returns the set member or null. */
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

/** Control characters a value may not hold (Envoy's HTTP_HEADER_VALUE well-known regex, non-strict). */
export function headerValueLike(value: string): boolean {
  return !/[\0\r\n]/.test(value);
}
