/**
 * Strict proto3 JSON → ProtoObject, for the bootstrap (YAML or JSON) and anything else that
 * arrives as JSON. It walks remora's schema (proxy/config/schema.ts) and reports every problem
 * into Issues with its field path instead of stopping at the first:
 *
 * - a field not in remora's protos is an error ("remora does not support it"), or a warning when
 *   allowUnknownFields is set (Envoy's --allow-unknown-static-fields);
 * - both the proto field name (snake_case) and the lowerCamelCase JSON name are accepted;
 * - scalars follow the proto3 JSON mapping (int64 as number or string, bytes as base64, enums by
 *   name or number, Duration "1.5s", Timestamp RFC 3339, wrappers as bare values);
 * - Any needs '@type' naming a type remora knows; udpa/xds TypedStruct is unpacked into the type
 *   it names, as Envoy does.
 *
 * The output follows proxy/config/proto-object.ts; proto3 scalars equal to their default are left
 * out (they are "not set"), so JSON and binary decoding of the same message give equal objects.
 */
import { isObject } from './fields.js';
import { type Issues, joinPath } from './issues.js';
import {
  describe,
  type Parsed,
  parseBytes,
  parseDuration,
  parseFloating,
  parseInteger,
  parseTimestamp,
} from './json-scalars.js';
import { ANY_TYPE_KEY, type ProtoObject, type ProtoValue } from './proto-object.js';
import {
  enumName,
  fieldByKey,
  hasPresence,
  isDefaultScalar,
  isTypedStruct,
  resolvedEnum,
  resolvedMessage,
  wellKnownKind,
  wrapperScalar,
} from './proto-reflect.js';
import { type FieldInfo, fullNameOf, type MessageType, type Schema, schema } from './schema.js';

export interface JsonDecodeOptions {
  /** Report fields remora does not know as warnings instead of errors. */
  readonly allowUnknownFields?: boolean;
  /** The schema to decode against; remora's own by default. */
  readonly schema?: Schema;
}

/** Nesting bound: recursive messages (access log filters) and Struct values could otherwise recurse without end. */
const MAX_DEPTH = 100;

/**
 * Extension wrappers whose `is_optional: true` lets `typed_config` name a type remora does not
 * know (Envoy skips such an extension instead of failing). The decoder keeps only the type URL
 * there; the translator warns and skips the extension.
 */
export const OPTIONAL_EXTENSION_MESSAGES: ReadonlySet<string> = new Set([
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter',
]);

/**
 * Decodes `value` as the message `type` (a full name or a reflected type). Returns the object
 * (possibly partial when there were errors; check `issues`), or null when `value` is not even an
 * object. `path` prefixes every reported field path.
 */
export function decodeJsonMessage(
  type: MessageType | string,
  value: unknown,
  issues: Issues,
  path = '',
  options: JsonDecodeOptions = {},
): ProtoObject | null {
  const s = options.schema ?? schema();
  const t = typeof type === 'string' ? s.lookupType(type) : type;
  const decoder = new JsonDecoder(s, issues, options.allowUnknownFields === true);
  const out = decoder.valueOfType(t, value, path, 0);
  if (out === undefined) return null;
  if (typeof out !== 'object' || out === null || Array.isArray(out) || Buffer.isBuffer(out)) {
    // Only reachable for well-known scalar types decoded at the top level.
    return { value: out };
  }
  return out as ProtoObject;
}

