/**
 * The shape every translator receives: a protobuf message decoded into a plain object, whether it
 * came from a bootstrap file (proto3 JSON mapping) or from an xDS response (binary). The decoder in
 * proxy/config/ normalises both into the same form, so translators are written once:
 *
 * - keys are the .proto field names (snake_case, as in Envoy's API); fields not set are absent
 * - enums are their value names as strings (`"STRICT_DNS"`)
 * - int64/uint64 are numbers (values beyond 2^53 are rejected by the decoder)
 * - bytes are Buffers
 * - google.protobuf.Duration is a number of milliseconds (fractional allowed)
 * - google.protobuf.Timestamp is a number of milliseconds since the epoch
 * - wrapper types (UInt32Value, BoolValue, ...) are the bare value
 * - google.protobuf.Struct / Value are plain JSON values
 * - google.protobuf.Any is `{ '@type': 'type.googleapis.com/<full.Name>', ...decoded fields }`
 *   when remora knows the type; an unknown type is a decode error at that path
 * - oneof members are ordinary keys (at most one of a oneof is present)
 */
export type ProtoValue = string | number | boolean | Buffer | ProtoObject | ProtoValue[] | null;

export interface ProtoObject {
  [field: string]: ProtoValue | undefined;
}

/** The `@type` key of a decoded Any. */
export const ANY_TYPE_KEY = '@type';

export function typeUrlOf(any: ProtoObject): string {
  const t = any[ANY_TYPE_KEY];
  return typeof t === 'string' ? t : '';
}

/** `type.googleapis.com/envoy.config.cluster.v3.Cluster` → `envoy.config.cluster.v3.Cluster`. */
export function typeNameOf(typeUrl: string): string {
  const slash = typeUrl.lastIndexOf('/');
  return slash < 0 ? typeUrl : typeUrl.slice(slash + 1);
}
