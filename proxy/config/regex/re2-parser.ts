import {
  classSource,
  complement,
  foldAscii,
  PERL,
  POSIX,
  type Ranges,
  unicodeClass,
  unitEscape,
} from './char-classes.js';
import { Re2SyntaxError } from './syntax-error.js';

/** RE2 syntax parser: accepts exactly RE2's grammar and emits the equivalent flag-free JS source. */

/** RE2's limit on {n,m} counts. */
const MAX_REPEAT = 1000;
/** RE2's nesting limit. */
const MAX_DEPTH = 1000;

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

const SYNTAX_CHARS = '\\^$.*+?()[]{}|/-';

function literalSource(c: number, fold: boolean): string {
  if (fold && ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) {
    const up = c & ~0x20;
    return `[${String.fromCharCode(up)}${String.fromCharCode(up + 32)}]`;
  }
  if (c > 0xffff) {
    const s = String.fromCodePoint(c);
    return `(?:${unitEscape(s.charCodeAt(0))}${unitEscape(s.charCodeAt(1))})`;
  }
  const ch = String.fromCharCode(c);
  if (SYNTAX_CHARS.includes(ch)) return `\\${ch}`;
  if (c < 0x20 || c >= 0x7f) return unitEscape(c);
  return ch;
}

export interface Piece {
  src: string;
  size: number;
  /** Zero-width assertion: JS refuses to quantify some of these bare, so they get wrapped. */
  assertion: boolean;
}

export class Parser {
  private pos = 0;
  groupCount = 0;
  private readonly names = new Set<string>();
  private readonly p: string;

  constructor(pattern: string) {
    this.p = pattern;
  }

  parse(): Piece {
    const r = this.alternation({ i: false, m: false, s: false, U: false }, 0);
    if (this.pos < this.p.length) throw new Re2SyntaxError('unexpected ): unmatched parenthesis');
    return r;
  }

  private peek(): string {
    return this.p[this.pos] ?? '';
  }

  /** Parses until ')' (not consumed) or the end. Flags changed by (?x) last to the group's end. */
  private alternation(flags: Flags, depth: number): Piece {
    if (depth > MAX_DEPTH) throw new Re2SyntaxError('expression nests too deeply');
    const f: Flags = { ...flags };
    const branches: string[] = [];
    let size = 0;
    let cur = '';
    for (;;) {
      const c = this.peek();
      if (c === '' || c === ')') break;
      if (c === '|') {
        this.pos++;
        branches.push(cur);
        cur = '';
        size++;
        continue;
      }
      const atom = this.atom(f, depth);
      if (atom === null) continue; // a flag group like (?i): changes f, emits nothing
      const q = this.quantifier(atom, f);
      cur += q.src;
      size += q.size;
    }
    branches.push(cur);
    return { src: branches.join('|'), size, assertion: false };
  }

  private quantifier(atom: Piece, f: Flags): Piece {
    const c = this.peek();
    let min: number;
    let max: number; // -1 = unbounded
    let op: string;
    if (c === '*' || c === '+' || c === '?') {
      this.pos++;
      op = c;
      min = c === '+' ? 1 : 0;
      max = c === '?' ? 1 : -1;
    } else if (c === '{') {
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(this.p.slice(this.pos));
      if (m === null) return atom; // not a repeat: the '{' is parsed as a literal next time round
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
      if (min > MAX_REPEAT || max > MAX_REPEAT || (max !== -1 && max < min)) {
        throw new Re2SyntaxError(`bad repetition operator: ${m[0]}`);
      }
      this.pos += m[0].length;
      op = m[0];
    } else {
      return atom;
    }
    let lazy = false;
    if (this.peek() === '?') {
      this.pos++;
      lazy = true;
    }
    const after = this.peek();
    if (
      after === '*' ||
      after === '+' ||
      after === '?' ||
      (after === '{' && /^\{\d+(,\d*)?\}/.test(this.p.slice(this.pos)))
    ) {
      throw new Re2SyntaxError(`bad repetition operator: ${op}${lazy ? '?' : ''}${after}`);
    }
    if (f.U) lazy = !lazy;
    const base = atom.assertion ? `(?:${atom.src})` : atom.src;
    const size = max === -1 ? atom.size * Math.max(min, 1) + 1 : atom.size * Math.max(max, 1) + 1;
    return { src: `${base}${op}${lazy ? '?' : ''}`, size, assertion: false };
  }