/** A JSON object (the same test as fields.ts's isObject, typed for raw JSON input). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return isObject(v);
}

class JsonDecoder {
  constructor(
    private readonly schema: Schema,
    private readonly issues: Issues,
    private readonly allowUnknown: boolean,
  ) {}

  private error(path: string, message: string): undefined {
    this.issues.error(path, message);
    return undefined;
  }

  private unwrap<T>(r: Parsed<T>, path: string): T | undefined {
    if (r.ok) return r.value;
    return this.error(path, r.reason);
  }

  /** A value of a message type, honouring the well-known types' own JSON forms. */
  valueOfType(type: MessageType, value: unknown, path: string, depth: number): ProtoValue | undefined {
    if (depth > MAX_DEPTH) return this.error(path, `nested more than ${MAX_DEPTH} levels deep`);
    switch (wellKnownKind(type)) {
      case 'duration':
        return this.unwrap(parseDuration(value), path);
      case 'timestamp':
        return this.unwrap(parseTimestamp(value), path);
      case 'wrapper':
        if (isPlainObject(value)) {
          return this.error(
            path,
            `expected a bare ${wrapperScalar(type)} (wrapper types are written without 'value:'), got an object`,
          );
        }
        return this.scalar(wrapperScalar(type), value, path);
      case 'struct':
        if (!isPlainObject(value))
          return this.error(path, `expected an object (google.protobuf.Struct), got ${describe(value)}`);
        return this.jsonValue(value, path, depth);
      case 'list':
        if (!Array.isArray(value))
          return this.error(path, `expected a list (google.protobuf.ListValue), got ${describe(value)}`);
        return this.jsonValue(value, path, depth);
      case 'value':
        return this.jsonValue(value, path, depth);
      case 'any':
        return this.any(value, path, depth);
      default:
        return this.message(type, value, path, depth);
    }
  }

  private message(
    type: MessageType,
    value: unknown,
    path: string,
    depth: number,
    skipKey?: string,
  ): ProtoObject | undefined {
    if (!isPlainObject(value)) {
      return this.error(path, `expected an object (${fullNameOf(type)}), got ${describe(value)}`);
    }
    const out: ProtoObject = {};
    const seenAs = new Map<string, string>();
    const optional = value.is_optional === true && OPTIONAL_EXTENSION_MESSAGES.has(fullNameOf(type));
    for (const key of Object.keys(value)) {
      if (key === skipKey) continue;
      const field = fieldByKey(type, key);
      if (field === undefined) {
        const msg = `unknown field '${key}' in ${fullNameOf(type)} (remora does not support it)`;
        if (this.allowUnknown) this.issues.warn(joinPath(path, key), msg);
        else this.issues.error(joinPath(path, key), msg);
        continue;
      }
      const fpath = joinPath(path, field.name);
      const earlier = seenAs.get(field.name);
      if (earlier !== undefined) {
        this.error(fpath, `set twice, as '${earlier}' and as '${key}'`);
        continue;
      }
      seenAs.set(field.name, key);
      const raw = value[key];
      // proto3 JSON: null means "not set", except for google.protobuf.Value where it is a value.
      const fieldMsg = resolvedMessage(field);
      if (
        raw === null &&
        !(fieldMsg !== null && wellKnownKind(fieldMsg) === 'value' && !field.repeated && !field.map)
      ) {
        continue;
      }
      const decoded =
        optional && field.name === 'typed_config'
          ? this.optionalAny(field, raw, fpath, depth)
          : this.field(field, raw, fpath, depth);
      if (decoded === undefined) continue;
      if (!hasPresence(field) && !field.repeated && !field.map && isDefaultScalar(field, decoded)) continue;
      if (Array.isArray(decoded) && decoded.length === 0) continue;
      if (field.map && Object.keys(decoded as ProtoObject).length === 0) continue;
      out[field.name] = decoded;
    }
    this.checkOneofs(type, out, path);
    return out;
  }

  /** typed_config of an optional extension: an unknown type is kept as `{ '@type': url }`. */
  private optionalAny(field: FieldInfo, raw: unknown, path: string, depth: number): ProtoValue | undefined {
    if (isPlainObject(raw)) {
      const url = raw[ANY_TYPE_KEY];
      if (typeof url === 'string' && url !== '' && this.schema.typeForUrl(url) === null)
        return { [ANY_TYPE_KEY]: url };
    }
    return this.field(field, raw, path, depth);
  }

  private checkOneofs(type: MessageType, out: ProtoObject, path: string): void {
    for (const oneof of type.oneofsArray) {
      const set = oneof.fieldsArray.filter((f) => out[f.name] !== undefined).map((f) => f.name);
      if (set.length > 1) {
        this.error(
          path,
          `only one of ${set.map((n) => `'${n}'`).join(', ')} may be set (they are alternatives of '${oneof.name}')`,
        );
      }
    }
  }

  private field(field: FieldInfo, raw: unknown, path: string, depth: number): ProtoValue | undefined {
    if (field.map) {
      if (!isPlainObject(raw)) return this.error(path, `expected an object (a map), got ${describe(raw)}`);
      const out: ProtoObject = {};
      const keyType = (field as FieldInfo & { keyType: string }).keyType;
      for (const k of Object.keys(raw)) {
        const kpath = `${path}[${JSON.stringify(k)}]`;
        const key = this.mapKey(keyType, k, kpath);
        if (key === undefined) continue;
        if (raw[k] === null) {
          this.error(kpath, 'map values must not be null');
          continue;
        }
        const v = this.single(field, raw[k], kpath, depth + 1);
        if (v !== undefined) out[key] = v;
      }
      return out;
    }
    if (field.repeated) {
      if (!Array.isArray(raw)) return this.error(path, `expected a list, got ${describe(raw)}`);
      const out: ProtoValue[] = [];
      for (let i = 0; i < raw.length; i++) {
        const ipath = joinPath(path, i);
        if (raw[i] === null) {
          this.error(ipath, 'list elements must not be null');
          continue;
        }
        const v = this.single(field, raw[i], ipath, depth + 1);
        if (v !== undefined) out.push(v);
      }
      return out;
    }
    return this.single(field, raw, path, depth + 1);
  }

  private mapKey(keyType: string, k: string, path: string): string | undefined {
    if (keyType === 'string') return k;
    if (keyType === 'bool') {
      if (k === 'true' || k === 'false') return k;
      return this.error(path, `map key must be "true" or "false", got ${JSON.stringify(k)}`);
    }
    const n = this.unwrap(parseInteger(keyType, k), path);
    return n === undefined ? undefined : String(n);
  }

  /** One value of a field's element type (the field itself, a list element or a map value). */
  private single(field: FieldInfo, raw: unknown, path: string, depth: number): ProtoValue | undefined {
    const msg = resolvedMessage(field);
    if (msg !== null) return this.valueOfType(msg, raw, path, depth);
    const en = resolvedEnum(field);
    if (en !== null) {
      if (typeof raw === 'string') {
        if (Object.hasOwn(en.values, raw)) return raw;
        return this.error(
          path,
          `unknown value ${JSON.stringify(raw)} for enum ${fullNameOf(en)} (expected one of ${Object.keys(en.values).join(', ')})`,
        );
      }
      if (typeof raw === 'number' && Number.isInteger(raw)) {
        const name = enumName(en, raw);
        if (name !== undefined) return name;
        return this.error(path, `${raw} is not a value of enum ${fullNameOf(en)}`);
      }
      return this.error(path, `expected an enum name (${fullNameOf(en)}), got ${describe(raw)}`);
    }
    return this.scalar(field.type, raw, path);
  }

  private scalar(type: string, raw: unknown, path: string): ProtoValue | undefined {
    switch (type) {
      case 'string':
        if (typeof raw === 'string') return raw;
        return this.error(path, `expected a string, got ${describe(raw)}`);
      case 'bool':
        if (typeof raw === 'boolean') return raw;
        return this.error(path, `expected true or false, got ${describe(raw)}`);
      case 'bytes':
        return this.unwrap(parseBytes(raw), path);
      case 'double':
      case 'float':
        return this.unwrap(parseFloating(type, raw), path);
      default:
        return this.unwrap(parseInteger(type, raw), path);
    }
  }

  /** Struct / Value / ListValue: any JSON value, checked to be one (YAML can produce other things). */
  private jsonValue(value: unknown, path: string, depth: number): ProtoValue | undefined {
    if (depth > MAX_DEPTH) return this.error(path, `nested more than ${MAX_DEPTH} levels deep`);
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
    if (typeof value === 'number') {
      if (Number.isFinite(value)) return value;
      return this.error(path, `${value} cannot be represented in google.protobuf.Value`);
    }
    if (Array.isArray(value)) {
      const out: ProtoValue[] = [];
      for (let i = 0; i < value.length; i++) {
        const v = this.jsonValue(value[i], joinPath(path, i), depth + 1);
        if (v !== undefined) out.push(v);
      }
      return out;
    }
    if (isPlainObject(value) && Object.getPrototypeOf(value) === Object.prototype) {
      const out: ProtoObject = {};
      for (const k of Object.keys(value)) {
        const v = this.jsonValue(value[k], `${path}[${JSON.stringify(k)}]`, depth + 1);
        if (v !== undefined) out[k] = v;
      }
      return out;
    }
    return this.error(path, `${describe(value)} is not a JSON value`);
  }

  private any(value: unknown, path: string, depth: number): ProtoObject | undefined {
    if (!isPlainObject(value))
      return this.error(
        path,
        `expected an object with '@type' (google.protobuf.Any), got ${describe(value)}`,
      );
    const url = value[ANY_TYPE_KEY];
    const tpath = joinPath(path, ANY_TYPE_KEY);
    if (typeof url !== 'string' || url === '')
      return this.error(tpath, `missing '@type' (every typed_config names its type)`);
    const type = this.schema.typeForUrl(url);
    if (type === null)
      return this.error(tpath, `unknown type URL '${url}' (remora does not support this type)`);
    if (isTypedStruct(type)) return this.typedStruct(type, value, path, depth);
    const kind = wellKnownKind(type);
    if (kind !== null) {
      // proto3 JSON: a well-known type with its own JSON form sits under "value".
      for (const k of Object.keys(value)) {
        if (k !== ANY_TYPE_KEY && k !== 'value')
          this.error(joinPath(path, k), `unknown field '${k}' in an Any holding ${fullNameOf(type)}`);
      }
      const inner = this.valueOfType(type, value.value, joinPath(path, 'value'), depth + 1);
      return inner === undefined ? undefined : { [ANY_TYPE_KEY]: url, value: inner };
    }
    const fields = this.message(type, value, path, depth + 1, ANY_TYPE_KEY);
    return fields === undefined ? undefined : { [ANY_TYPE_KEY]: url, ...fields };
  }

  /** `{ '@type': '.../TypedStruct', type_url, value }` → the message type_url names, decoded from value. */
  private typedStruct(
    type: MessageType,
    value: Record<string, unknown>,
    path: string,
    depth: number,
  ): ProtoObject | undefined {
    const ts = this.message(type, value, path, depth + 1, ANY_TYPE_KEY);
    if (ts === undefined) return undefined;
    const innerUrl = ts.type_url;
    const upath = joinPath(path, 'type_url');
    if (typeof innerUrl !== 'string' || innerUrl === '')
      return this.error(upath, `${fullNameOf(type)} needs a type_url`);
    const inner = this.schema.typeForUrl(innerUrl);
    if (inner === null)
      return this.error(upath, `unknown type URL '${innerUrl}' (remora does not support this type)`);
    if (wellKnownKind(inner) !== null || isTypedStruct(inner)) {
      return this.error(upath, `a TypedStruct cannot carry ${fullNameOf(inner)}`);
    }
    // ts.value is already checked to be a JSON object (an error was reported otherwise).
    const fields = this.message(inner, ts.value ?? {}, joinPath(path, 'value'), depth + 1);
    return fields === undefined ? undefined : { [ANY_TYPE_KEY]: innerUrl, ...fields };
  }
}
