const PLAIN_LITERAL = /[A-Za-z0-9/_\-~!@#%&=:;,'"<> ]/;
const QUANTIFIER_START = '*+?{';

/**
 * The literal text every match of `pattern` must start with, for FullMatch use (e.g. '/items/'
 * for '/items/[0-9]+'): a cheap startsWith check before running the regex. Conservative: ''
 * when unsure (top-level alternation, flags, a quantified first literal).
 */
export function re2LiteralPrefix(pattern: string): string {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      if (pattern[i + 1] === 'Q') return '';
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return '';
  }
  let out = '';
  let i = 0;
  for (;;) {
    const c = pattern[i];
    let lit: string;
    let len: number;
    if (c !== undefined && PLAIN_LITERAL.test(c)) {
      lit = c;
      len = 1;
    } else if (
      c === '\\' &&
      pattern[i + 1] !== undefined &&
      /[^A-Za-z0-9]/.test(pattern[i + 1]) &&
      pattern.charCodeAt(i + 1) < 0x80
    ) {
      lit = pattern[i + 1];
      len = 2;
    } else {
      break;
    }
    const next = pattern[i + len];
    if (next !== undefined && QUANTIFIER_START.includes(next)) break;
    out += lit;
    i += len;
  }
  return out;
}
