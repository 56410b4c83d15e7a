import { enableRegexBacktrackingFallback } from './backtracking-fallback.js';
import { Parser, type Piece } from './re2-parser.js';
import { Re2SyntaxError } from './syntax-error.js';

/**
 * RE2 patterns (Envoy's safe_regex) checked against RE2's syntax and translated to an equivalent
 * JavaScript RegExp source. Node has no RE2 engine, so instead of running RE2 we accept exactly
 * the RE2 syntax, reject what RE2 rejects (backreferences, lookaround, atomic groups, ...), and
 * emit a JS pattern whose meaning is fixed by us rather than by JS flags: case folding, `.`, `^`,
 * `$` and `\s` are all spelled out, so no JS flag (i, m, s, u) is ever set. That keeps every
 * compiled pattern eligible for V8's linear-time fallback engine (see
 * enableRegexBacktrackingFallback). docs/regex.md lists what still differs from RE2.
 */

/** Longest accepted pattern, in characters. */
export const MAX_PATTERN_LENGTH = 4096;
/**
 * Upper bound on the estimated program size (roughly RE2's instruction count: one per literal or
 * class, repetitions multiplied out). Envoy rejects programs above 100 by default; ours is looser
 * because the estimate is approximate and must not reject what Envoy accepts.
 */
export const MAX_PROGRAM_SIZE = 2000;

export interface Re2Translation {
  /** JS RegExp source with the same meaning, to be used with no flags. */
  readonly source: string;
  /** Number of capturing groups (for rewrite substitutions). */
  readonly groupCount: number;
  readonly programSize: number;
}

export type Re2Result =
  | { readonly ok: true; readonly value: Re2Translation }
  | { readonly ok: false; readonly error: string };

/** Checks an RE2 pattern and translates it to an equivalent JS RegExp source (no flags). */
export function translateRe2(pattern: string): Re2Result {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return { ok: false, error: `regex is ${pattern.length} characters; the limit is ${MAX_PATTERN_LENGTH}` };
  }
  const parser = new Parser(pattern);
  let piece: Piece;
  try {
    piece = parser.parse();
  } catch (e) {
    if (e instanceof Re2SyntaxError)
      return { ok: false, error: `invalid regex ${JSON.stringify(pattern)}: ${e.message}` };
    throw e;
  }
  if (piece.size > MAX_PROGRAM_SIZE) {
    return {
      ok: false,
      error: `regex ${JSON.stringify(pattern)} is too large (estimated program size ${piece.size}, limit ${MAX_PROGRAM_SIZE})`,
    };
  }
  try {
    new RegExp(piece.src);
  } catch (e) {
    // Should not happen: the translation only emits valid JS. Reported rather than thrown.
    return {
      ok: false,
      error: `regex ${JSON.stringify(pattern)} could not be translated: ${(e as Error).message}`,
    };
  }
  return { ok: true, value: { source: piece.src, groupCount: parser.groupCount, programSize: piece.size } };
}

/** null when `pattern` is a valid RE2 pattern remora can run, else the reason. */
export function re2Problem(pattern: string): string | null {
  const r = translateRe2(pattern);
  return r.ok ? null : r.error;
}

function mustTranslate(pattern: string): Re2Translation {
  const r = translateRe2(pattern);
  if (!r.ok) throw new Error(r.error);
  enableRegexBacktrackingFallback();
  return r.value;
}

/** Compiles a validated pattern for RE2 FullMatch semantics (Envoy's safe_regex matching). */
export function compileRe2FullMatch(pattern: string): RegExp {
  return new RegExp(`^(?:${mustTranslate(pattern).source})$`);
}

/** Compiles a validated pattern for searching/replacing (global; lastIndex is reset by replace). */
export function compileRe2Global(pattern: string): RegExp {
  return new RegExp(mustTranslate(pattern).source, 'g');
}
