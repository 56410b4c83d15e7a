import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { findCookie, setCookieValue } from '../../../../router/hash-policy.js';

/**
 * envoy.http.stateful_session.cookie (CookieBasedSessionState): the session is a cookie whose
 * value is the upstream host's address (`ip:port`) in base64, as Envoy encodes it. Compiled once
 * from the config; per request it reads the cookie and, on the response, writes it when the host
 * that served the request is not the one the cookie named.
 */
export interface CookieSessionConfig {
  readonly name: string;
  /** Max-Age in whole seconds; 0 → a session cookie (no Max-Age). */
  readonly ttlSeconds: number;
  /** Path attribute and the request paths the session applies to ('' → every path). */
  readonly path: string;
}

/** Longest cookie value looked at: base64 of `[v6 address]:port` is well under this. */
const MAX_VALUE_LENGTH = 128;

export class CookieSessionState {
  constructor(readonly config: CookieSessionConfig) {}

  /**
   * Whether the session applies to this request path (Envoy's rule: the cookie path is a prefix
   * ending at a segment boundary; an empty cookie path matches everything).
   */
  appliesTo(requestPath: string): boolean {
    const p = this.config.path;
    if (p === '') return true;
    const q = requestPath.indexOf('?');
    const path = q < 0 ? requestPath : requestPath.slice(0, q);
    if (!path.startsWith(p)) return false;
    if (path.length === p.length || p.endsWith('/')) return true;
    return path.charCodeAt(p.length) === 0x2f;
  }

  /** The `ip:port` the request's cookie names, or '' when it has none (or a malformed one). */
  hostFrom(headers: OutgoingHttpHeaders | IncomingHttpHeaders): string {
    const v = findCookie(headers, this.config.name);
    if (v === undefined || v === '' || v.length > MAX_VALUE_LENGTH) return '';
    return decodeAddress(v);
  }

  /** The Set-Cookie value that pins a client to `hostKey`. */
  setCookieFor(hostKey: string): string {
    const c = this.config;
    return setCookieValue(c.name, encodeAddress(hostKey), c.ttlSeconds, c.path);
  }
}

export function encodeAddress(hostKey: string): string {
  return Buffer.from(hostKey, 'latin1').toString('base64');
}

/** base64 → `ip:port`; '' unless the result looks like an address (printable ASCII with a port). */
export function decodeAddress(value: string): string {
  const s = Buffer.from(value, 'base64').toString('latin1');
  if (!/^[0-9A-Za-z.:[\]%_-]+:\d{1,5}$/.test(s)) return '';
  return s;
}
