/**
 * Request path normalisation before routing, as Envoy's connection manager does it
 * (ConnectionManagerUtility::maybeNormalizePath): reject fragments, handle escaped slashes per
 * path_with_escaped_slashes_action, then normalize_path (RFC 3986 §6.2.2: decode percent-encoded
 * unreserved characters, remove dot segments; a backslash counts as a slash, as in Envoy's
 * canonicaliser), then merge_slashes. The query string is never touched. The result is both
 * what routes match against and what goes upstream.
 */

/** HttpConnectionManager.path_with_escaped_slashes_action (IMPLEMENTATION_SPECIFIC_DEFAULT = keep). */
export type EscapedSlashesAction =
  | 'KEEP_UNCHANGED'
  | 'REJECT_REQUEST'
  | 'UNESCAPE_AND_REDIRECT'
  | 'UNESCAPE_AND_FORWARD';

export interface PathNormalizeOptions {
  /** HttpConnectionManager.normalize_path. */
  readonly normalize: boolean;
  /** HttpConnectionManager.merge_slashes. */
  readonly mergeSlashes: boolean;
  readonly escapedSlashes: EscapedSlashesAction;
}

export type PathNormalizeResult =
  | { readonly ok: true; readonly path: string }
  | {
      readonly ok: false;
      /**
       * 400: malformed (bad percent-encoding, %00, fragment, escaped slash with REJECT_REQUEST).
       * 404: not an origin-form path (Envoy's `absolute_path`).
       * 307: UNESCAPE_AND_REDIRECT found escaped slashes; reply with `Location: location`
       *      (gRPC requests get grpc-status 13 instead, as in Envoy).
       */
      readonly status: 400 | 404 | 307;
      /** Envoy's response code details: `path_normalization_failed` or `absolute_path`. */
      readonly details: string;
      /** The normalised path for a 307, else null. */
      readonly location: string | null;
    };

const FAILED = 'path_normalization_failed';

/** Anything that may need work when normalising: escapes, backslashes, dot segments, bytes to encode. */
const NEEDS_NORMALIZE = /[%\\]|\/\.|[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/;
const ESCAPED_SLASH = /%(2f|5c)/i;
const MULTI_SLASH = /\/{2,}/g;
const HEX = /^[0-9A-Fa-f]{2}$/;

function isUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5f ||
    c === 0x7e
  );
}

/** Characters RFC 3986 allows bare in a path segment (besides unreserved and '%'). */
const SUB_DELIMS_ETC = "!$&'()*+,;=:@";

function pctByte(b: number): string {
  return `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
}

/**
 * Decodes percent-encoded unreserved characters, keeps other escapes as they are (Envoy keeps
 * their case too), turns '\' into '/', and percent-encodes characters a path may not hold.
 * Returns null on a malformed escape or an encoded NUL.
 */
function canonicalizeChars(path: string): string | null {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path[i];
    const c = path.charCodeAt(i);
    if (ch === '%') {
      const hex = path.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return null;
      const v = Number.parseInt(hex, 16);
      if (v === 0) return null;
      out += isUnreserved(v) ? String.fromCharCode(v) : `%${hex}`;
      i += 2;
    } else if (ch === '\\') {
      out += '/';
    } else if (isUnreserved(c) || ch === '/' || SUB_DELIMS_ETC.includes(ch)) {
      out += ch;
    } else if (c <= 0xff) {
      // Node decodes the request line as latin1, so one char is one byte of the original.
      if (c === 0) return null;
      out += pctByte(c);
    } else {
      for (const b of Buffer.from(ch, 'utf8')) out += pctByte(b);
    }
  }
  return out;
}

/** RFC 3986 §5.2.4 remove_dot_segments for an absolute path. */
function removeDotSegments(path: string): string {
  const segs = path.split('/');
  const out: string[] = [];
  // segs[0] is the empty string before the leading '/'
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i];
    const last = i === segs.length - 1;
    if (s === '.' || s === '..') {
      if (s === '..') out.pop();
      if (last) out.push('');
    } else {
      out.push(s);
    }
  }
  return `/${out.join('/')}`;
}

function reject(status: 400 | 404, details: string): PathNormalizeResult {
  return { ok: false, status, details, location: null };
}

/**
 * Normalises a request-target path (query included). `method` lets `*` through for OPTIONS only;
 * the caller must have turned an absolute-form target into its path first. Call it even when every
 * option is off: the fragment and origin-form checks are Envoy's regardless of the options.
 */
export function normalizePath(
  rawPath: string,
  opts: PathNormalizeOptions,
  method?: string,
): PathNormalizeResult {
  if (rawPath === '*' && (method === undefined || method === 'OPTIONS')) return { ok: true, path: rawPath };
  if (rawPath.length === 0 || rawPath.charCodeAt(0) !== 0x2f) return reject(404, 'absolute_path');
  if (rawPath.includes('#')) return reject(400, FAILED);
  // Envoy's always-on checks above are all there is when every option is off.
  if (!opts.normalize && !opts.mergeSlashes && opts.escapedSlashes === 'KEEP_UNCHANGED')
    return { ok: true, path: rawPath };
  const q = rawPath.indexOf('?');
  let path = q < 0 ? rawPath : rawPath.slice(0, q);
  const query = q < 0 ? '' : rawPath.slice(q);
  let redirect = false;
  if (opts.escapedSlashes !== 'KEEP_UNCHANGED' && ESCAPED_SLASH.test(path)) {
    if (opts.escapedSlashes === 'REJECT_REQUEST') return reject(400, FAILED);
    path = path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
    redirect = opts.escapedSlashes === 'UNESCAPE_AND_REDIRECT';
  }
  if (opts.normalize && NEEDS_NORMALIZE.test(path)) {
    const chars = canonicalizeChars(path);
    if (chars === null) return reject(400, FAILED);
    path = removeDotSegments(chars);
  }
  // Merged after normalisation, as Envoy does, so '%2F'-free '//' produced above is caught too.
  if (opts.mergeSlashes && path.includes('//')) path = path.replace(MULTI_SLASH, '/');
  const result = query === '' ? path : path + query;
  if (redirect) return { ok: false, status: 307, details: FAILED, location: result };
  return { ok: true, path: result };
}
