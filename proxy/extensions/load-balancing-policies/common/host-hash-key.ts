import type { Host } from '../../../upstream/host.js';

/**
 * The string a consistent-hashing policy hashes to place a host, as Envoy chooses it: the
 * endpoint's `envoy.lb` metadata `hash_key` when set (so a host keeps its place across address
 * changes), else its hostname when use_hostname_for_hashing is on (and the host has one), else its
 * address as `ip:port` (`[v6]:port`).
 *
 * Host.metadata is read as the endpoint's filter_metadata: `{ 'envoy.lb': { hash_key: '...' } }`.
 */
export function hostHashKey(host: Host, useHostname: boolean): string {
  const lb = host.metadata['envoy.lb'];
  if (typeof lb === 'object' && lb !== null) {
    const key = (lb as Record<string, unknown>).hash_key;
    if (typeof key === 'string' && key !== '') return key;
  }
  if (useHostname && host.hostname !== '') return host.hostname;
  return host.key;
}
