import type { StreamInfo } from '../../http/stream-info.js';
import { buildOperator, type FormatOperator } from './operators.js';

/**
 * Envoy's substitution format strings, compiled once into segments: literal strings and operator
 * objects. `%%` is a literal percent sign; anything else after `%` must be a command
 * `%NAME%`, `%NAME(arg)%` or `%NAME(arg):N%`, or the format is rejected.
 */

/** Envoy's default access log format (used when a logger gives none). */
export const DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" ' +
  '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

export type Segment = string | FormatOperator;

const COMMAND = /%([A-Z0-9_]+)(?:\(([^)]*)\))?(?::(\d+))?%/y;

/** Splits a format string into segments; returns an error message on the first bad command. */
export function parseFormat(format: string): Segment[] | string {
  const segs: Segment[] = [];
  let lit = '';
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      lit += format.slice(i);
      break;
    }
    lit += format.slice(i, pct);
    if (format[pct + 1] === '%') {
      lit += '%';
      i = pct + 2;
      continue;
    }
    COMMAND.lastIndex = pct;
    const m = COMMAND.exec(format);
    if (m === null) return `no valid command operator at position ${pct} in "${format}"`;
    const maxLength = m[3] === undefined ? null : Number(m[3]);
    const op = buildOperator(m[1], m[2] ?? null, maxLength);
    if (typeof op === 'string') return op;
    if (lit !== '') segs.push(lit);
    lit = '';
    segs.push(op);
    i = COMMAND.lastIndex;
  }
  if (lit !== '') segs.push(lit);
  return segs;
}

/** A compiled text format. */
export class TextFormatter {
  constructor(
    private readonly segments: readonly Segment[],
    /** Printed for an operator without a value: `-`, or '' under omit_empty_values. */
    private readonly empty: string,
  ) {}

  static compile(format: string, omitEmptyValues = false): TextFormatter | string {
    const segs = parseFormat(format);
    return typeof segs === 'string' ? segs : new TextFormatter(segs, omitEmptyValues ? '' : '-');
  }

  format(info: StreamInfo): string {
    const segs = this.segments;
    let out = '';
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i];
      if (typeof s === 'string') out += s;
      else out += s.text(info) ?? this.empty;
    }
    return out;
  }
}
