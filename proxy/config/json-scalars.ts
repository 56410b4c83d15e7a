/**
 * proto3 JSON scalars: the rules for numbers, int64-as-string, bytes as base64, and the string
 * forms of google.protobuf.Duration and Timestamp. Each parser returns the ProtoObject value or a
 * reason string (the caller attaches the field path); none of them throws.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

/** A short description of a JS value for messages: `string "abc"`, `number 1.5`, `an object`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (Buffer.isBuffer(value)) return 'bytes';
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

interface IntRange {
  readonly min: bigint;
  readonly max: bigint;
}

const INT_RANGES: Readonly<Record<string, IntRange>> = {
  int32: { min: -(2n ** 31n), max: 2n ** 31n - 1n },
  sint32: { min: -(2n ** 31n), max: 2n ** 31n - 1n },
  sfixed32: { min: -(2n ** 31n), max: 2n ** 31n - 1n },
  uint32: { min: 0n, max: 2n ** 32n - 1n },
  fixed32: { min: 0n, max: 2n ** 32n - 1n },
  int64: { min: -(2n ** 63n), max: 2n ** 63n - 1n },
  sint64: { min: -(2n ** 63n), max: 2n ** 63n - 1n },
  sfixed64: { min: -(2n ** 63n), max: 2n ** 63n - 1n },
  uint64: { min: 0n, max: 2n ** 64n - 1n },
  fixed64: { min: 0n, max: 2n ** 64n - 1n },
};

/** The same ranges clipped to what a JS number holds exactly, for the fast path. */
const NUMBER_RANGES: Readonly<Record<string, { readonly min: number; readonly max: number }>> =
  Object.fromEntries(
    Object.entries(INT_RANGES).map(([k, r]) => [
      k,
      {
        min: Math.max(Number(r.min), -Number.MAX_SAFE_INTEGER),
        max: Math.min(Number(r.max), Number.MAX_SAFE_INTEGER),
      },
    ]),
  );

const INT_STRING = /^-?(0|[1-9][0-9]*)$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Checks an integer against its proto type's range, then against what a JS number holds exactly:
 * remora keeps int64 as numbers, so anything past 2^53 is rejected rather than silently rounded.
 */
export function checkInteger(type: string, n: bigint | number): Parsed<number> {
  if (typeof n === 'number') {
    // The common case (every 32-bit value, small 64-bit ones) without BigInt arithmetic.
    const range = NUMBER_RANGES[type];
    if (Number.isSafeInteger(n) && n >= range.min && n <= range.max) return ok(n);
    if (!Number.isSafeInteger(n) && Number.isInteger(n)) return checkInteger(type, BigInt(n));
    if (!Number.isInteger(n)) return fail(`expected an integer (${type}), got ${describe(n)}`);
  }
  const big = BigInt(n);
  const range = INT_RANGES[type];
  if (big < range.min || big > range.max) return fail(`${n} is out of range for ${type}`);
  if (big > MAX_SAFE || big < -MAX_SAFE) return fail(`${n} is beyond 2^53, which remora cannot hold exactly`);
  return ok(Number(big));
}

/** An integer field: a JSON number without fraction, or a decimal string (int64's usual form). */
export function parseInteger(type: string, value: unknown): Parsed<number> {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || !Number.isInteger(value))
      return fail(`expected an integer (${type}), got ${describe(value)}`);
    if (!Number.isSafeInteger(value))
      return fail(`${value} is beyond 2^53, which remora cannot hold exactly`);
    return checkInteger(type, value);
  }
  if (typeof value === 'string') {
    const s = value.trim();
    if (!INT_STRING.test(s)) return fail(`expected an integer (${type}), got ${describe(value)}`);
    return checkInteger(type, BigInt(s));
  }
  return fail(`expected an integer (${type}), got ${describe(value)}`);
}

