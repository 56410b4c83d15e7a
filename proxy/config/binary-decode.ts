import { isObject } from './fields.js';
/**
 * Protobuf binary → ProtoObject, for resources as xDS delivers them (an Any's value bytes) and
 * anything else that arrives on the wire. The result has exactly the shape the JSON decoder
 * produces (proxy/config/proto-object.ts), so translators do not care where config came from:
 * Any unpacked recursively, Duration/Timestamp as milliseconds, enums by name, int64 as numbers,
 * wrappers unwrapped, Struct as plain JSON. proto3 scalars at their default are left out.
 *
 * Fields the schema does not have are skipped, as protobuf requires (a newer management server
 * may send fields remora has not heard of). Malformed bytes, Any payloads of unknown types, enum
 * numbers remora does not know and int64 values past 2^53 are reported into Issues.
 */
import { type Issues, joinPath } from './issues.js';
import { decodeJsonMessage, OPTIONAL_EXTENSION_MESSAGES } from './json-decode.js';
import { checkInteger, durationMs, timestampInRange } from './json-scalars.js';
import { ANY_TYPE_KEY, type ProtoObject, type ProtoValue } from './proto-object.js';
import {
  enumName,
  hasPresence,
  isDefaultScalar,
  isTypedStruct,
  resolvedEnum,
  resolvedMessage,
  type ValueFieldNames,
  valueFieldNames,
  wellKnownKind,
} from './proto-reflect.js';
import { type FieldInfo, fullNameOf, type MessageType, type Schema, schema } from './schema.js';

export interface BinaryDecodeOptions {
  readonly schema?: Schema;
}

/** A decoded protobufjs message: field name → value, own properties only for fields that were on the wire. */
type Msg = Record<string, unknown>;

/**
 * Decodes `bytes` as `type`. Returns null (with an error at `path`) when the bytes are not a valid
 * encoding; otherwise the object, possibly partial when nested values were rejected.
 */
export function decodeBinaryMessage(
  type: MessageType | string,
  bytes: Uint8Array,
  issues: Issues,
  path = '',
  options: BinaryDecodeOptions = {},
): ProtoObject | null {
  const s = options.schema ?? schema();
  const t = typeof type === 'string' ? s.lookupType(type) : type;
  const d = new BinaryDecoder(s, issues);
  const msg = d.parse(t, bytes, path);
  if (msg === undefined) return null;
  const out = d.fromMessage(t, msg, path);
  if (out === undefined) return null;
  return isObject(out) ? out : { value: out };
}

/**
 * Decodes a google.protobuf.Any (type URL plus bytes) into `{ '@type': url, ...fields }`, the form
 * every translator receives; null with an error when the type is unknown or the bytes are bad.
 */
export function decodeBinaryAny(
  typeUrl: string,
  value: Uint8Array,
  issues: Issues,
  path = '',
  options: BinaryDecodeOptions = {},
): ProtoObject | null {
  const d = new BinaryDecoder(options.schema ?? schema(), issues);
  return d.any(typeUrl, toBuffer(value), path) ?? null;
}

class BinaryDecoder {
  private readonly json: StructReader;

  constructor(
    private readonly schema: Schema,
    private readonly issues: Issues,
  ) {
    this.json = new StructReader(valueFieldNames(schema.lookupType('google.protobuf.Value')));
  }

  private error(path: string, message: string): undefined {
    this.issues.error(path, message);
    return undefined;
  }

