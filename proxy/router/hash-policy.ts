import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { compileRe2Global, translateRe2, translateRe2Rewrite } from '../config/regex.js';
import { top53 } from '../extensions/load-balancing-policies/common/u64.js';
import { R } from '../extensions/load-balancing-policies/common/u64-ops.js';
import { xxHash64Raw } from '../extensions/load-balancing-policies/common/xxhash64.js';
import type { HashPolicyModel } from './hash-policy-model.js';

/**
 * A route's hash_policy list, compiled once. Per request, `evaluate` runs the policies in order as
 * Envoy does: each one that finds its input yields xxHash64(input, seed 0); hashes combine as
 * hash = rotl(hash, 1) ^ next over 64 bits (two uint32 halves here); a terminal policy that
 * produced a hash (or follows one) stops the walk. The load balancer receives the top 53 bits
 * (LbContext.hashKey), the same reduction the ring and Maglev tables use for host positions.
 * No hash at all leaves the key undefined, and the hashing policies then pick at random.
 */

/** The request as the hash policies read it (the router filter's RequestHead fits). */
export interface HashRequest {
  readonly method: string;
  /** Path with its query string. */
  readonly path: string;
  readonly authority: string;
  readonly scheme: string;
  readonly headers: OutgoingHttpHeaders | IncomingHttpHeaders;
}

/** Where evaluate leaves its result; one per request (the router filter owns it). */
export class HashOutcome {
  /** Top 53 bits of the combined hash, or undefined when no policy found its input. */
  key: number | undefined = undefined;
  /**
   * A Set-Cookie value to add to the response: a cookie policy with a ttl found no cookie in the
   * request, so the proxy made one up (as Envoy does) and hashed that; the client sticks from then on.
   */
  setCookie: string | null = null;

  reset(): void {
    this.key = undefined;
    this.setCookie = null;
  }
}

// Scratch UTF-8 buffer for hashing strings without allocating per request.
let scratch = Buffer.allocUnsafe(512);

/** xxHash64(utf8(s), seed 0) left in R (R[0] high word, R[1] low word). */
function hashString(s: string): void {
  if (s.length * 3 > scratch.length) scratch = Buffer.allocUnsafe(s.length * 3);
  const n = scratch.write(s, 0, 'utf8');
  xxHash64Raw(scratch, n, 0);
}

function headerString(v: string | string[] | number | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (v.length === 0) return undefined;
  if (v.length === 1) return v[0];
  // Envoy hashes every value of a repeated header, sorted so the order on the wire does not matter.
  return v.slice().sort().join(',');
}

/** The value of cookie `name` in the request's Cookie header(s), quotes removed; undefined if absent. */
export function findCookie(
  headers: OutgoingHttpHeaders | IncomingHttpHeaders,
  name: string,
): string | undefined {
  const raw = headers.cookie;
  if (raw === undefined) return undefined;
  if (Array.isArray(raw)) {
    for (const line of raw) {
      const v = cookieIn(line, name);
      if (v !== undefined) return v;
    }
    return undefined;
  }
  return cookieIn(String(raw), name);
}

function cookieIn(line: string, name: string): string | undefined {
  let start = 0;
  while (start < line.length) {
    let end = line.indexOf(';', start);
    if (end < 0) end = line.length;
    const eq = line.indexOf('=', start);
    if (eq > start && eq < end && line.slice(start, eq).trim() === name) {
      let v = line.slice(eq + 1, end).trim();
      if (v.length >= 2 && v.charCodeAt(0) === 0x22 && v.charCodeAt(v.length - 1) === 0x22)
        v = v.slice(1, -1);
      return v;
    }
    start = end + 1;
  }
  return undefined;
}

/** Envoy's Set-Cookie format: name="value"; Max-Age=ttl; Path=path; HttpOnly. */
export function setCookieValue(name: string, value: string, ttlSeconds: number, path: string): string {
  let s = `${name}="${value}"`;
  if (ttlSeconds > 0) s += `; Max-Age=${ttlSeconds}`;
  if (path !== '') s += `; Path=${path}`;
  return `${s}; HttpOnly`;
}

/** The IP part of `ip:port` / `[v6]:port`. */
export function ipOf(address: string): string {
  if (address.charCodeAt(0) === 0x5b) {
    const close = address.indexOf(']');
    return close < 0 ? address : address.slice(1, close);
  }
  const colon = address.lastIndexOf(':');
  return colon < 0 ? address : address.slice(0, colon);
}

/** First value of query parameter `name` (names and values percent-decoded), or undefined. */
export function queryParameter(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  let start = q + 1;
  while (start <= path.length) {
    let end = path.indexOf('&', start);
    if (end < 0) end = path.length;
    if (end > start) {
      const eq = path.indexOf('=', start);
      const keyEnd = eq >= 0 && eq < end ? eq : end;
      if (decode(path.slice(start, keyEnd)) === name) {
        return keyEnd === end ? '' : decode(path.slice(keyEnd + 1, end));
      }
    }
    start = end + 1;
  }
  return undefined;
}

