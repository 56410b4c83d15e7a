import type { HeadersWithUnderscoresAction } from '../model/listener.js';

/**
 * Checks an HTTP/1.x request head for the framing ambiguities that enable request smuggling, on the
 * raw header list (Node's `headers` object has already merged or dropped duplicates). llhttp rejects
 * some of these itself; the rest are checked here so that nothing ambiguous is ever forwarded.
 * Returns an Envoy-style response code detail for a rejected request, or null.
 */
export interface HeadProblem {
  readonly status: number;
  readonly details: string;
}

const DIGITS = /^[0-9]+$/;

const TOO_MANY: HeadProblem = { status: 431, details: 'http1.too_many_headers' };
const DUP_HOST: HeadProblem = { status: 400, details: 'http1.invalid_host_duplicated' };
const BAD_CL: HeadProblem = { status: 400, details: 'http1.content_length_not_allowed' };
const CL_TE: HeadProblem = { status: 400, details: 'http1.content_length_and_chunked_not_allowed' };
const BAD_TE: HeadProblem = { status: 400, details: 'http1.invalid_transfer_encoding' };
const UNDERSCORE: HeadProblem = { status: 400, details: 'http1.unexpected_underscore' };

export function checkHttp1Head(
  rawHeaders: readonly string[],
  httpVersion: string,
  maxHeadersCount: number,
  underscores: HeadersWithUnderscoresAction,
): HeadProblem | null {
  if (rawHeaders.length / 2 > maxHeadersCount) return TOO_MANY;
  let hosts = 0;
  let cl: string | null = null;
  let te: string | null = null;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    const len = name.length;
    // Only a few names matter; compare by length first to keep this cheap.
    if (len === 4 && name.toLowerCase() === 'host') {
      if (++hosts > 1) return DUP_HOST;
    } else if (len === 14 && name.toLowerCase() === 'content-length') {
      if (cl !== null) return BAD_CL;
      cl = rawHeaders[i + 1].trim();
      if (!DIGITS.test(cl)) return BAD_CL;
    } else if (len === 17 && name.toLowerCase() === 'transfer-encoding') {
      if (te !== null) return BAD_TE;
      te = rawHeaders[i + 1];
    }
    if (underscores === 'REJECT_REQUEST' && name.includes('_')) return UNDERSCORE;
  }
  if (te !== null) {
    // Only a bare `chunked` is unambiguous; `chunked, identity`, `xchunked`, ` chunked` with odd
    // whitespace and friends are how front and back ends are made to disagree.
    if (te.toLowerCase() !== 'chunked') return BAD_TE;
    if (httpVersion === '1.0') return BAD_TE;
    if (cl !== null) return CL_TE;
  }
  return null;
}

/** Counts header fields of an HTTP/2 request (pseudo-headers excluded) and their size in bytes. */
export function http2HeadSize(headers: Record<string, string | string[] | undefined>): {
  count: number;
  bytes: number;
} {
  let count = 0;
  let bytes = 0;
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      count += v.length;
      for (const x of v) bytes += name.length + x.length;
    } else {
      if (name.charCodeAt(0) !== 58) count++;
      bytes += name.length + v.length;
    }
  }
  return { count, bytes };
}
