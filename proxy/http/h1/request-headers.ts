import type { IncomingHttpHeaders } from 'node:http';

/**
 * Raw request header lines → the header map the connection manager and filters read, with the
 * rules node:http applies (joinDuplicateHeaders off): lower-case names, set-cookie as an array,
 * cookie joined with '; ', single-valued fields first-wins, every other duplicate joined with
 * ', '. Smuggling checks read the raw lines before this folding (request-validation.ts).
 */

/** Fields whose duplicates are dropped (first wins), as node:http folds them. */
const SINGLE = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/**
 * Lower-case forms of names already seen. Clients send the same few names in the same case on
 * every request, and a Map hit is cheaper than toLowerCase on a fresh string (which allocates when
 * the name has a capital). Bounded, so a client sending ever-new names only falls back.
 */
const LOWER = new Map<string, string>();
const LOWER_MAX_ENTRIES = 1024;
const LOWER_MAX_NAME = 64;

export function lowerName(name: string): string {
  let l = LOWER.get(name);
  if (l === undefined) {
    l = name.toLowerCase();
    if (LOWER.size < LOWER_MAX_ENTRIES && name.length <= LOWER_MAX_NAME) LOWER.set(name, l);
  }
  return l;
}

export function foldRequestHeaders(raw: readonly string[]): IncomingHttpHeaders {
  const h: IncomingHttpHeaders = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = lowerName(raw[i]);
    const value = raw[i + 1];
    const prev = h[name];
    if (prev === undefined) {
      h[name] = name === 'set-cookie' ? [value] : value;
    } else if (name === 'set-cookie') {
      (prev as string[]).push(value);
    } else if (name === 'cookie') {
      h[name] = `${prev}; ${value}`;
    } else if (!SINGLE.has(name)) {
      h[name] = `${prev}, ${value}`;
    }
  }
  return h;
}
