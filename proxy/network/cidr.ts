import { isIPv4 } from 'node:net';
import type { CidrRange } from '../model/listener.js';

/** Parses an IP to its bytes (IPv4 as 4 bytes; IPv4-mapped IPv6 folded to IPv4), or null. */
export function ipBytes(ip: string): Uint8Array | null {
  const v4 = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  if (isIPv4(v4)) return Uint8Array.from(v4.split('.').map(Number));
  if (!ip.includes(':')) return null;
  const [headRaw, tailRaw] = ip.split('::');
  const head = headRaw === '' ? [] : headRaw.split(':');
  const tail = tailRaw === undefined || tailRaw === '' ? [] : tailRaw.split(':');
  const groups =
    tailRaw === undefined ? head : [...head, ...new Array(8 - head.length - tail.length).fill('0'), ...tail];
  if (groups.length !== 8) return null;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const n = Number.parseInt(groups[i], 16);
    if (Number.isNaN(n) || n < 0 || n > 0xffff) return null;
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  }
  return out;
}

/** Does `ip` fall inside `range`? */
export function cidrContains(range: CidrRange, ip: Uint8Array): boolean {
  const net = ipBytes(range.address);
  if (net === null || net.length !== ip.length) return false;
  let bits = range.prefixLen;
  for (let i = 0; i < net.length && bits > 0; i++) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((net[i] & mask) !== (ip[i] & mask)) return false;
    bits -= 8;
  }
  return true;
}
