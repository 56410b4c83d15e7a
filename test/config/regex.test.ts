import { describe, expect, it } from 'vitest';
import {
  compileRe2FullMatch,
  compileRe2Global,
  MAX_PATTERN_LENGTH,
  re2LiteralPrefix,
  re2Problem,
  translateRe2,
  translateRe2Rewrite,
} from '../../proxy/config/regex.js';

const full = (p: string, s: string) => compileRe2FullMatch(p).test(s);

describe('RE2 syntax accepted and translated with the same meaning', () => {
  it('uses full-match semantics', () => {
    expect(full('abc', 'abc')).toBe(true);
    expect(full('abc', 'xabc')).toBe(false);
    expect(full('a|ab', 'ab')).toBe(true); // alternation inside the anchors
  });

  it('named groups (?P<n>) and (?<n>)', () => {
    const t = translateRe2('(?P<year>\\d{4})-(?<m>\\d\\d)');
    expect(t.ok && t.value.groupCount).toBe(2);
    const m = new RegExp(t.ok ? t.value.source : '').exec('2024-05');
    expect(m?.groups).toEqual({ year: '2024', m: '05' });
  });

  it('(?i) at the start and scoped, for the rest of the group, across alternatives', () => {
    expect(full('(?i)hello', 'HeLLo')).toBe(true);
    expect(full('a(?i)b|c', 'aB')).toBe(true);
    expect(full('a(?i)b|c', 'C')).toBe(true);
    expect(full('a(?i)b|c', 'AB')).toBe(false);
    expect(full('(?i:a)b', 'Ab')).toBe(true);
    expect(full('(?i:a)b', 'AB')).toBe(false);
    expect(full('(?i)[a-c]+', 'AbC')).toBe(true);
    expect(full('(?i)[^a]', 'A')).toBe(false);
  });

  it('. excludes only \\n, (?s) includes it; \\r is an ordinary character (unlike JS)', () => {
    expect(full('a.b', 'a\rb')).toBe(true);
    expect(full('a.b', 'a\nb')).toBe(false);
    expect(full('(?s)a.b', 'a\nb')).toBe(true);
  });

  it('\\s is [\\t\\n\\f\\r ] (no \\v, no Unicode spaces), \\d and \\w are ASCII', () => {
    expect(full('\\s', ' ')).toBe(true);
    expect(full('\\s', '\v')).toBe(false);
    expect(full('\\s', '\u00a0')).toBe(false);
    expect(full('\\d', '\u0663')).toBe(false);
    expect(full('\\w+', 'a_Z9')).toBe(true);
    expect(full('[\\S]', 'x')).toBe(true);
  });

  it('(?m) ^ and $ at line boundaries, otherwise only at the text ends', () => {
    expect(compileRe2Global('(?m)^b$').test('a\nb\nc')).toBe(true);
    expect(compileRe2Global('^b$').test('a\nb\nc')).toBe(false);
    expect(full('a\\z', 'a')).toBe(true);
    expect(full('\\Aa', 'a')).toBe(true);
  });

  it('(?U) swaps greediness', () => {
    const t = translateRe2('(?U)a+');
    expect(t.ok && new RegExp(t.value.source).exec('aaa')?.[0]).toBe('a');
    const g = translateRe2('(?U)a+?');
    expect(g.ok && new RegExp(g.value.source).exec('aaa')?.[0]).toBe('aaa');
  });

  it('classes: ] first, POSIX classes, escapes, ranges, - anywhere', () => {
    expect(full('[]a]+', ']a]')).toBe(true);
    expect(full('[[:alpha:]]+', 'abZ')).toBe(true);
    expect(full('[[:^digit:]]', '5')).toBe(false);
    expect(full('[a-c-]+', 'a-c')).toBe(true);
    expect(full('[\\d.]+', '1.2')).toBe(true);
    expect(full('[\\x41-\\x{43}]+', 'ABC')).toBe(true);
  });

  it('escapes: \\Q..\\E, octal, hex, punctuation; { as a literal when not a repeat', () => {
    expect(full('\\Qa.b*\\E', 'a.b*')).toBe(true);
    expect(full('\\Qa.b*\\E', 'axb')).toBe(false);
    expect(full('\\101\\x42\\x{43}', 'ABC')).toBe(true);
    expect(full('\\0', '\0')).toBe(true);
    expect(full('a\\.b', 'a.b')).toBe(true);
    expect(full('a{', 'a{')).toBe(true);
    expect(full('a{,2}', 'a{,2}')).toBe(true);
    expect(full('a{2}', 'aa')).toBe(true);
    expect(full('a{2,}', 'aaaa')).toBe(true);
    expect(full('x}]', 'x}]')).toBe(true);
  });

  it('\\p classes evaluated over Latin-1', () => {
    expect(full('\\pL+', 'abc\u00e9')).toBe(true);
    expect(full('\\p{Lu}', 'a')).toBe(false);
    expect(full('\\PL', '1')).toBe(true);
    expect(full('\\p{Greek}', 'a')).toBe(false);
  });

  it('lazy quantifiers and quantified assertions', () => {
    expect(translateRe2('a*?b+?c??d{1,2}?').ok).toBe(true);
    expect(full('^*a', 'a')).toBe(true);
  });
});