  parse(type: MessageType, bytes: Uint8Array, path: string): Msg | undefined {
    try {
      return type.decode(bytes) as unknown as Msg;
    } catch (err) {
      return this.error(
        path,
        `cannot decode ${fullNameOf(type)}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  /** A decoded protobufjs message of `type` → its ProtoObject form (well-known types included). */
  fromMessage(type: MessageType, msg: Msg, path: string): ProtoValue | undefined {
    switch (wellKnownKind(type)) {
      case 'duration': {
        const r = durationMs(BigInt(longString(msg.seconds)), Number(msg.nanos ?? 0));
        return r.ok ? r.value : this.error(path, r.reason);
      }
      case 'timestamp': {
        const ms = Number(longString(msg.seconds)) * 1000 + Number(msg.nanos ?? 0) / 1e6;
        return timestampInRange(ms) ? ms : this.error(path, 'timestamp is outside years 1 to 9999');
      }
      case 'wrapper': {
        const inner = type.fields.value;
        return this.scalar(inner, Object.hasOwn(msg, 'value') ? msg.value : inner.typeDefault, path);
      }
      case 'struct':
        return this.json.struct(msg);
      case 'value':
        return this.json.value(msg);
      case 'list':
        return this.json.list(msg);
      case 'any':
        return this.any(String(msg.type_url ?? ''), toBuffer(msg.value), path);
      default:
        return this.fields(type, msg, path);
    }
  }

  private fields(type: MessageType, msg: Msg, path: string): ProtoObject {
    const out: ProtoObject = {};
    // As in the JSON decoder: an optional extension's typed_config of an unknown type keeps only
    // its type URL, and the translator skips the extension with a warning.
    const optional = msg.is_optional === true && OPTIONAL_EXTENSION_MESSAGES.has(fullNameOf(type));
    for (const field of type.fieldsArray) {
      if (!Object.hasOwn(msg, field.name)) continue;
      const key = field.name;
      const raw = msg[key];
      if (raw === null || raw === undefined) continue;
      const fpath = joinPath(path, field.name);
      if (optional && key === 'typed_config') {
        const url = String((raw as Msg).type_url ?? '');
        if (url !== '' && this.schema.typeForUrl(url) === null) {
          out[key] = { [ANY_TYPE_KEY]: url };
          continue;
        }
      }
      if (field.map) {
        const entries = Object.entries(raw as Msg);
        if (entries.length === 0) continue;
        const m: ProtoObject = {};
        for (const [k, v] of entries) {
          const e = this.element(field, v, `${fpath}[${JSON.stringify(k)}]`);
          if (e !== undefined) m[k] = e;
        }
        out[field.name] = m;
      } else if (field.repeated) {
        const list = raw as unknown[];
        if (list.length === 0) continue;
        const a: ProtoValue[] = [];
        for (let i = 0; i < list.length; i++) {
          const e = this.element(field, list[i], joinPath(fpath, i));
          if (e !== undefined) a.push(e);
        }
        out[field.name] = a;
      } else {
        const v = this.element(field, raw, fpath);
        if (v === undefined) continue;
        if (!hasPresence(field) && isDefaultScalar(field, v)) continue;
        out[field.name] = v;
      }
    }
    return out;
  }

  private element(field: FieldInfo, raw: unknown, path: string): ProtoValue | undefined {
    const msg = resolvedMessage(field);
    if (msg !== null) return this.fromMessage(msg, raw as Msg, path);
    return this.scalar(field, raw, path);
  }

  private scalar(field: FieldInfo, raw: unknown, path: string): ProtoValue | undefined {
    const en = resolvedEnum(field);
    if (en !== null) {
      const name = enumName(en, Number(raw));
      return (
        name ?? this.error(path, `${String(raw)} is not a value of enum ${fullNameOf(en)} known to remora`)
      );
    }
    switch (field.type) {
      case 'string':
      case 'bool':
        return raw as string | boolean;
      case 'double':
      case 'float':
        return Number(raw);
      case 'bytes':
        return toBuffer(raw);
      default: {
        const r = checkInteger(field.type, typeof raw === 'number' ? raw : BigInt(longString(raw)));
        return r.ok ? r.value : this.error(path, r.reason);
      }
    }
  }

  any(typeUrl: string, bytes: Buffer, path: string): ProtoObject | undefined {
    const tpath = joinPath(path, ANY_TYPE_KEY);
    if (typeUrl === '') return this.error(tpath, 'Any without a type URL');
    const type = this.schema.typeForUrl(typeUrl);
    if (type === null)
      return this.error(tpath, `unknown type URL '${typeUrl}' (remora does not support this type)`);
    const msg = this.parse(type, bytes, path);
    if (msg === undefined) return undefined;
    if (isTypedStruct(type)) {
      // The payload is JSON in a Struct: decode it by the JSON rules, as Envoy does.
      const innerUrl = String(msg.type_url ?? '');
      const json = Object.hasOwn(msg, 'value') ? this.json.struct(msg.value as Msg) : {};
      const inner = decodeJsonMessage(
        'google.protobuf.Any',
        { [ANY_TYPE_KEY]: innerUrl, ...json },
        this.issues,
        path,
        { schema: this.schema },
      );
      return inner ?? undefined;
    }
    const v = this.fromMessage(type, msg, path);
    if (v === undefined) return undefined;
    if (wellKnownKind(type) !== null) return { [ANY_TYPE_KEY]: typeUrl, value: v };
    return { [ANY_TYPE_KEY]: typeUrl, ...(v as ProtoObject) };
  }
}

/** int64 fields come back from protobufjs as Long (whose toString is decimal) or number: decimal text either way. */
function longString(v: unknown): string {
  if (v === undefined || v === null) return '0';
  return String(v);
}

function toBuffer(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return Buffer.alloc(0);
}

/** google.protobuf.Struct / Value / ListValue messages → plain JSON values. */
class StructReader {
  constructor(private readonly names: ValueFieldNames) {}

  struct(msg: Msg): ProtoObject {
    const out: ProtoObject = {};
    const fields = (msg.fields ?? {}) as Record<string, Msg>;
    for (const k of Object.keys(fields)) out[k] = this.value(fields[k]);
    return out;
  }

  list(msg: Msg): ProtoValue[] {
    const values = (msg.values ?? []) as Msg[];
    return values.map((v) => this.value(v));
  }

  /** Whichever member of Value's `kind` oneof is set; none set reads as null. */
  value(msg: Msg): ProtoValue {
    const n = this.names;
    if (Object.hasOwn(msg, n.number)) return Number(msg[n.number]);
    if (Object.hasOwn(msg, n.string)) return String(msg[n.string]);
    if (Object.hasOwn(msg, n.bool)) return Boolean(msg[n.bool]);
    if (Object.hasOwn(msg, n.struct) && msg[n.struct]) return this.struct(msg[n.struct] as Msg);
    if (Object.hasOwn(msg, n.list) && msg[n.list]) return this.list(msg[n.list] as Msg);
    return null;
  }
}
