import type { ClusterModel, EndpointModel, LocalityEndpointsModel } from '../model/cluster.js';
import type { DiscoveredHost, DiscoverySink, HostDiscovery } from './discovery.js';
import { edsHealthFlags } from './discovery.js';
import { DnsResolver } from './dns.js';

/**
 * DNS-based discovery, shared by STRICT_DNS (every address of every endpoint's name is a host) and
 * LOGICAL_DNS (one host: the first address of the single endpoint, for new connections). Each
 * name is re-resolved every dns_refresh_rate (or after the answer's TTL with respect_dns_ttl). A
 * failed resolution keeps the previous addresses. The sink gets the whole host list after every
 * answer; the cluster keeps hosts whose address stayed, so requests in flight are not touched.
 */
class Target {
  addresses: readonly string[] = [];
  resolved = false;
  timer: NodeJS.Timeout | null = null;
  constructor(
    readonly locality: LocalityEndpointsModel,
    readonly endpoint: EndpointModel,
  ) {}
}

export class DnsDiscovery implements HostDiscovery {
  private readonly targets: Target[] = [];
  private readonly resolver: DnsResolver;
  private sink: DiscoverySink | null = null;
  private stopped = false;
  private pending: number;

  constructor(
    private readonly model: ClusterModel,
    private readonly logical: boolean,
  ) {
    this.resolver = new DnsResolver(model.dnsResolvers);
    for (const l of model.loadAssignment.localities) {
      for (const e of l.endpoints) this.targets.push(new Target(l, e));
    }
    this.pending = this.targets.length;
  }

  start(sink: DiscoverySink): void {
    this.sink = sink;
    if (this.targets.length === 0) sink.setHosts([]);
    for (const t of this.targets) void this.resolve(t);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.targets) {
      if (t.timer !== null) clearTimeout(t.timer);
      t.timer = null;
    }
  }

  private async resolve(t: Target): Promise<void> {
    let ttlSec = 0;
    let ok = true;
    try {
      const answer = await this.resolver.resolve(t.endpoint.address, this.model.dnsLookupFamily);
      ttlSec = answer.ttlSec;
      if (!this.stopped) t.addresses = answer.addresses;
    } catch {
      ok = false;
    }
    if (this.stopped || this.sink === null) return;
    const first = !t.resolved;
    t.resolved = true;
    if (first) this.pending--;
    this.sink.updateResult(ok);
    // Until every name has had its first answer, publishing would flap membership; after that,
    // every answer publishes (the cluster ignores a list equal to the current one).
    if (this.pending === 0) this.sink.setHosts(this.hosts());
    const m = this.model;
    const delay = m.respectDnsTtl && ok && ttlSec > 0 ? ttlSec * 1000 : m.dnsRefreshRateMs;
    t.timer = setTimeout(resolveLater, delay, this, t);
    t.timer.unref();
  }

  /** Called from the refresh timer. */
  refresh(t: Target): void {
    t.timer = null;
    if (!this.stopped) void this.resolve(t);
  }

  private hosts(): DiscoveredHost[] {
    const out: DiscoveredHost[] = [];
    for (const t of this.targets) {
      const list = this.logical ? t.addresses.slice(0, 1) : t.addresses;
      for (const address of list) {
        out.push({
          init: {
            address,
            port: t.endpoint.port,
            hostname: t.endpoint.hostname !== '' ? t.endpoint.hostname : t.endpoint.address,
            weight: t.endpoint.weight,
            locality: t.locality.locality,
            priority: t.locality.priority,
            healthCheckPort: t.endpoint.healthCheckPort ?? 0,
          },
          edsHealthFlags: edsHealthFlags(t.endpoint.healthStatus),
        });
      }
    }
    return out;
  }
}

function resolveLater(d: DnsDiscovery, t: Target): void {
  d.refresh(t);
}
