import { type OutgoingHttpHeaders, STATUS_CODES } from 'node:http';

/**
 * HTTP/1.1 response head serialisation for the server codec: status lines cached per code, the
 * Date value cached per second, and one pass over the header map that also notes what the framing
 * decision needs (Content-Length present, Date present, `Connection: close` asked for).
 */

const STATUS_LINES: string[] = new Array<string>(1000).fill('');

export function statusLine(status: number): string {
  if (status >= 100 && status < 1000) {
    let s = STATUS_LINES[status];
    if (s === '') {
      s = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
      STATUS_LINES[status] = s;
    }
    return s;
  }
  return `HTTP/1.1 ${status} Unknown\r\n`;
}

let dateSecond = -1;
let dateLine = '';

/** `date: <IMF-fixdate>\r\n`, rebuilt at most once a second. */
export function dateHeaderLine(): string {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  if (sec !== dateSecond) {
    dateSecond = sec;
    dateLine = `date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateLine;
}

/** CR, LF or NUL in a value would split the response (header injection): such a field is dropped. */
const UNSAFE = /[\r\n\0]/;

/** What serializeFields saw besides the text; one module-level scratch object, no allocation. */
export const seen = { contentLength: false, date: false, close: false };

/**
 * The header lines of `headers` (each ending in CRLF). Connection, Keep-Alive and
 * Transfer-Encoding are the codec's to write and are left out; `Connection: close` is noted in
 * `seen.close`.
 */
export function serializeFields(headers: OutgoingHttpHeaders): string {
  let out = '';
  seen.contentLength = false;
  seen.date = false;
  seen.close = false;
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    switch (name) {
      case 'content-length':
        seen.contentLength = true;
        break;
      case 'date':
        seen.date = true;
        break;
      case 'connection':
        if (String(v).toLowerCase().includes('close')) seen.close = true;
        continue;
      case 'transfer-encoding':
      case 'keep-alive':
        continue;
    }
    if (typeof v === 'string') {
      if (!UNSAFE.test(v)) out += `${name}: ${v}\r\n`;
    } else if (typeof v === 'number') {
      out += `${name}: ${v}\r\n`;
    } else {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (!UNSAFE.test(x)) out += `${name}: ${x}\r\n`;
      }
    }
  }
  return out;
}

/** The last chunk of a chunked body with trailer fields. */
export function lastChunkWithTrailers(trailers: OutgoingHttpHeaders): string {
  let s = '0\r\n';
  for (const name in trailers) {
    const v = trailers[name];
    if (v === undefined) continue;
    const list = Array.isArray(v) ? v : [String(v)];
    for (const x of list) if (!UNSAFE.test(x) && !UNSAFE.test(name)) s += `${name}: ${x}\r\n`;
  }
  return `${s}\r\n`;
}
