import { isObject } from './fields.js';
/**
 * ProtoObject → protobuf binary: the inverse of binary-decode.ts, for the control plane (which
 * builds resources as ProtoObjects and sends them as Any) and for tests. Strict like the
 * decoders: a key that is not a field, a value of the wrong type, two members of a oneof or an
 * Any of an unknown type throws an EncodeError naming the field path, because a resource built
 * wrongly in code is a bug to surface, not something to send half-encoded.
 */
import { joinPath } from './issues.js';
import { checkInteger, describe } from './json-scalars.js';
import { ANY_TYPE_KEY, type ProtoObject, type ProtoValue } from './proto-object.js';
import {
  resolvedEnum,
  resolvedMessage,
  type ValueFieldNames,
  valueFieldNames,
  wellKnownKind,
  wrapperScalar,
} from './proto-reflect.js';
import { type FieldInfo, fullNameOf, type MessageType, type Schema, schema } from './schema.js';

export class EncodeError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path === '' ? '(root)' : path}: ${reason}`);
    this.name = 'EncodeError';
  }
}

export interface BinaryEncodeOptions {
  readonly schema?: Schema;
}

/** Encodes `value` as the message `type`. Throws EncodeError on anything that does not fit the schema. */
export function encodeMessage(
  type: MessageType | string,
  value: ProtoObject,
  options: BinaryEncodeOptions = {},
): Buffer {
  const s = options.schema ?? schema();
  const t = typeof type === 'string' ? s.lookupType(type) : type;
  return new Encoder(s).encode(t, value, '');
}

/** Packs a ProtoObject carrying '@type' into google.protobuf.Any's two fields. */
export function encodeAny(
  value: ProtoObject,
  options: BinaryEncodeOptions = {},
): { type_url: string; value: Buffer } {
  const a = new Encoder(options.schema ?? schema()).any(value, '');
  return { type_url: a.type_url, value: Buffer.from(a.value) };
}

type Msg = Record<string, unknown>;

class Encoder {
  private readonly json: StructWriter;

  constructor(private readonly schema: Schema) {
    this.json = new StructWriter(valueFieldNames(schema.lookupType('google.protobuf.Value')));
  }

  encode(type: MessageType, value: ProtoValue, path: string): Buffer {
    const obj = this.toMessage(type, value, path);
    const bytes = type.encode(type.fromObject(obj)).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** ProtoObject form of `type` → the message-shaped object protobufjs's fromObject expects. */
  private toMessage(type: MessageType, value: ProtoValue, path: string): Msg {
    switch (wellKnownKind(type)) {
      case 'duration':
        return durationMessage(number(value, path, 'a duration in milliseconds'));
      case 'timestamp':
        return timestampMessage(number(value, path, 'a timestamp in milliseconds'));
      case 'wrapper':
        return { value: this.scalar(wrapperScalar(type), null, value, path) };
      case 'struct':
        if (!isObject(value))
          throw new EncodeError(path, `expected an object (Struct), got ${describe(value)}`);
        return this.json.struct(value, path);
      case 'list':
        if (!Array.isArray(value))
          throw new EncodeError(path, `expected a list (ListValue), got ${describe(value)}`);
        return this.json.list(value, path);
      case 'value':
        return this.json.value(value, path);
      case 'any':
        return this.any(value, path);
      default:
        return this.fields(type, value, path);
    }
  }

  private fields(type: MessageType, value: ProtoValue, path: string): Msg {
    if (!isObject(value))
      throw new EncodeError(path, `expected an object (${fullNameOf(type)}), got ${describe(value)}`);
    const out: Msg = {};
    for (const key of Object.keys(value)) {
      const v = value[key];
      if (v === undefined) continue;
      const field = type.fields[key];
      const fpath = joinPath(path, key);
      if (field === undefined) throw new EncodeError(fpath, `${fullNameOf(type)} has no field '${key}'`);
      if (field.map) {
        if (!isObject(v)) throw new EncodeError(fpath, `expected an object (a map), got ${describe(v)}`);
        const m: Msg = {};
        for (const k of Object.keys(v))
          m[k] = this.element(field, v[k] as ProtoValue, `${fpath}[${JSON.stringify(k)}]`);
        out[key] = m;
      } else if (field.repeated) {
        if (!Array.isArray(v)) throw new EncodeError(fpath, `expected a list, got ${describe(v)}`);
        out[key] = v.map((e, i) => this.element(field, e, joinPath(fpath, i)));
      } else {
        out[key] = this.element(field, v, fpath);
      }
    }
    for (const oneof of type.oneofsArray) {
      const set = oneof.fieldsArray.filter((f) => value[f.name] !== undefined);
      if (set.length > 1)
        throw new EncodeError(path, `only one of ${set.map((f) => f.name).join(', ')} may be set`);
    }
    return out;
  }

  private element(field: FieldInfo, v: ProtoValue, path: string): unknown {
    const msg = resolvedMessage(field);
    if (msg !== null) return this.toMessage(msg, v, path);
    return this.scalar(field.type, field, v, path);
  }

  private scalar(type: string, field: FieldInfo | null, v: ProtoValue, path: string): unknown {
    const en = field === null ? null : resolvedEnum(field);
    if (en !== null) {
      if (typeof v === 'string' && Object.hasOwn(en.values, v)) return en.values[v];
      if (typeof v === 'number' && en.valuesById[v] !== undefined) return v;
      throw new EncodeError(path, `${describe(v)} is not a value of enum ${fullNameOf(en)}`);
    }
    switch (type) {
      case 'string':
        if (typeof v !== 'string') throw new EncodeError(path, `expected a string, got ${describe(v)}`);
        return v;
      case 'bool':
        if (typeof v !== 'boolean') throw new EncodeError(path, `expected a boolean, got ${describe(v)}`);
        return v;
      case 'bytes':
        if (!Buffer.isBuffer(v)) throw new EncodeError(path, `expected a Buffer, got ${describe(v)}`);
        return v;
      case 'double':
      case 'float':
        if (typeof v !== 'number') throw new EncodeError(path, `expected a number, got ${describe(v)}`);
        return v;
      default: {
        if (typeof v !== 'number' || !Number.isInteger(v))
          throw new EncodeError(path, `expected an integer (${type}), got ${describe(v)}`);
        const r = checkInteger(type, v);
        if (!r.ok) throw new EncodeError(path, r.reason);
        return v;
      }
    }
  }

  any(value: ProtoValue, path: string): { type_url: string; value: Uint8Array } {
    if (!isObject(value))
      throw new EncodeError(path, `expected an object with '@type' (Any), got ${describe(value)}`);
    const url = value[ANY_TYPE_KEY];
    if (typeof url !== 'string' || url === '')
      throw new EncodeError(joinPath(path, ANY_TYPE_KEY), `missing '@type'`);
    const type = this.schema.typeForUrl(url);
    if (type === null) throw new EncodeError(joinPath(path, ANY_TYPE_KEY), `unknown type URL '${url}'`);
    if (wellKnownKind(type) !== null) {
      return { type_url: url, value: this.encode(type, value.value ?? null, joinPath(path, 'value')) };
    }
    const { [ANY_TYPE_KEY]: _url, ...fields } = value;
    return { type_url: url, value: this.encode(type, fields, path) };
  }
}

function number(v: ProtoValue, path: string, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new EncodeError(path, `expected ${what}, got ${describe(v)}`);
  return v;
}

/** Milliseconds (fractional allowed) → { seconds, nanos } with both carrying the sign. */
function durationMessage(ms: number): Msg {
  const seconds = Math.trunc(ms / 1000);
  let nanos = Math.round((ms - seconds * 1000) * 1e6);
  let s = seconds;
  if (nanos >= 1e9) {
    s += 1;
    nanos -= 1e9;
  } else if (nanos <= -1e9) {
    s -= 1;
    nanos += 1e9;
  }
  return { seconds: s, nanos };
}

/** Milliseconds since the epoch → { seconds, nanos } with nanos never negative (Timestamp's rule). */
function timestampMessage(ms: number): Msg {
  let seconds = Math.floor(ms / 1000);
  let nanos = Math.round((ms - seconds * 1000) * 1e6);
  if (nanos >= 1e9) {
    seconds += 1;
    nanos -= 1e9;
  }
  return { seconds, nanos };
}

/** Plain JSON values → google.protobuf.Struct / Value / ListValue messages. */
class StructWriter {
  constructor(private readonly names: ValueFieldNames) {}

  struct(value: ProtoObject, path: string): Msg {
    const fields: Msg = {};
    for (const k of Object.keys(value)) {
      const v = value[k];
      if (v !== undefined) fields[k] = this.value(v, `${path}[${JSON.stringify(k)}]`);
    }
    return { fields };
  }

  list(value: ProtoValue[], path: string): Msg {
    return { values: value.map((e, i) => this.value(e, joinPath(path, i))) };
  }

  value(v: ProtoValue, path: string): Msg {
    const n = this.names;
    if (v === null) return { [n.null]: 0 };
    if (typeof v === 'number') return { [n.number]: v };
    if (typeof v === 'string') return { [n.string]: v };
    if (typeof v === 'boolean') return { [n.bool]: v };
    if (Array.isArray(v)) return { [n.list]: this.list(v, path) };
    if (Buffer.isBuffer(v)) throw new EncodeError(path, 'bytes cannot be held in a google.protobuf.Value');
    return { [n.struct]: this.struct(v, path) };
  }
}