  private atom(f: Flags, depth: number): Piece | null {
    const c = this.p[this.pos];
    switch (c) {
      case '(':
        return this.group(f, depth);
      case '[':
        return this.charClass(f);
      case '.':
        this.pos++;
        return { src: f.s ? '[\\s\\S]' : '[^\\n]', size: 1, assertion: false };
      case '^':
        this.pos++;
        return { src: f.m ? '(?:^|(?<=\\n))' : '^', size: 1, assertion: true };
      case '$':
        this.pos++;
        return { src: f.m ? '(?:$|(?=\\n))' : '$', size: 1, assertion: true };
      case '*':
      case '+':
      case '?':
        throw new Re2SyntaxError(`missing argument to repetition operator: ${c}`);
      case '{':
        if (/^\{\d+(,\d*)?\}/.test(this.p.slice(this.pos))) {
          throw new Re2SyntaxError('missing argument to repetition operator: {');
        }
        this.pos++;
        return { src: '\\{', size: 1, assertion: false };
      case '\\':
        return this.escape(f);
      default: {
        const cp = this.p.codePointAt(this.pos)!;
        this.pos += cp > 0xffff ? 2 : 1;
        return { src: literalSource(cp, f.i), size: 1, assertion: false };
      }
    }
  }

  private group(f: Flags, depth: number): Piece | null {
    const rest = this.p.slice(this.pos);
    let open: string;
    let inner: Flags = f;
    if (
      rest.startsWith('(?P<') ||
      (rest.startsWith('(?<') && !rest.startsWith('(?<=') && !rest.startsWith('(?<!'))
    ) {
      const start = rest.indexOf('<') + 1;
      const end = rest.indexOf('>', start);
      if (end < 0) throw new Re2SyntaxError(`invalid named capture group: ${rest.slice(0, 20)}`);
      const name = rest.slice(start, end);
      if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Re2SyntaxError(`invalid named capture group: ${name}`);
      if (/^[0-9]/.test(name)) {
        throw new Re2SyntaxError(`capture group name ${name} starts with a digit (not supported by remora)`);
      }
      if (this.names.has(name)) throw new Re2SyntaxError(`duplicate capture group name: ${name}`);
      this.names.add(name);
      this.groupCount++;
      open = `(?<${name}>`;
      this.pos += end + 1;
    } else if (rest.startsWith('(?')) {
      const m = /^\(\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
      if (m === null) {
        const kind = rest.startsWith('(?=') || rest.startsWith('(?!') ? 'lookahead' : '';
        const behind = rest.startsWith('(?<=') || rest.startsWith('(?<!') ? 'lookbehind' : '';
        const what = kind || behind || (rest.startsWith('(?>') ? 'atomic group' : '');
        if (what) throw new Re2SyntaxError(`${what} is not supported by RE2: ${rest.slice(0, 4)}`);
        if (rest.startsWith('(?P=')) throw new Re2SyntaxError('backreferences are not supported by RE2');
        throw new Re2SyntaxError(`invalid or unsupported Perl syntax: ${rest.slice(0, 4)}`);
      }
      const on = m[1];
      const off = m[2];
      if ((on === '' && off === undefined) || off === '') {
        throw new Re2SyntaxError(`invalid or unsupported Perl syntax: ${m[0]}`);
      }
      const nf: Flags = { ...f };
      for (const ch of on) nf[ch as keyof Flags] = true;
      for (const ch of off ?? '') nf[ch as keyof Flags] = false;
      this.pos += m[0].length;
      if (m[3] === ')') {
        // (?flags): applies to the rest of the enclosing group
        f.i = nf.i;
        f.m = nf.m;
        f.s = nf.s;
        f.U = nf.U;
        return null;
      }
      inner = nf;
      open = '(?:';
    } else {
      this.groupCount++;
      open = '(';
      this.pos++;
    }
    const body = this.alternation(inner, depth + 1);
    if (this.peek() !== ')') throw new Re2SyntaxError('missing ): unclosed group');
    this.pos++;
    return { src: `${open}${body.src})`, size: body.size + (open === '(?:' ? 0 : 2), assertion: false };
  }

  /** Reads one code point escape used both in and out of classes; null when not a single char. */
  private charEscape(): number | null {
    const c = this.p[this.pos + 1];
    if (c === undefined) throw new Re2SyntaxError('trailing \\');
    const simple: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };
    if (c in simple) {
      this.pos += 2;
      return simple[c];
    }
    if (c === 'x') {
      const rest = this.p.slice(this.pos);
      const m = /^\\x(?:\{([0-9A-Fa-f]{1,8})\}|([0-9A-Fa-f]{2}))/.exec(rest);
      if (m === null) throw new Re2SyntaxError(`invalid escape sequence: ${rest.slice(0, 4)}`);
      const v = Number.parseInt(m[1] ?? m[2], 16);
      if (v > 0x10ffff) throw new Re2SyntaxError(`invalid escape sequence: ${m[0]}`);
      this.pos += m[0].length;
      return v;
    }
    if (c >= '0' && c <= '7') {
      const rest = this.p.slice(this.pos + 1);
      // A lone \1..\7 is a backreference in Perl; RE2 rejects it. \0 and \NNN are octal.
      const m = c === '0' ? /^0[0-7]{0,2}/.exec(rest) : /^[1-7][0-7]{1,2}/.exec(rest);
      if (m === null) throw new Re2SyntaxError(`backreferences are not supported by RE2: \\${c}`);
      this.pos += 1 + m[0].length;
      return Number.parseInt(m[0], 8);
    }
    if (c === '8' || c === '9') throw new Re2SyntaxError(`invalid escape sequence: \\${c}`);
    const code = c.charCodeAt(0);
    if (code < 0x80 && !/[A-Za-z0-9]/.test(c)) {
      this.pos += 2;
      return code;
    }
    return null;
  }

