import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { logicalDnsClusterFactory } from '../../proxy/extensions/clusters/logical_dns/factory.js';
import { staticClusterFactory } from '../../proxy/extensions/clusters/static/factory.js';
import { strictDnsClusterFactory } from '../../proxy/extensions/clusters/strict_dns/factory.js';
import { roundRobinFactory } from '../../proxy/extensions/load-balancing-policies/round_robin/factory.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import type { ClusterDiscoveryFactory } from '../../proxy/upstream/discovery.js';
import type { LbPolicyFactory } from '../../proxy/upstream/load-balancer.js';
import { translateCluster } from '../../proxy/xds/cluster.js';
import { TestDnsServer } from './dns-server.js';
import { head, Recorder, until } from './helpers.js';

const lbPolicies = new Map<string, LbPolicyFactory>([['ROUND_ROBIN', roundRobinFactory as LbPolicyFactory]]);
const discoveries = new Map<string, ClusterDiscoveryFactory>([
  ['STATIC', staticClusterFactory],
  ['STRICT_DNS', strictDnsClusterFactory],
  ['LOGICAL_DNS', logicalDnsClusterFactory],
]);

let dns: TestDnsServer;
let dnsPort = 0;
let servers: Server[] = [];
let manager: ClusterManager | null = null;
let port = 0;
/** Held responses per server address. */
const held = new Map<string, ServerResponse[]>();

function handler(req: IncomingMessage, res: ServerResponse): void {
  const addr = req.socket.localAddress ?? '';
  if (req.url === '/hold') {
    const list = held.get(addr) ?? [];
    list.push(res);
    held.set(addr, list);
    return;
  }
  res.end(addr);
}

/** Two HTTP servers on the same port at 127.0.0.2 and 127.0.0.3 (all of 127/8 is loopback). */
async function startServers(): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const a = createServer(handler);
    await new Promise<void>((r) => a.listen(0, '127.0.0.2', r));
    const p = (a.address() as { port: number }).port;
    const b = createServer(handler);
    const ok = await new Promise<boolean>((r) => {
      b.once('error', () => r(false));
      b.listen(p, '127.0.0.3', () => r(true));
    });
    if (ok) {
      servers = [a, b];
      port = p;
      return;
    }
    await new Promise<void>((r) => a.close(() => r()));
  }
  throw new Error('could not bind the same port on 127.0.0.2 and 127.0.0.3');
}

function model(type: 'STRICT_DNS' | 'LOGICAL_DNS', extra: ProtoObject = {}) {
  const issues = new Issues();
  const m = translateCluster(
    {
      name: 'dns',
      type,
      dns_refresh_rate: 30,
      dns_lookup_family: 'V4_ONLY',
      dns_resolvers: [{ socket_address: { address: '127.0.0.1', port_value: dnsPort } }],
      load_assignment: {
        cluster_name: 'dns',
        endpoints: [
          {
            lb_endpoints: [
              { endpoint: { address: { socket_address: { address: 'svc.test', port_value: port } } } },
            ],
          },
        ],
      },
      ...extra,
    },
    'c',
    issues,
    { lbPolicies },
  );
  expect(issues.format()).toBe('');
  return m!;
}

function hostKeys(m: ClusterManager): string[] {
  return m
    .get('dns')!
    .allHosts()
    .map((h) => h.key)
    .sort();
}

async function request(m: ClusterManager, path = '/'): Promise<{ rec: Recorder; host: string }> {
  const c = m.get('dns')!;
  const h = c.chooseHost(null)!;
  const rec = new Recorder();
  c.poolFor(h).newStream(head({ path }), rec);
  return { rec, host: h.key };
}

beforeEach(async () => {
  dns = new TestDnsServer();
  dnsPort = await dns.start();
  await startServers();
});

afterEach(async () => {
  manager?.shutdown();
  manager = null;
  for (const list of held.values()) for (const r of list) r.destroy();
  held.clear();
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  servers = [];
  await dns.stop();
});

