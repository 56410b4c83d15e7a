import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import type { HcmConfig } from '../model/listener.js';

/**
 * Request/response header rules applied at the proxy boundary: hop-by-hop removal (RFC 9110 §7.6.1),
 * forwarding headers (x-forwarded-for / -proto, x-request-id) and Envoy's treatment of its own
 * x-envoy-* headers from untrusted clients.
 */

/** Always connection-specific; never forwarded in either direction (an array: iterated per request). */
const HOP_BY_HOP: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'http2-settings',
];

/**
 * Removes hop-by-hop headers from `headers` in place: the fixed set plus every field named in
 * Connection. `te: trailers` survives (gRPC needs it end to end). Returns the Upgrade token (lower
 * case) if the request asked for one and it is in `allowedUpgrades`, else null.
 */
export function stripHopByHop(
  headers: OutgoingHttpHeaders,
  allowedUpgrades: readonly string[],
): string | null {
  const conn = headers.connection;
  let upgrade: string | null = null;
  if (conn !== undefined) {
    const wantsUpgrade = typeof headers.upgrade === 'string';
    for (const token of String(conn).split(',')) {
      const name = token.trim().toLowerCase();
      if (name === '') continue;
      if (name === 'upgrade' && wantsUpgrade) {
        const u = (headers.upgrade as string).trim().toLowerCase();
        if (allowedUpgrades.includes(u)) upgrade = u;
        continue;
      }
      // A client can not make the proxy drop its own framing or routing inputs this way: Host is
      // required, and pseudo-headers are not headers.
      if (name === 'host' || name.startsWith(':')) continue;
      delete headers[name];
    }
  }
  let te: string | undefined;
  if (headers.te !== undefined) {
    const v = String(headers.te).trim().toLowerCase();
    if (v === 'trailers') te = 'trailers';
  }
  for (let i = 0; i < HOP_BY_HOP.length; i++) {
    const name = HOP_BY_HOP[i];
    if (headers[name] !== undefined) delete headers[name];
  }
  if (te !== undefined) headers.te = te;
  return upgrade;
}

/** Response headers from upstream: drop connection-specific ones, the downstream codec frames. */
export function stripResponseHopByHop(headers: OutgoingHttpHeaders): void {
  const conn = headers.connection;
  if (conn !== undefined) {
    for (const token of String(conn).split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '' && name !== 'content-length') delete headers[name];
    }
  }
  for (let i = 0; i < HOP_BY_HOP.length; i++) {
    const name = HOP_BY_HOP[i];
    if (headers[name] !== undefined) delete headers[name];
  }
}

/** Is `ip` loopback or RFC 1918 / RFC 4193 (Envoy's default notion of an internal address)? */
export function isInternalAddress(ip: string): boolean {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (v4.startsWith('127.') || v4.startsWith('10.') || v4.startsWith('192.168.')) return true;
  if (v4.startsWith('172.')) {
    const second = Number(v4.split('.')[1]);
    return second >= 16 && second <= 31;
  }
  if (ip === '::1') return true;
  const lower = ip.toLowerCase();
  return lower.startsWith('fc') || lower.startsWith('fd');
}

/**
 * Applies x-forwarded-for, x-forwarded-proto, x-envoy-internal, x-request-id and x-envoy-* rules as
 * Envoy documents them:
 * - use_remote_address true: the downstream peer is the client (unless xff_num_trusted_hops says to
 *   trust that many XFF entries); its address is appended to XFF unless skip_xff_append; the
 *   request counts as internal when that client address is internal.
 * - use_remote_address false: the client address comes from the last XFF entry; nothing appended.
 * - External requests lose every x-envoy-* header the client sent, and an external x-request-id is
 *   replaced unless preserve_external_request_id.
 * Returns true when the request is external (edge mode and an untrusted client); the request id in
 * effect is left in headers['x-request-id'].
 */
export function applyForwardingHeaders(
  headers: OutgoingHttpHeaders,
  remoteAddress: string,
  scheme: string,
  cfg: HcmConfig,
): boolean {
  const xffRaw = headers['x-forwarded-for'];
  const xff = xffRaw === undefined ? '' : Array.isArray(xffRaw) ? xffRaw.join(',') : String(xffRaw);
  let internal: boolean;
  if (cfg.useRemoteAddress) {
    let client = remoteAddress;
    if (cfg.xffNumTrustedHops > 0 && xff !== '') {
      const parts = xff.split(',');
      const idx = parts.length - cfg.xffNumTrustedHops;
      if (idx >= 0) client = parts[idx].trim();
    }
    internal =
      cfg.xffNumTrustedHops > 0 ? isInternalAddress(client) : xff === '' && isInternalAddress(client);
    if (!cfg.skipXffAppend)
      headers['x-forwarded-for'] = xff === '' ? remoteAddress : `${xff},${remoteAddress}`;
    headers['x-forwarded-proto'] = scheme;
  } else {
    // Not an edge proxy: trust what came in.
    internal = xff === '' ? true : isInternalAddress(xff.slice(xff.lastIndexOf(',') + 1).trim());
    if (headers['x-forwarded-proto'] === undefined) headers['x-forwarded-proto'] = scheme;
  }
  const external = cfg.useRemoteAddress && !internal;
  if (external) {
    for (const name of Object.keys(headers)) {
      if (name.startsWith('x-envoy-')) delete headers[name];
    }
  } else if (cfg.useRemoteAddress) {
    headers['x-envoy-internal'] = 'true';
  }
  let id = headers['x-request-id'];
  if (
    cfg.generateRequestId &&
    (id === undefined || id === '' || (external && !cfg.preserveExternalRequestId))
  ) {
    id = randomUUID();
    headers['x-request-id'] = id;
  }
  if (cfg.via !== '') {
    const via = headers.via;
    headers.via = via === undefined ? cfg.via : `${Array.isArray(via) ? via.join(', ') : via}, ${cfg.via}`;
  }
  return external;
}

/** The x-request-id value as one string ('' when absent). */
export function requestIdOf(headers: OutgoingHttpHeaders): string {
  const id = headers['x-request-id'];
  return id === undefined ? '' : Array.isArray(id) ? id[0] : String(id);
}
