import { createRequire } from 'node:module';

/**
 * node's built-in llhttp binding (the parser node:http itself uses), reached through the
 * `_http_common` module. It is not a documented API, so everything remora relies on is typed and
 * checked here, in one place: if a Node release changes it, `llhttpAvailable` turns false and the
 * cluster falls back to the node:http-based pool (http1-agent-pool.ts).
 *
 * Callback contract (as node's own HTTP client uses it):
 * - kOnHeaders(rawHeaders, url): a batch of header lines before the head completes (long heads)
 *   or trailer lines after the body.
 * - kOnHeadersComplete(major, minor, rawHeaders | undefined, method, url, status, statusMessage,
 *   upgrade, shouldKeepAlive): return 0 to read the body, 1 to skip it (HEAD, 1xx), 2 for upgrade.
 * - kOnBody(chunk), kOnMessageComplete().
 * - execute(buf) returns the bytes consumed or an Error (with .code 'HPE_*').
 */
export interface LlhttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  finish(): number | Error | undefined;
  close(): void;
  free(): void;
  /**
   * The parser reads a socket's handle itself, as node's server does (the server codec in
   * proxy/http/h1/ and the upstream client in http1-connection.ts).
   */
  consume?(handle: object): void;
  unconsume?(): void;
  /** Inside kOnExecute: a copy of the read just parsed. */
  getCurrentBuffer?(): Buffer;
  [key: number]: unknown;
}

interface LlhttpCtor {
  new (): LlhttpParser;
  readonly REQUEST: number;
  readonly RESPONSE: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kLenientNone: number;
  /** Called when a message starts (its first byte); the upstream client uses it to catch bytes
   * the server sent after the response it was asked for. */
  readonly kOnMessageBegin?: number;
  /** Called with execute's result after each read of a consumed handle. */
  readonly kOnExecute?: number;
}

function load(): LlhttpCtor | null {
  try {
    const mod = createRequire(import.meta.url)('_http_common') as { HTTPParser?: LlhttpCtor };
    const P = mod.HTTPParser;
    if (typeof P !== 'function') return null;
    for (const k of [
      'RESPONSE',
      'kOnHeaders',
      'kOnHeadersComplete',
      'kOnBody',
      'kOnMessageComplete',
    ] as const) {
      if (typeof P[k] !== 'number') return null;
    }
    const p = new P();
    if (typeof p.initialize !== 'function' || typeof p.execute !== 'function') return null;
    return P;
  } catch {
    return null;
  }
}

export const HTTPParser: LlhttpCtor | null = load();
export const llhttpAvailable = HTTPParser !== null;

/**
 * llhttp's method numbers (kOnHeadersComplete's `method`) → method names, for the server codec
 * (proxy/http/h1/). `_http_common.methods` lists the names but is not indexed by number past the
 * first gap in llhttp's numbering (QUERY is 46), so each name is parsed once at load to learn its
 * number. Empty when the parser is unavailable.
 */
function probeMethods(P: LlhttpCtor | null): readonly string[] {
  const table: string[] = [];
  if (P === null) return table;
  try {
    const names = (createRequire(import.meta.url)('_http_common') as { methods?: unknown }).methods;
    if (!Array.isArray(names)) return table;
    const p = new P();
    let seen = -1;
    p[P.kOnHeaders] = noop;
    p[P.kOnBody] = noop;
    p[P.kOnMessageComplete] = noop;
    p[P.kOnHeadersComplete] = (_a: number, _b: number, _h: unknown, method: number): number => {
      seen = method;
      return 0;
    };
    for (const name of names) {
      if (typeof name !== 'string') continue;
      p.initialize(P.REQUEST, {}, 0, 0);
      seen = -1;
      const r = p.execute(Buffer.from(`${name} / HTTP/1.1\r\nhost: x\r\n\r\n`, 'latin1'));
      if (typeof r === 'number' && seen >= 0 && seen < 1024) table[seen] = name;
    }
    p.close();
  } catch {
    return [];
  }
  return table;
}

function noop(): void {}

export const requestMethods: readonly string[] = probeMethods(HTTPParser);