const FLOAT_MAX = 3.4028234663852886e38;
const FLOAT_STRING = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** double/float: a number, a numeric string, or "NaN" / "Infinity" / "-Infinity". */
export function parseFloating(type: string, value: unknown): Parsed<number> {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string') {
    if (value === 'NaN') n = Number.NaN;
    else if (value === 'Infinity') n = Number.POSITIVE_INFINITY;
    else if (value === '-Infinity') n = Number.NEGATIVE_INFINITY;
    else if (FLOAT_STRING.test(value.trim())) n = Number(value.trim());
    else return fail(`expected a number (${type}), got ${describe(value)}`);
  } else return fail(`expected a number (${type}), got ${describe(value)}`);
  if (type === 'float' && Number.isFinite(n) && Math.abs(n) > FLOAT_MAX)
    return fail(`${n} is out of range for float`);
  return ok(n);
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** bytes: standard or URL-safe base64, padding optional (as proto3 JSON parsers accept). */
export function parseBytes(value: unknown): Parsed<Buffer> {
  if (typeof value !== 'string') return fail(`expected base64 bytes, got ${describe(value)}`);
  const s = value.replace(/\s+/g, '');
  const bare = s.replace(/=+$/, '');
  if (!BASE64.test(s) || bare.length % 4 === 1 || (s.length !== bare.length && s.length % 4 !== 0)) {
    return fail(`expected base64 bytes, got ${describe(value)}`);
  }
  return ok(Buffer.from(bare.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

/** google.protobuf.Duration bounds (±10,000 years), in seconds. */
const DURATION_MAX_SECONDS = 315_576_000_000n;
const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

/** Seconds and nanoseconds → milliseconds (fractional), after the Duration range checks. */
export function durationMs(seconds: bigint, nanos: number): Parsed<number> {
  if (seconds > DURATION_MAX_SECONDS || seconds < -DURATION_MAX_SECONDS) {
    return fail('duration is out of range (more than 10000 years)');
  }
  if (!Number.isInteger(nanos) || nanos <= -1e9 || nanos >= 1e9)
    return fail(`nanos ${nanos} is out of range`);
  if ((seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0))
    return fail('seconds and nanos must have the same sign');
  return ok(Number(seconds) * 1000 + nanos / 1e6);
}

/** "5s", "0.25s", "-1.5s"; also the message form { seconds, nanos } that some tools emit. */
export function parseDuration(value: unknown): Parsed<number> {
  if (typeof value === 'string') {
    const m = DURATION.exec(value.trim());
    if (m === null) return fail(`expected a duration such as "5s" or "0.25s", got ${describe(value)}`);
    const sign = m[1] === '-' ? -1 : 1;
    const nanos = m[3] === undefined ? 0 : Number(m[3].padEnd(9, '0'));
    const r = durationMs(BigInt(m[2]), nanos);
    return r.ok ? ok(r.value === 0 ? 0 : sign * r.value) : r;
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (k !== 'seconds' && k !== 'nanos') return fail(`unknown field '${k}' in a duration`);
    }
    const s = o.seconds === undefined ? ok(0) : parseInteger('int64', o.seconds);
    if (!s.ok) return fail(`seconds: ${s.reason}`);
    const n = o.nanos === undefined ? ok(0) : parseInteger('int32', o.nanos);
    if (!n.ok) return fail(`nanos: ${n.reason}`);
    return durationMs(BigInt(s.value), n.value);
  }
  return fail(`expected a duration such as "5s" or "0.25s", got ${describe(value)}`);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;
/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z, the Timestamp range, in ms. */
const TIMESTAMP_MIN_MS = -62_135_596_800_000;
const TIMESTAMP_MAX_MS = 253_402_300_800_000;

export function timestampInRange(ms: number): boolean {
  return ms >= TIMESTAMP_MIN_MS && ms < TIMESTAMP_MAX_MS;
}

/** RFC 3339 ("2024-05-01T10:00:00.5Z", any offset) → ms since the epoch (sub-ms kept as fraction). */
export function parseTimestamp(value: unknown): Parsed<number> {
  if (typeof value !== 'string') return fail(`expected an RFC 3339 timestamp, got ${describe(value)}`);
  const m = RFC3339.exec(value.trim());
  if (m === null)
    return fail(`expected an RFC 3339 timestamp such as "2024-01-31T12:00:00Z", got ${describe(value)}`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return fail(`${JSON.stringify(value)} is not a valid date and time`);
  }
  const base = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear puts them back.
  const date = new Date(base);
  date.setUTCFullYear(year);
  if (date.getUTCDate() !== day) return fail(`${JSON.stringify(value)} is not a valid date`);
  let ms = date.getTime();
  if (m[7] !== undefined) ms += Number(m[7].padEnd(9, '0')) / 1e6;
  const zone = m[8];
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(4, 6));
    if (zh > 23 || zm > 59) return fail(`${JSON.stringify(value)} has an invalid UTC offset`);
    ms -= sign * (zh * 60 + zm) * 60_000;
  }
  if (!timestampInRange(ms)) return fail(`${JSON.stringify(value)} is outside years 1 to 9999`);
  return ok(ms);
}
