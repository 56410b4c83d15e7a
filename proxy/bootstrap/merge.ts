/**
 * Merging --config-yaml over the --config-path bootstrap, as Envoy does with protobuf's MergeFrom:
 *
 * - a scalar or enum set in the override replaces the base's;
 * - a message merges field by field, recursively;
 * - a repeated field is appended to (so --config-yaml can add a listener or a cluster);
 * - a map merges by key, the override's entry replacing the base's;
 * - setting one member of a oneof clears the base's other members;
 * - google.protobuf.Struct merges its top-level keys (it is a map underneath).
 *
 * Where plain MergeFrom would surprise, remora does what the override says: an Any, a Duration or a
 * wrapper value in the override replaces the base's whole (MergeFrom would ignore `0s` or `false`
 * inside them, because zero-valued fields of a message are "not set").
 *
 * Both sides are already-decoded ProtoObjects (proxy/config/proto-object.ts) of the same type.
 */
import { isObject } from '../config/fields.js';
import type { ProtoObject, ProtoValue } from '../config/proto-object.js';
import { resolvedMessage, wellKnownKind } from '../config/proto-reflect.js';
import type { MessageType } from '../config/schema.js';

export function mergeProto(type: MessageType, base: ProtoObject, over: ProtoObject): ProtoObject {
  const out: ProtoObject = { ...base };
  for (const key of Object.keys(over)) {
    const v = over[key];
    if (v === undefined) continue;
    const field = type.fields[key];
    if (field === undefined) {
      // Not a field of this type (cannot happen for decoder output); keep the override's value.
      out[key] = v;
      continue;
    }
    if (field.partOf !== null) {
      for (const sibling of field.partOf.fieldsArray) if (sibling.name !== key) delete out[sibling.name];
    }
    const prev = out[key];
    if (field.map) {
      out[key] = { ...(isObject(prev) ? prev : {}), ...(v as ProtoObject) };
    } else if (field.repeated) {
      out[key] = [...(Array.isArray(prev) ? prev : []), ...(v as ProtoValue[])];
    } else {
      const msg = resolvedMessage(field);
      out[key] = msg !== null && isObject(prev) && isObject(v) ? mergeMessageValue(msg, prev, v) : v;
    }
  }
  return out;
}

function mergeMessageValue(type: MessageType, prev: ProtoObject, v: ProtoObject): ProtoValue {
  switch (wellKnownKind(type)) {
    case null:
      return mergeProto(type, prev, v);
    case 'struct':
      return { ...prev, ...v };
    default:
      return v;
  }
}