  /** \d \s \w \D \S \W \pX \p{X} \PX \P{X}: a class, or null if not one. */
  private classEscape(f: Flags): Ranges | null {
    const c = this.p[this.pos + 1];
    if (c === undefined) return null;
    const lower = c.toLowerCase();
    if ((lower === 'd' || lower === 's' || lower === 'w') && c !== undefined) {
      this.pos += 2;
      const r = PERL[lower];
      return c === lower ? r : complement(r);
    }
    if (c === 'p' || c === 'P') {
      const rest = this.p.slice(this.pos);
      const m = /^\\[pP](?:\{(\^?)([A-Za-z_]+)\}|([A-Za-z]))/.exec(rest);
      if (m === null) throw new Re2SyntaxError(`invalid character class range: ${rest.slice(0, 6)}`);
      this.pos += m[0].length;
      let r = unicodeClass(m[2] ?? m[3]);
      if (f.i) r = foldAscii(r);
      const negate = (c === 'P') !== (m[1] === '^');
      return negate ? complement(r) : r;
    }
    return null;
  }

  private escape(f: Flags): Piece {
    const c = this.p[this.pos + 1];
    switch (c) {
      case 'b':
      case 'B':
        this.pos += 2;
        return { src: `\\${c}`, size: 1, assertion: true };
      case 'A':
        this.pos += 2;
        return { src: '^', size: 1, assertion: true };
      case 'z':
        this.pos += 2;
        return { src: '$', size: 1, assertion: true };
      case 'C':
        throw new Re2SyntaxError('\\C (match any byte) is not supported');
      case 'Q': {
        const end = this.p.indexOf('\\E', this.pos + 2);
        const text = this.p.slice(this.pos + 2, end < 0 ? undefined : end);
        this.pos = end < 0 ? this.p.length : end + 2;
        if (text === '') return { src: '', size: 0, assertion: false };
        // Only the last character is the atom a following quantifier applies to.
        let src = '';
        for (const ch of text) src += literalSource(ch.codePointAt(0)!, f.i);
        return { src: text.length > 1 ? src : src, size: text.length, assertion: false };
      }
      case 'E':
        this.pos += 2;
        return { src: '', size: 0, assertion: false };
    }
    const cls = this.classEscape(f);
    if (cls !== null) return { src: classSource(cls, false), size: 1, assertion: false };
    const cp = this.charEscape();
    if (cp === null) throw new Re2SyntaxError(`invalid escape sequence: \\${c}`);
    return { src: literalSource(cp, f.i), size: 1, assertion: false };
  }

  private classChar(): number {
    if (this.p[this.pos] === '\\') {
      const cp = this.charEscape();
      if (cp === null) throw new Re2SyntaxError(`invalid escape sequence: \\${this.p[this.pos + 1]}`);
      return cp;
    }
    const cp = this.p.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  private charClass(f: Flags): Piece {
    const start = this.pos;
    this.pos++;
    let negate = false;
    if (this.peek() === '^') {
      negate = true;
      this.pos++;
    }
    const ranges: Ranges = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === '') throw new Re2SyntaxError(`missing closing ]: ${this.p.slice(start, start + 20)}`);
      if (c === ']' && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (c === '[' && this.p[this.pos + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(this.p.slice(this.pos));
        if (m !== null) {
          const r = POSIX[m[2]];
          if (r === undefined) throw new Re2SyntaxError(`invalid character class range: ${m[0]}`);
          this.pos += m[0].length;
          ranges.push(...(m[1] === '^' ? complement(r) : r));
          continue;
        }
      }
      if (c === '\\') {
        const cls = this.classEscape(f);
        if (cls !== null) {
          ranges.push(...cls);
          continue;
        }
      }
      const lo = this.classChar();
      let hi = lo;
      if (this.peek() === '-' && this.p[this.pos + 1] !== ']' && this.p[this.pos + 1] !== undefined) {
        this.pos++;
        hi = this.classChar();
        if (hi < lo) throw new Re2SyntaxError(`bad character class range: ${this.p.slice(start, this.pos)}`);
      }
      if (hi > 0xffff)
        throw new Re2SyntaxError('code points above U+FFFF in a character class are not supported');
      ranges.push([lo, hi]);
    }
    return { src: classSource(f.i ? foldAscii(ranges) : ranges, negate), size: 1, assertion: false };
  }
}
