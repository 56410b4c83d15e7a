import { readObject, rejectUnknown } from '../config/fields.js';
import type { Issues } from '../config/issues.js';
import type { ProtoObject } from '../config/proto-object.js';

/**
 * The route translators' view of the shared field readers (proxy/config/fields.ts): the same
 * readers, plus the two spellings the router has always used (a null-returning readMessage and
 * the "not supported by remora" wording for unknown fields, which tests and operators know).
 */
export {
  has,
  isObject as isMessage,
  oneofSet,
  readArray as readList,
  readBool,
  readDurationMs,
  readInt,
  readMessages,
  readOneof,
  readString,
  readStrings,
} from '../config/fields.js';

/** Reports every present field not in `allowed` as unsupported. */
export function checkFields(
  obj: ProtoObject,
  allowed: readonly string[],
  path: string,
  issues: Issues,
): void {
  rejectUnknown(obj, allowed, path, issues, 'field is not supported by remora');
}

export function readMessage(obj: ProtoObject, key: string, path: string, issues: Issues): ProtoObject | null {
  return readObject(obj, key, path, issues) ?? null;
}

/** Control characters a value may not hold (Envoy's HTTP_HEADER_VALUE well-known regex, non-strict). */
export function headerValueLike(value: string): boolean {
  return !/[\0\r\n]/.test(value);
}
