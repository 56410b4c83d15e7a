import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { DnsLookupFamily, SocketAddressModel } from '../model/cluster.js';

/**
 * Name resolution for STRICT_DNS and LOGICAL_DNS clusters. With dns_resolvers, queries go to those
 * servers through node:dns's Resolver (c-ares), with TTLs; without, through the system resolver
 * (getaddrinfo, so /etc/hosts and `localhost` work as operators expect), which reports no TTL.
 * Lookup families follow Envoy: AUTO and V6_ONLY want AAAA (AUTO falls back to A), V4_PREFERRED
 * the reverse, ALL both.
 */
export interface DnsAnswer {
  readonly addresses: readonly string[];
  /** Smallest TTL of the answer in seconds; 0 when unknown. */
  readonly ttlSec: number;
}

interface Record {
  address: string;
  ttl: number;
}

export class DnsResolver {
  private readonly resolver: dns.Resolver | null;

  constructor(servers: readonly SocketAddressModel[], timeoutMs = 5000) {
    if (servers.length === 0) {
      this.resolver = null;
      return;
    }
    this.resolver = new dns.Resolver({ timeout: timeoutMs, tries: 2 });
    this.resolver.setServers(
      servers.map((s) => (isIP(s.address) === 6 ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`)),
    );
  }

  async resolve(name: string, family: DnsLookupFamily): Promise<DnsAnswer> {
    if (isIP(name) !== 0) return { addresses: [name], ttlSec: 0 };
    if (this.resolver === null) return this.lookup(name, family);
    const r = this.resolver;
    const v4 = () => r.resolve4(name, { ttl: true }) as Promise<Record[]>;
    const v6 = () => r.resolve6(name, { ttl: true }) as Promise<Record[]>;
    let records: Record[];
    switch (family) {
      case 'V4_ONLY':
        records = await v4();
        break;
      case 'V6_ONLY':
        records = await v6();
        break;
      case 'V4_PREFERRED':
        records = await firstNonEmpty(v4, v6);
        break;
      case 'ALL': {
        const [a, b] = await Promise.allSettled([v4(), v6()]);
        records = [
          ...(a.status === 'fulfilled' ? a.value : []),
          ...(b.status === 'fulfilled' ? b.value : []),
        ];
        if (records.length === 0 && a.status === 'rejected') throw a.reason;
        break;
      }
      default:
        records = await firstNonEmpty(v6, v4);
    }
    let ttl = Number.POSITIVE_INFINITY;
    for (const rec of records) ttl = Math.min(ttl, rec.ttl);
    return { addresses: records.map((rec) => rec.address), ttlSec: records.length === 0 ? 0 : ttl };
  }

  private async lookup(name: string, family: DnsLookupFamily): Promise<DnsAnswer> {
    const fam = family === 'V4_ONLY' ? 4 : family === 'V6_ONLY' ? 6 : 0;
    const all = await dns.lookup(name, { all: true, family: fam });
    const v4 = all.filter((a) => a.family === 4).map((a) => a.address);
    const v6 = all.filter((a) => a.family === 6).map((a) => a.address);
    let addresses: string[];
    if (family === 'ALL') addresses = [...v4, ...v6];
    else if (family === 'V4_PREFERRED' || family === 'V4_ONLY') addresses = v4.length > 0 ? v4 : v6;
    else addresses = v6.length > 0 ? v6 : v4;
    return { addresses, ttlSec: 0 };
  }
}

/** Tries `first`; when it fails or answers nothing, `second`. */
async function firstNonEmpty(
  first: () => Promise<Record[]>,
  second: () => Promise<Record[]>,
): Promise<Record[]> {
  try {
    const a = await first();
    if (a.length > 0) return a;
  } catch {
    // fall through to the other family
  }
  return second();
}