describe('STRICT_DNS cluster', () => {
  it('follows DNS answers, adding and removing hosts without cutting a request in flight', async () => {
    dns.records.set('svc.test', ['127.0.0.2']);
    manager = new ClusterManager({ stats: new StatsStore(), discoveries });
    manager.addOrUpdate(model('STRICT_DNS'));
    await manager.initialized();
    expect(hostKeys(manager)).toEqual([`127.0.0.2:${port}`]);
    const cluster = manager.get('dns')!;
    expect(cluster.allHosts()[0].hostname).toBe('svc.test');

    // A request in flight on 127.0.0.2 while DNS moves the service to 127.0.0.3.
    const inflight = await request(manager, '/hold');
    await until(() => (held.get('127.0.0.2') ?? []).length === 1, 'request to reach the old host');
    dns.records.set('svc.test', ['127.0.0.3']);
    await until(() => hostKeys(manager!).join() === `127.0.0.3:${port}`, 'DNS change to replace the host');
    expect(cluster.stats.membership_total.value).toBe(1);

    held.get('127.0.0.2')![0].end('finished on the old host');
    await inflight.rec.done;
    expect(inflight.rec.body).toBe('finished on the old host');
    expect(inflight.rec.error).toBeNull();

    const next = await request(manager);
    await next.rec.done;
    expect(next.rec.body).toBe('127.0.0.3');
    // The old host's pool drained: its connection closes once the held request completed.
    await until(() => cluster.stats.upstream_cx_active.value === 1, 'old connection closed');

    dns.records.set('svc.test', ['127.0.0.2', '127.0.0.3']);
    await until(() => hostKeys(manager!).length === 2, 'second address added');
    expect(cluster.stats.membership_healthy.value).toBe(2);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = await request(manager);
      await r.rec.done;
      seen.add(r.rec.body);
    }
    expect([...seen].sort()).toEqual(['127.0.0.2', '127.0.0.3']);
    expect(cluster.stats.update_success.value).toBeGreaterThan(2);
  });

  it('keeps the last hosts when resolution fails', async () => {
    dns.records.set('svc.test', ['127.0.0.2']);
    manager = new ClusterManager({ stats: new StatsStore(), discoveries });
    manager.addOrUpdate(model('STRICT_DNS'));
    await manager.initialized();
    const c = manager.get('dns')!;
    dns.failing = true;
    const failures = c.stats.update_failure.value;
    await until(() => c.stats.update_failure.value > failures + 1, 'failed refreshes');
    expect(hostKeys(manager)).toEqual([`127.0.0.2:${port}`]);
  });

  it('finishes warm-up with no hosts when the first resolution fails, then fills in', async () => {
    dns.failing = true;
    dns.records.set('svc.test', ['127.0.0.2']);
    manager = new ClusterManager({ stats: new StatsStore(), discoveries });
    manager.addOrUpdate(model('STRICT_DNS'));
    await manager.initialized();
    const c = manager.get('dns')!;
    expect(c.allHosts()).toEqual([]);
    expect(c.chooseHost(null)).toBeNull();
    dns.failing = false;
    await until(() => hostKeys(manager!).length === 1, 'hosts after DNS recovers');
  });

  it('re-resolves after the answer TTL with respect_dns_ttl', async () => {
    dns.ttl = 1;
    dns.records.set('svc.test', ['127.0.0.2']);
    manager = new ClusterManager({ stats: new StatsStore(), discoveries });
    manager.addOrUpdate(model('STRICT_DNS', { respect_dns_ttl: true, dns_refresh_rate: 600_000 }));
    await manager.initialized();
    const q = dns.queries;
    dns.records.set('svc.test', ['127.0.0.3']);
    // With a 10 minute refresh rate only the 1 s TTL can bring the change in.
    await until(() => hostKeys(manager!).join() === `127.0.0.3:${port}`, 'TTL-driven refresh', 3000);
    expect(dns.queries).toBeGreaterThan(q);
  });

  it('resolves through AAAA then A with the default AUTO family', async () => {
    dns.records.set('svc.test', ['127.0.0.3']);
    manager = new ClusterManager({ stats: new StatsStore(), discoveries });
    manager.addOrUpdate(model('STRICT_DNS', { dns_lookup_family: 'AUTO' }));
    await manager.initialized();
    expect(hostKeys(manager)).toEqual([`127.0.0.3:${port}`]);
  });

  it('uses the system resolver when no dns_resolvers are given (localhost via /etc/hosts)', async () => {
    manager = new ClusterManager({ stats: new StatsStore(), discoveries });
    const issues = new Issues();
    const m = translateCluster(
      {
        name: 'dns',
        type: 'STRICT_DNS',
        dns_lookup_family: 'V4_ONLY',
        load_assignment: {
          endpoints: [
            {
              lb_endpoints: [
                { endpoint: { address: { socket_address: { address: 'localhost', port_value: 9 } } } },
              ],
            },
          ],
        },
      },
      'c',
      issues,
      { lbPolicies },
    );
    manager.addOrUpdate(m!);
    await manager.initialized();
    expect(hostKeys(manager)).toEqual(['127.0.0.1:9']);
  });
});

describe('LOGICAL_DNS cluster', () => {
  it('uses only the first address of the answer', async () => {
    dns.records.set('svc.test', ['127.0.0.3', '127.0.0.2']);
    manager = new ClusterManager({ stats: new StatsStore(), discoveries });
    manager.addOrUpdate(model('LOGICAL_DNS'));
    await manager.initialized();
    expect(hostKeys(manager)).toEqual([`127.0.0.3:${port}`]);
    const r = await request(manager);
    await r.rec.done;
    expect(r.rec.body).toBe('127.0.0.3');
    dns.records.set('svc.test', ['127.0.0.2', '127.0.0.3']);
    await until(() => hostKeys(manager!).join() === `127.0.0.2:${port}`, 'new first address');
  });
});
