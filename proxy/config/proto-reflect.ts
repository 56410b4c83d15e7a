/**
 * Reflection helpers shared by the JSON and binary decoders and the encoder: the well-known types
 * that have their own ProtoObject form, field lookup by proto name or lowerCamelCase JSON name,
 * and proto3's notion of a field being "set".
 */
import protobuf from 'protobufjs';
import type { FieldInfo, MessageType } from './schema.js';

export type WellKnownKind = 'duration' | 'timestamp' | 'any' | 'struct' | 'value' | 'list' | 'wrapper' | null;

/** Wrapper message → the scalar type of its single `value` field. */
const WRAPPERS: Readonly<Record<string, string>> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};

const KINDS: Readonly<Record<string, WellKnownKind>> = {
  '.google.protobuf.Duration': 'duration',
  '.google.protobuf.Timestamp': 'timestamp',
  '.google.protobuf.Any': 'any',
  '.google.protobuf.Struct': 'struct',
  '.google.protobuf.Value': 'value',
  '.google.protobuf.ListValue': 'list',
};

const TYPED_STRUCTS: ReadonlySet<string> = new Set(['.udpa.type.v1.TypedStruct', '.xds.type.v3.TypedStruct']);

interface TypeTraits {
  readonly kind: WellKnownKind;
  readonly wrapperScalar: string;
  readonly typedStruct: boolean;
}

/**
 * protobufjs computes `fullName` by walking up the namespace tree on every access, which showed
 * up as the top cost of decoding thousands of xDS resources; the traits are worked out once per type.
 */
const traits = new WeakMap<MessageType, TypeTraits>();

function traitsOf(type: MessageType): TypeTraits {
  let t = traits.get(type);
  if (t === undefined) {
    const name = type.fullName;
    t = {
      kind: name in WRAPPERS ? 'wrapper' : (KINDS[name] ?? null),
      wrapperScalar: WRAPPERS[name] ?? '',
      typedStruct: TYPED_STRUCTS.has(name),
    };
    traits.set(type, t);
  }
  return t;
}

export function wellKnownKind(type: MessageType): WellKnownKind {
  return traitsOf(type).kind;
}

/** The scalar type inside a wrapper message (`uint32` for UInt32Value). */
export function wrapperScalar(type: MessageType): string {
  return traitsOf(type).wrapperScalar;
}

/** The two message names Envoy accepts in place of an extension's own config (JSON inside an Any). */
export function isTypedStruct(type: MessageType): boolean {
  return traitsOf(type).typedStruct;
}

/** proto3's JSON name of a field: `per_connection_buffer_limit_bytes` → `perConnectionBufferLimitBytes`. */
export function lowerCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

const byKey = new WeakMap<MessageType, Map<string, FieldInfo>>();

/** Field of `type` by proto name or JSON name (both are accepted in config, as Envoy does). */
export function fieldByKey(type: MessageType, key: string): FieldInfo | undefined {
  let map = byKey.get(type);
  if (map === undefined) {
    map = new Map();
    for (const f of type.fieldsArray) {
      map.set(f.name, f);
      const camel = lowerCamel(f.name);
      if (!map.has(camel)) map.set(camel, f);
    }
    byKey.set(type, map);
  }
  return map.get(key);
}

export function resolvedMessage(field: FieldInfo): MessageType | null {
  return field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
}

export function resolvedEnum(field: FieldInfo): protobuf.Enum | null {
  return field.resolvedType instanceof protobuf.Enum ? field.resolvedType : null;
}

/**
 * Whether a singular field has explicit presence: message fields and oneof members do; plain
 * proto3 scalars do not, so their default value means "not set" and is left out of a ProtoObject.
 * That makes a value decoded from JSON equal to the same value after a trip through binary.
 */
export function hasPresence(field: FieldInfo): boolean {
  return field.partOf !== null || resolvedMessage(field) !== null;
}

/** The proto3 default of a scalar or enum field, in ProtoObject form. */
export function isDefaultScalar(field: FieldInfo, value: unknown): boolean {
  const en = resolvedEnum(field);
  if (en !== null) return value === enumName(en, 0);
  switch (typeof value) {
    case 'number':
      return value === 0 && !Object.is(value, -0);
    case 'string':
      return value === '';
    case 'boolean':
      return value === false;
    default:
      return Buffer.isBuffer(value) && value.length === 0;
  }
}

/** The name of an enum value; the first name when aliases share a number. */
export function enumName(en: protobuf.Enum, n: number): string | undefined {
  return en.valuesById[n];
}

/** The member names of google.protobuf.Value's `kind` oneof as this schema spells them. */
export interface ValueFieldNames {
  readonly null: string;
  readonly number: string;
  readonly string: string;
  readonly bool: string;
  readonly struct: string;
  readonly list: string;
}

/**
 * protobufjs bundles the well-known types with camelCase field names (numberValue) while a
 * struct.proto parsed with keepCase has number_value; asking the loaded type keeps both working.
 */
export function valueFieldNames(valueType: MessageType): ValueFieldNames {
  let names = valueNames.get(valueType);
  if (names === undefined) {
    const pick = (proto: string): string =>
      valueType.fields[proto] !== undefined ? proto : lowerCamel(proto);
    names = {
      null: pick('null_value'),
      number: pick('number_value'),
      string: pick('string_value'),
      bool: pick('bool_value'),
      struct: pick('struct_value'),
      list: pick('list_value'),
    };
    valueNames.set(valueType, names);
  }
  return names;
}

const valueNames = new WeakMap<MessageType, ValueFieldNames>();
