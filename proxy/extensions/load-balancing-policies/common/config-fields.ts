import { isObject, readObject } from '../../../config/fields.js';
import { type Issues, joinPath } from '../../../config/issues.js';
import type { ProtoObject } from '../../../config/proto-object.js';

/**
 * Typed readers for the fields of an `*_lb_config` / typed policy config in the ProtoObject form
 * (wrappers unwrapped, Durations in ms, enums as names). Each reports a problem at the field's
 * path and returns undefined, so a policy's parseConfig reads as a list of fields with defaults.
 */

export interface UintBounds {
  readonly min?: number;
  readonly max?: number;
}

/** A UInt32Value / UInt64Value (or plain uint) field; absent → undefined. */
export function readUint(
  obj: ProtoObject,
  field: string,
  path: string,
  issues: Issues,
  bounds: UintBounds = {},
): number | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  const p = joinPath(path, field);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    issues.error(p, 'must be a non-negative integer');
    return undefined;
  }
  if (bounds.min !== undefined && v < bounds.min) {
    issues.error(p, `must be at least ${bounds.min}, got ${v}`);
    return undefined;
  }
  if (bounds.max !== undefined && v > bounds.max) {
    issues.error(p, `must be at most ${bounds.max}, got ${v}`);
    return undefined;
  }
  return v;
}

/** A bool / BoolValue field; absent → undefined. */
export function readBool(obj: ProtoObject, field: string, path: string, issues: Issues): boolean | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') {
    issues.error(joinPath(path, field), 'must be a boolean');
    return undefined;
  }
  return v;
}

/** An enum field given by value name; absent → undefined. */
export function readEnum<E extends string>(
  obj: ProtoObject,
  field: string,
  path: string,
  issues: Issues,
  names: readonly E[],
): E | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !(names as readonly string[]).includes(v)) {
    issues.error(joinPath(path, field), `must be one of ${names.join(', ')}, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return v as E;
}

/** A google.protobuf.Duration field (milliseconds) that must be positive; absent → undefined. */
export function readPositiveDurationMs(
  obj: ProtoObject,
  field: string,
  path: string,
  issues: Issues,
): number | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    issues.error(joinPath(path, field), 'must be a positive duration');
    return undefined;
  }
  return v;
}

/** A message field; absent → undefined. */
export function readMessage(
  obj: ProtoObject,
  field: string,
  path: string,
  issues: Issues,
): ProtoObject | undefined {
  return readObject(obj, field, path, issues);
}

/** The top-level config: absent → an empty message; anything but a message → an error. */
export function configRoot(config: ProtoObject | undefined, path: string, issues: Issues): ProtoObject {
  if (config === undefined) return {};
  if (!isObject(config)) {
    issues.error(path, 'must be a message');
    return {};
  }
  return config;
}

/**
 * A core.v3.RuntimeDouble: remora has no runtime layer, so the value is its default_value
 * (runtime_key is accepted and ignored). Absent → undefined.
 */
export function readRuntimeDouble(
  obj: ProtoObject,
  field: string,
  path: string,
  issues: Issues,
): number | undefined {
  const msg = readMessage(obj, field, path, issues);
  if (msg === undefined) return undefined;
  const p = joinPath(path, field);
  const v = msg.default_value;
  if (v === undefined || v === null) return 0; // proto3 default of an unset double
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    issues.error(joinPath(p, 'default_value'), 'must be a finite number');
    return undefined;
  }
  return v;
}
