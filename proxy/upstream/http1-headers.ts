import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { FIRST_WINS_FIELDS, lowerHeaderName } from '../http/header-names.js';
import type { UpstreamRequestHead } from './upstream-stream.js';

/**
 * HTTP/1.1 head serialisation and response-header folding for the lean pool (http1-pool.ts).
 */

/** Connection-level response fields, never folded into the headers handed on (unless keepHopByHop). */
function isConnectionField(name: string): boolean {
  return (
    name === 'connection' ||
    name === 'keep-alive' ||
    name === 'transfer-encoding' ||
    name === 'proxy-connection'
  );
}

/**
 * Raw [name, value, name, value, ...] lines → IncomingHttpHeaders with lower-case names:
 * set-cookie as an array, single-valued fields first-wins, the rest joined with ', '. The fields
 * that belong to the connection (Connection and what it names, Keep-Alive, Transfer-Encoding,
 * Proxy-Connection) are left out unless `keepHopByHop` (101 responses keep Connection/Upgrade).
 * They are skipped while building rather than deleted after: a `delete` turns the object into a
 * slow dictionary for every later reader (router, node's writeHead), and almost every upstream
 * response carries `Connection: keep-alive`.
 */
export function foldHeaders(raw: readonly string[], keepHopByHop: boolean): IncomingHttpHeaders {
  const h: IncomingHttpHeaders = {};
  let conn: string | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = lowerHeaderName(raw[i]);
    const value = raw[i + 1];
    if (!keepHopByHop && isConnectionField(name)) {
      if (name === 'connection') conn = conn === null ? value : `${conn},${value}`;
      continue;
    }
    const prev = h[name];
    if (prev === undefined) {
      h[name] = name === 'set-cookie' ? [value] : value;
    } else if (name === 'set-cookie') {
      (prev as string[]).push(value);
    } else if (!FIRST_WINS_FIELDS.has(name)) {
      h[name] = `${prev}, ${value}`;
    }
  }
  // `keep-alive` / `close` name no other field: skip the split on almost every response.
  if (conn !== null && conn !== 'keep-alive' && conn !== 'close') {
    // Fields the upstream named in Connection are hop-by-hop too (rare beyond keep-alive/close).
    for (const part of conn.split(',')) {
      const n = part.trim().toLowerCase();
      if (n !== '' && n !== 'content-length' && h[n] !== undefined) delete h[n];
    }
  }
  return h;
}

/** CR, LF or NUL in a path or value would split the message (request smuggling). */
const UNSAFE = /[\r\n\0]/;

/**
 * The request head as one latin1 string (header values are latin1 strings in node), with the
 * framing header this codec chooses; null when a path or value carries CR/LF/NUL.
 */
export function serializeHead(head: UpstreamRequestHead, chunked: boolean): string | null {
  if (UNSAFE.test(head.path) || UNSAFE.test(head.authority)) return null;
  let s = `${head.method} ${head.path} HTTP/1.1\r\nhost: ${head.authority}\r\n`;
  const src: OutgoingHttpHeaders = head.headers;
  for (const k in src) {
    const v = src[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      for (const x of v) {
        if (UNSAFE.test(x)) return null;
        s += `${k}: ${x}\r\n`;
      }
    } else {
      const x = typeof v === 'string' ? v : String(v);
      if (UNSAFE.test(x)) return null;
      s += `${k}: ${x}\r\n`;
    }
  }
  if (head.contentLength > 0) s += `content-length: ${head.contentLength}\r\n`;
  else if (chunked) s += 'transfer-encoding: chunked\r\n';
  else if (head.method === 'POST' || head.method === 'PUT' || head.method === 'PATCH')
    s += 'content-length: 0\r\n';
  if (head.upgrade !== null) {
    if (UNSAFE.test(head.upgrade)) return null;
    s += `connection: upgrade\r\nupgrade: ${head.upgrade}\r\n`;
  }
  return `${s}\r\n`;
}

/** Chunked trailer section: `0\r\n`, the trailer fields, and the final CRLF. */
export function serializeLastChunk(trailers: OutgoingHttpHeaders | undefined): string {
  if (trailers === undefined) return '0\r\n\r\n';
  let s = '0\r\n';
  for (const k in trailers) {
    const v = trailers[k];
    if (v === undefined) continue;
    const list = Array.isArray(v) ? v : [String(v)];
    for (const x of list) if (!UNSAFE.test(x) && !UNSAFE.test(k)) s += `${k}: ${x}\r\n`;
  }
  return `${s}\r\n`;
}
