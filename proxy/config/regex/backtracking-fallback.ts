import { setFlagsFromString } from 'node:v8';

let fallbackEnabled = false;
/**
 * V8 can switch a regex that backtracks excessively (50,000 backtracks by default) to its
 * linear-time engine, provided the regex uses no flags it cannot run (i, u, y, ...) and no
 * backreferences or lookaround; translateRe2 emits only such patterns (lookbehind only for (?m)).
 * This restores RE2's linear-time bound for pathological inputs. Idempotent; called before the
 * first config regex is compiled, process-wide (it only changes how slow regexes run, not what
 * they match).
 */
export function enableRegexBacktrackingFallback(): void {
  if (fallbackEnabled) return;
  fallbackEnabled = true;
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
}
