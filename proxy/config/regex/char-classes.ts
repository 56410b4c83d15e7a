import { Re2SyntaxError } from './syntax-error.js';

/** The character classes RE2 knows (POSIX, Perl, Unicode) as code unit ranges, and their JS spelling. */

/** A set of UTF-16 code unit ranges, inclusive. */
export type Ranges = [number, number][];

export const POSIX: Record<string, Ranges> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0, 0x7f]],
  blank: [
    [9, 9],
    [0x20, 0x20],
  ],
  cntrl: [
    [0, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [9, 13],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};
/** RE2's Perl classes: \d, \s (no \v), \w — all ASCII. */
export const PERL: Record<string, Ranges> = {
  d: POSIX.digit,
  s: [
    [9, 10],
    [12, 13],
    [0x20, 0x20],
  ],
  w: POSIX.word,
};

export const MAX_UNIT = 0xffff;

export function complement(r: Ranges): Ranges {
  const sorted = normalize(r);
  const out: Ranges = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_UNIT) out.push([next, MAX_UNIT]);
  return out;
}

export function normalize(r: Ranges): Ranges {
  const sorted = r.map((x) => [x[0], x[1]] as [number, number]).sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const x of sorted) {
    const last = out[out.length - 1];
    if (last && x[0] <= last[1] + 1) last[1] = Math.max(last[1], x[1]);
    else out.push(x);
  }
  return out;
}

/** Adds the other ASCII case of every letter in the set (RE2 folds case; we fold ASCII only). */
export function foldAscii(r: Ranges): Ranges {
  const out: Ranges = r.slice();
  for (const [lo, hi] of r) {
    const a = Math.max(lo, 0x41);
    const b = Math.min(hi, 0x5a);
    if (a <= b) out.push([a + 32, b + 32]);
    const c = Math.max(lo, 0x61);
    const d = Math.min(hi, 0x7a);
    if (c <= d) out.push([c - 32, d - 32]);
  }
  return out;
}

export function unitEscape(c: number): string {
  return `\\u${c.toString(16).padStart(4, '0')}`;
}

export function classSource(ranges: Ranges, negate: boolean): string {
  let s = negate ? '[^' : '[';
  for (const [lo, hi] of normalize(ranges))
    s += lo === hi ? unitEscape(lo) : `${unitEscape(lo)}-${unitEscape(hi)}`;
  return `${s}]`;
}

/** Unicode property classes, evaluated over U+0000..U+00FF (what a latin1-decoded header can hold). */
export function unicodeClass(name: string): Ranges {
  let probe: RegExp | null = null;
  for (const candidate of [name, `Script=${name}`]) {
    try {
      probe = new RegExp(`^\\p{${candidate}}$`, 'u');
      break;
    } catch {
      // try the next spelling
    }
  }
  if (name === 'Any') return [[0, MAX_UNIT]];
  if (probe === null) throw new Re2SyntaxError(`invalid character class range: \\p{${name}}`);
  const out: Ranges = [];
  for (let c = 0; c <= 0xff; c++) if (probe.test(String.fromCharCode(c))) out.push([c, c]);
  return out;
}
