import { compileRe2FullMatch, re2LiteralPrefix } from '../config/regex.js';
import type { HeaderMatcherModel, QueryParameterMatcherModel, StringMatchModel } from './route-model.js';
import type { RouteRequest } from './types.js';

/**
 * Compiled matchers for the request path: built once per route table, allocation-free where the
 * request allows it (case-insensitive comparisons fold ASCII in place, as Envoy's do, instead of
 * lower-casing a copy).
 */

export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** Whether s[offset..offset+needle.length) equals `lowerNeedle` ignoring ASCII case. */
export function equalsFoldedAt(s: string, offset: number, lowerNeedle: string): boolean {
  const n = lowerNeedle.length;
  if (offset < 0 || offset + n > s.length) return false;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(offset + i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lowerNeedle.charCodeAt(i)) return false;
  }
  return true;
}

const EXACT = 0;
const PREFIX = 1;
const SUFFIX = 2;
const CONTAINS = 3;
const REGEX = 4;

/** envoy.type.matcher.v3.StringMatcher. */
export class StringMatcher {
  private readonly kind: number;
  private readonly value: string;
  private readonly ignoreCase: boolean;
  private readonly re: RegExp | null;

  constructor(m: StringMatchModel) {
    if (m.kind === 'regex') {
      this.kind = REGEX;
      this.value = re2LiteralPrefix(m.regex);
      this.ignoreCase = false;
      this.re = compileRe2FullMatch(m.regex);
    } else {
      this.kind =
        m.kind === 'exact' ? EXACT : m.kind === 'prefix' ? PREFIX : m.kind === 'suffix' ? SUFFIX : CONTAINS;
      this.ignoreCase = m.ignoreCase;
      this.value = m.ignoreCase ? asciiLower(m.value) : m.value;
      this.re = null;
    }
  }

  match(s: string): boolean {
    const v = this.value;
    switch (this.kind) {
      case EXACT:
        return this.ignoreCase ? s.length === v.length && equalsFoldedAt(s, 0, v) : s === v;
      case PREFIX:
        return this.ignoreCase ? equalsFoldedAt(s, 0, v) : s.startsWith(v);
      case SUFFIX:
        return this.ignoreCase ? equalsFoldedAt(s, s.length - v.length, v) : s.endsWith(v);
      case CONTAINS:
        if (!this.ignoreCase) return s.includes(v);
        for (let i = 0; i + v.length <= s.length; i++) if (equalsFoldedAt(s, i, v)) return true;
        return false;
      default:
        return s.startsWith(v) && this.re!.test(s);
    }
  }
}

/** Where a header matcher reads its value: pseudo-headers come from the request's fields. */
const SRC_HEADER = 0;
const SRC_AUTHORITY = 1;
const SRC_PATH = 2;
const SRC_METHOD = 3;
const SRC_SCHEME = 4;

function sourceOf(name: string): number {
  switch (name) {
    case ':authority':
    case 'host':
      return SRC_AUTHORITY;
    case ':path':
      return SRC_PATH;
    case ':method':
      return SRC_METHOD;
    case ':scheme':
      return SRC_SCHEME;
    default:
      return SRC_HEADER;
  }
}

