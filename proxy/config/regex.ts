/**
 * RE2 regexes (Envoy's safe_regex) for the rest of remora. The pieces live in proxy/config/regex/:
 * re2-translate.ts (syntax check + translation to flag-free JS, compile helpers), re2-parser.ts and
 * char-classes.ts (the grammar), rewrite.ts (regex_rewrite substitutions), literal-prefix.ts
 * (the startsWith prefilter) and backtracking-fallback.ts (V8's linear-time engine switch).
 */
export { enableRegexBacktrackingFallback } from './regex/backtracking-fallback.js';
export { re2LiteralPrefix } from './regex/literal-prefix.js';
export {
  compileRe2FullMatch,
  compileRe2Global,
  MAX_PATTERN_LENGTH,
  MAX_PROGRAM_SIZE,
  type Re2Result,
  type Re2Translation,
  re2Problem,
  translateRe2,
} from './regex/re2-translate.js';
export { translateRe2Rewrite } from './regex/rewrite.js';
