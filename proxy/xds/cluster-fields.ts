import { type Issues, joinPath } from '../config/issues.js';
import type { ProtoObject, ProtoValue } from '../config/proto-object.js';

/**
 * Typed readers over a decoded ProtoObject for the cluster translators: each reports a wrong type
 * under the field's path and returns the default, so translation carries on and every mistake is
 * reported at once. The decoder normally guarantees types; these guard hand-written objects too.
 */

/** Reports every key of `obj` that is not in `known` as unsupported, with its path. */
export function rejectUnknown(
  obj: ProtoObject,
  known: ReadonlySet<string>,
  path: string,
  issues: Issues,
): void {
  for (const k of Object.keys(obj)) {
    if (obj[k] === undefined) continue;
    if (!known.has(k)) issues.error(joinPath(path, k), 'unknown or unsupported field');
  }
}

export function isObject(v: ProtoValue | undefined): v is ProtoObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
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

/** A Duration (milliseconds in the ProtoObject convention), non-negative. */
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