/** The header's value as Envoy sees it (repeated values joined with ','), or undefined when absent. */
export function requestHeaderValue(req: RouteRequest, name: string, source: number): string | undefined {
  switch (source) {
    case SRC_AUTHORITY:
      return req.authority;
    case SRC_PATH:
      return req.path;
    case SRC_METHOD:
      return req.method;
    case SRC_SCHEME:
      return req.scheme;
  }
  const v = req.headers[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.join(',');
}

const M_STRING = 0;
const M_PRESENT = 1;
const M_RANGE = 2;
const INT = /^\s*[+-]?\d+\s*$/;

/** envoy.config.route.v3.HeaderMatcher, with Envoy's rules for absent headers and invert_match. */
export class HeaderMatcher {
  private readonly name: string;
  private readonly source: number;
  private readonly type: number;
  private readonly string: StringMatcher | null;
  private readonly present: boolean;
  private readonly start: number;
  private readonly end: number;
  private readonly invert: boolean;
  private readonly missingAsEmpty: boolean;

  constructor(m: HeaderMatcherModel) {
    this.name = m.name;
    this.source = sourceOf(m.name);
    this.invert = m.invert;
    this.missingAsEmpty = m.treatMissingAsEmpty;
    const s = m.spec;
    this.type = s.kind === 'string' ? M_STRING : s.kind === 'present' ? M_PRESENT : M_RANGE;
    this.string = s.kind === 'string' ? new StringMatcher(s.match) : null;
    this.present = s.kind === 'present' ? s.present : true;
    this.start = s.kind === 'range' ? s.start : 0;
    this.end = s.kind === 'range' ? s.end : 0;
  }

  matches(req: RouteRequest): boolean {
    let value = requestHeaderValue(req, this.name, this.source);
    if (value === undefined) {
      // An absent header matches only "present_match: false" (or its inversion of true).
      if (!this.missingAsEmpty) return this.type === M_PRESENT && this.present === this.invert;
      value = '';
    }
    return this.specific(value) !== this.invert;
  }

  private specific(value: string): boolean {
    if (this.type === M_STRING) return this.string!.match(value);
    if (this.type === M_PRESENT) return this.present;
    if (!INT.test(value)) return false;
    const n = Number(value);
    if (Number.isSafeInteger(n)) return n >= this.start && n < this.end;
    const big = BigInt(value.trim());
    return big >= BigInt(this.start) && big < BigInt(this.end);
  }
}

function decodeQueryComponent(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    // Invalid escapes stay as they are, as in Envoy's decoder.
    return s.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  }
}

/**
 * The first value of query parameter `name` in `path` (query starts at `q`), decoded, or
 * undefined. Like Envoy, only the first occurrence counts and a key without '=' has value ''.
 */
export function firstQueryValue(path: string, q: number, name: string): string | undefined {
  let i = q + 1;
  const len = path.length;
  while (i <= len) {
    let amp = path.indexOf('&', i);
    if (amp < 0) amp = len;
    // '=' is searched within this parameter only, so a long query costs linear time overall.
    let eq = i;
    while (eq < amp && path.charCodeAt(eq) !== 0x3d) eq++;
    if (eq > i) {
      let keyMatches: boolean;
      if (eq - i === name.length && path.startsWith(name, i)) keyMatches = true;
      else {
        let pct = i;
        while (pct < eq && path.charCodeAt(pct) !== 0x25) pct++;
        keyMatches = pct < eq && decodeQueryComponent(path.slice(i, eq)) === name;
      }
      if (keyMatches) return eq === amp ? '' : decodeQueryComponent(path.slice(eq + 1, amp));
    }
    i = amp + 1;
  }
  return undefined;
}

/** envoy.config.route.v3.QueryParameterMatcher. */
export class QueryParameterMatcher {
  private readonly name: string;
  private readonly string: StringMatcher | null;

  constructor(m: QueryParameterMatcherModel) {
    this.name = m.name;
    this.string = m.match === null ? null : new StringMatcher(m.match);
  }

  /** `q` is the index of '?' in the path, or -1. */
  matches(path: string, q: number): boolean {
    if (q < 0) return false;
    const v = firstQueryValue(path, q, this.name);
    if (v === undefined) return false;
    return this.string === null ? true : this.string.match(v);
  }
}

/** Envoy's gRPC detection: content-type application/grpc, optionally followed by '+...' or ';...'. */
export function isGrpcRequest(req: RouteRequest): boolean {
  const ct = req.headers['content-type'];
  if (typeof ct !== 'string' || !ct.startsWith('application/grpc')) return false;
  if (ct.length === 16) return true;
  const c = ct.charCodeAt(16);
  return c === 0x2b || c === 0x3b;
}
