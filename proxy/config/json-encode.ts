/**
 * ProtoObject → proto3 JSON, the inverse of json-decode.ts, for /config_dump: an operator should
 * see `connect_timeout: "0.250s"` exactly as they would write it, not the internal milliseconds.
 * Field names stay snake_case (Envoy's config_dump prints proto field names too).
 */
import { isObject } from './fields.js';
import type { ProtoObject, ProtoValue } from './proto-object.js';
import { ANY_TYPE_KEY } from './proto-object.js';
import { resolvedEnum, resolvedMessage, wellKnownKind } from './proto-reflect.js';
import { type MessageType, typeForUrl } from './schema.js';

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** Encodes `obj`, a decoded `type`. Fields the schema does not know are passed through as plain JSON. */
export function protoObjectToJson(type: MessageType, obj: ProtoObject): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined) continue;
    const field = type.fields[key];
    if (field === undefined) {
      out[key] = plain(value);
      continue;
    }
    const msg = resolvedMessage(field);
    const encodeOne = (v: ProtoValue): Json => (msg !== null ? messageValue(msg, v) : plain(v));
    if (field.map) {
      const m: { [k: string]: Json } = {};
      for (const [k, v] of Object.entries(value as ProtoObject)) if (v !== undefined) m[k] = encodeOne(v);
      out[key] = m;
    } else if (field.repeated && Array.isArray(value)) {
      out[key] = value.map(encodeOne);
    } else {
      out[key] = resolvedEnum(field) !== null ? plain(value) : encodeOne(value);
    }
  }
  return out;
}

function messageValue(type: MessageType, v: ProtoValue): Json {
  switch (wellKnownKind(type)) {
    case 'duration':
      return typeof v === 'number' ? durationString(v) : plain(v);
    case 'timestamp':
      return typeof v === 'number' ? new Date(v).toISOString() : plain(v);
    case 'any': {
      const o = v as ProtoObject;
      const url = typeof o[ANY_TYPE_KEY] === 'string' ? (o[ANY_TYPE_KEY] as string) : '';
      const inner = typeForUrl(url);
      if (inner === null) return plain(v);
      const { [ANY_TYPE_KEY]: _t, ...rest } = o;
      return { [ANY_TYPE_KEY]: url, ...protoObjectToJson(inner, rest) };
    }
    case 'wrapper':
    case 'struct':
    case 'value':
    case 'list':
      return plain(v);
    default:
      return isObject(v) ? protoObjectToJson(type, v) : plain(v);
  }
}

/** 1500 → "1.500s", 5000 → "5s" (proto3 JSON Duration: seconds with 0, 3, 6 or 9 fraction digits). */
export function durationString(ms: number): string {
  const negative = ms < 0;
  const totalNanos = Math.round(Math.abs(ms) * 1e6);
  const seconds = Math.floor(totalNanos / 1e9);
  const nanos = totalNanos % 1e9;
  let frac = '';
  if (nanos !== 0) {
    const digits = String(nanos).padStart(9, '0');
    frac = `.${nanos % 1e6 === 0 ? digits.slice(0, 3) : nanos % 1e3 === 0 ? digits.slice(0, 6) : digits}`;
  }
  return `${negative ? '-' : ''}${seconds}${frac}s`;
}

function plain(v: ProtoValue): Json {
  if (v === null) return null;
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object') {
    const o: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = plain(x);
    return o;
  }
  return v;
}