function decode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // malformed escapes: hash the raw text rather than fail the request
  }
}

const KIND_HEADER = 0;
const KIND_COOKIE = 1;
const KIND_SOURCE_IP = 2;
const KIND_QUERY = 3;

/** One compiled policy; every field set in the constructor (one shape for all kinds). */
class Step {
  readonly kind: number;
  readonly terminal: boolean;
  /** Header name, cookie name or query parameter name. */
  readonly name: string;
  readonly re: RegExp | null;
  readonly replacement: string;
  readonly ttlSeconds: number;
  readonly cookiePath: string;

  constructor(m: HashPolicyModel) {
    this.terminal = m.terminal;
    this.re = null;
    this.replacement = '';
    this.ttlSeconds = -1;
    this.cookiePath = '';
    if (m.kind === 'header') {
      this.kind = KIND_HEADER;
      this.name = m.header;
      if (m.regexRewrite !== null) {
        this.re = compileRe2Global(m.regexRewrite.regex);
        const t = translateRe2(m.regexRewrite.regex);
        const r = translateRe2Rewrite(m.regexRewrite.substitution, t.ok ? t.value.groupCount : 0);
        if (!r.ok) throw new Error(r.error); // the translator validated it; unreachable
        this.replacement = r.replacement;
      }
    } else if (m.kind === 'cookie') {
      this.kind = KIND_COOKIE;
      this.name = m.name;
      this.ttlSeconds = m.ttlSeconds ?? -1;
      this.cookiePath = m.path;
    } else if (m.kind === 'source_ip') {
      this.kind = KIND_SOURCE_IP;
      this.name = '';
    } else {
      this.kind = KIND_QUERY;
      this.name = m.name;
    }
  }

  /** The string this policy hashes for the request, or undefined. May set out.setCookie. */
  input(req: HashRequest, remote: string, local: string, out: HashOutcome): string | undefined {
    switch (this.kind) {
      case KIND_HEADER: {
        const v = this.headerValue(req);
        if (v === undefined) return undefined;
        return this.re === null ? v : v.replace(this.re, this.replacement);
      }
      case KIND_COOKIE: {
        const v = findCookie(req.headers, this.name);
        if (v !== undefined || this.ttlSeconds < 0) return v;
        // Envoy: value = hex(xxHash64(remote address + local address)), sent back as Set-Cookie.
        hashString(remote + local);
        const made = hex32(R[0]) + hex32(R[1]);
        out.setCookie = setCookieValue(this.name, made, this.ttlSeconds, this.cookiePath);
        return made;
      }
      case KIND_SOURCE_IP:
        return remote === '' ? undefined : ipOf(remote);
      default:
        return queryParameter(req.path, this.name);
    }
  }

  private headerValue(req: HashRequest): string | undefined {
    const n = this.name;
    if (n.charCodeAt(0) === 0x3a) {
      if (n === ':authority') return req.authority;
      if (n === ':path') return req.path;
      if (n === ':method') return req.method;
      return req.scheme;
    }
    return headerString(req.headers[n]);
  }
}

function hex32(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}

export class HashPolicy {
  private readonly steps: readonly Step[];

  constructor(models: readonly HashPolicyModel[]) {
    this.steps = models.map((m) => new Step(m));
  }

  /** Compiles `models`, or null for an empty list (routes without hashing pay nothing). */
  static compile(models: readonly HashPolicyModel[] | undefined): HashPolicy | null {
    return models === undefined || models.length === 0 ? null : new HashPolicy(models);
  }

  /**
   * Computes the request's hash into `out`. `remote` and `local` are the downstream connection's
   * `ip:port` addresses (source IP hashing, generated cookies).
   */
  evaluate(req: HashRequest, remote: string, local: string, out: HashOutcome): void {
    out.reset();
    let have = false;
    let hi = 0;
    let lo = 0;
    for (const step of this.steps) {
      const input = step.input(req, remote, local, out);
      if (input !== undefined) {
        hashString(input);
        if (have) {
          const rhi = (hi << 1) | (lo >>> 31);
          const rlo = (lo << 1) | (hi >>> 31);
          hi = rhi ^ R[0];
          lo = rlo ^ R[1];
        } else {
          hi = R[0];
          lo = R[1];
          have = true;
        }
      }
      if (step.terminal && have) break;
    }
    out.key = have ? top53(hi >>> 0, lo >>> 0) : undefined;
  }
}

/**
 * The hash key for a connection hashed on its source IP (tcp_proxy's `hash_policy: [{source_ip:
 * {}}]`): top 53 bits of xxHash64 of the peer's IP, as the HTTP source_ip policy computes it, so an
 * HTTP route and a TCP proxy hashing the same client agree. undefined for an empty address.
 */
export function sourceIpHashKey(remoteAddress: string): number | undefined {
  if (remoteAddress === '') return undefined;
  hashString(ipOf(remoteAddress));
  return top53(R[0] >>> 0, R[1] >>> 0);
}
