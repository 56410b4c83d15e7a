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
  [key: number]: unknown;
}

interface LlhttpCtor {
  new (): LlhttpParser;
  readonly RESPONSE: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kLenientNone: number;
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
