/**
 * What both HTTP/1.1 codecs (the server codec in h1/ and the upstream client) need when they fold
 * raw header lines into a header map the way node:http does.
 */

/** Fields whose duplicates are dropped (first wins), as node:http folds them. */
export const FIRST_WINS_FIELDS: ReadonlySet<string> = new Set([
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
 * Lower-case forms of header names already seen. Peers send the same few names in the same case
 * on every message, and a Map hit is cheaper than toLowerCase on a fresh string (which allocates
 * whenever the name has a capital). Bounded in entries and name length, so a peer sending
 * ever-new names only falls back to toLowerCase. One cache for both directions: the common names
 * are the same.
 */
const LOWER = new Map<string, string>();
const LOWER_MAX_ENTRIES = 1024;
const LOWER_MAX_NAME = 64;

export function lowerHeaderName(name: string): string {
  let l = LOWER.get(name);
  if (l === undefined) {
    l = name.toLowerCase();
    if (LOWER.size < LOWER_MAX_ENTRIES && name.length <= LOWER_MAX_NAME) LOWER.set(name, l);
  }
  return l;
}