describe('what RE2 rejects is rejected', () => {
  const rejects: [string, string][] = [
    ['(a)\\1', 'backreferences'],
    ['(?P<n>a)(?P=n)', 'backreferences'],
    ['a(?=b)', 'lookahead'],
    ['a(?!b)', 'lookahead'],
    ['(?<=a)b', 'lookbehind'],
    ['(?<!a)b', 'lookbehind'],
    ['(?>a)', 'atomic'],
    ['a++', 'bad repetition operator'],
    ['a**', 'bad repetition operator'],
    ['a*??', 'bad repetition operator'],
    ['*a', 'missing argument'],
    ['a|?', 'missing argument'],
    ['{2}', 'missing argument'],
    ['a{1001}', 'bad repetition operator'],
    ['a{3,2}', 'bad repetition operator'],
    ['(a', 'missing )'],
    ['a)', 'unexpected )'],
    ['[a', 'missing closing ]'],
    ['[z-a]', 'bad character class range'],
    ['\\C', 'not supported'],
    ['\\Z', 'invalid escape'],
    ['\\e', 'invalid escape'],
    ['\\8', 'invalid escape'],
    ['a\\', 'trailing'],
    ['(?P<1a>x)', 'starts with a digit'],
    ['(?P<n>a)(?P<n>b)', 'duplicate'],
    ['(?x)a', 'invalid or unsupported Perl syntax'],
    ['(?i-)a', 'invalid or unsupported Perl syntax'],
    ['[[:foo:]]', 'invalid character class'],
    ['\\p{NoSuchClass}', 'invalid character class'],
  ];
  for (const [pattern, text] of rejects) {
    it(`${pattern} → ${text}`, () => {
      const p = re2Problem(pattern);
      expect(p).not.toBeNull();
      expect(p).toContain(text);
    });
  }

  it('limits pattern length, program size and nesting', () => {
    expect(re2Problem('a'.repeat(MAX_PATTERN_LENGTH + 1))).toContain('limit');
    expect(re2Problem('(a{1000}){1000}')).toContain('too large');
    expect(re2Problem(`${'('.repeat(1100)}a${')'.repeat(1100)}`)).toContain('nests too deeply');
  });
});

describe('rewrite substitutions', () => {
  it('translates \\N, \\0 and \\\\, escapes $', () => {
    expect(translateRe2Rewrite('\\1-\\0-\\\\-$', 1)).toEqual({ ok: true, replacement: '$01-$&-\\-$$' });
    const re = compileRe2Global('(b)');
    expect('abcb'.replace(re, '[$01]')).toBe('a[b]c[b]');
  });

  it('a group followed by a digit is not read as a two-digit group', () => {
    const r = translateRe2Rewrite('\\10', 1);
    expect(r.ok && 'ab'.replace(compileRe2Global('(a)'), r.replacement)).toBe('a0b');
  });

  it('rejects unknown groups and stray backslashes', () => {
    expect(translateRe2Rewrite('\\2', 1).ok).toBe(false);
    expect(translateRe2Rewrite('\\x', 1).ok).toBe(false);
    expect(translateRe2Rewrite('a\\', 1).ok).toBe(false);
  });
});

describe('catastrophic backtracking', () => {
  it('falls back to the linear engine instead of hanging', () => {
    const re = compileRe2FullMatch('(a+)+');
    const start = Date.now();
    expect(re.test(`${'a'.repeat(40)}b`)).toBe(false);
    expect(Date.now() - start).toBeLessThan(2000);
  });
});

describe('literal prefix prefilter', () => {
  it('extracts the literal every full match starts with, conservatively', () => {
    const cases: [string, string][] = [
      ['/items/[0-9]+', '/items/'],
      ['/a+', '/'],
      ['/ab?', '/a'],
      ['/x{2}', '/'],
      ['a|b', ''],
      ['(a|b)c', ''],
      ['ab(c|d)', 'ab'],
      ['(?i)abc', ''],
      ['\\.x', '.x'],
      ['[]|]x|y', ''],
      ['\\Qab\\E', ''],
      ['\\d+', ''],
    ];
    for (const [p, want] of cases) expect(re2LiteralPrefix(p), p).toBe(want);
  });

  it('every string the regex fully matches starts with the prefix', () => {
    const samples = ['/items/1', '/a', '/aa', '/ab', '/xx', 'ab', 'abc', 'abd', '.x', 'y', 'x', ']x'];
    for (const p of ['/items/[0-9]+', '/a+', '/ab?', '/x{2}', 'ab(c|d)', '\\.x', '[]|]x|y']) {
      const re = compileRe2FullMatch(p);
      const prefix = re2LiteralPrefix(p);
      for (const s of samples) if (re.test(s)) expect(s.startsWith(prefix), `${p} ${s}`).toBe(true);
    }
  });
});
