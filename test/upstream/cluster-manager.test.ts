import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createH2Server, type Http2Server } from 'node:http2';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { staticClusterFactory } from '../../proxy/extensions/clusters/static/factory.js';
import { roundRobinFactory } from '../../proxy/extensions/load-balancing-policies/round_robin/factory.js';
import type { ClusterModel } from '../../proxy/model/cluster.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import type { ClusterDiscoveryFactory } from '../../proxy/upstream/discovery.js';
import { HealthFlag } from '../../proxy/upstream/host.js';
import { Http2Pool } from '../../proxy/upstream/http2-pool.js';
import type { LbPolicyFactory } from '../../proxy/upstream/load-balancer.js';
import type { ManagedCluster } from '../../proxy/upstream/managed-cluster.js';
import { translateCluster } from '../../proxy/xds/cluster.js';
import { head, portOf, Recorder, until } from './helpers.js';

const lbPolicies = new Map<string, LbPolicyFactory>([['ROUND_ROBIN', roundRobinFactory as LbPolicyFactory]]);
const discoveries = new Map<string, ClusterDiscoveryFactory>([['STATIC', staticClusterFactory]]);

let servers: Array<Server | Http2Server> = [];
const sockets: Socket[] = [];
let manager: ClusterManager | null = null;
const held: ServerResponse[] = [];

async function httpServer(name: string): Promise<number> {
  const s = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/hold') held.push(res);
    else res.end(name);
  });
  s.on('connection', (c) => sockets.push(c));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return portOf(s);
}

function cluster(name: string, endpoints: Array<[number, number]>, extra: ProtoObject = {}): ClusterModel {
  const issues = new Issues();
  const m = translateCluster(
    {
      name,
      load_assignment: {
        cluster_name: name,
        endpoints: [
          {
            lb_endpoints: endpoints.map(([port, weight]) => ({
              endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
              load_balancing_weight: weight,
            })),
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

async function send(c: ManagedCluster, path = '/'): Promise<Recorder> {
  const h = c.chooseHost(null);
  if (h === null) throw new Error('no host');
  const r = new Recorder();
  c.poolFor(h).newStream(head({ path }), r);
  await r.done;
  return r;
}

afterEach(async () => {
  manager?.shutdown();
  manager = null;
  for (const r of held.splice(0)) r.destroy();
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  servers = [];
});

describe('cluster manager', () => {
  it('balances real requests 3:1 by endpoint weight, interleaved', async () => {
    const a = await httpServer('a');
    const b = await httpServer('b');
    manager = new ClusterManager({ stats: new StatsStore(), discoveries });
    expect(
      manager.addOrUpdate(
        cluster('web', [
          [a, 3],
          [b, 1],
        ]),
      ),
    ).toBe('added');
    const c = manager.get('web')!;
    const bodies: string[] = [];
    for (let i = 0; i < 16; i++) bodies.push((await send(c)).body);
    for (let w = 0; w < 4; w++) {
      const win = bodies.slice(w * 4, w * 4 + 4);
      expect(win.filter((x) => x === 'a').length).toBe(3);
    }
    expect(c.stats.membership_total.value).toBe(2);
    expect(c.stats.membership_healthy.value).toBe(2);
    // One keep-alive connection per host.
    expect(c.stats.upstream_cx_total.value).toBe(2);
    expect(c.allHosts().map((h) => h.cxTotal)).toEqual([1, 1]);
  });

  it('keeps an unchanged cluster with its pools; replaces a changed one and drains the old', async () => {
    const a = await httpServer('a');
    const stats = new StatsStore();
    manager = new ClusterManager({ stats, discoveries });
    manager.addOrUpdate(cluster('web', [[a, 1]]));
    const first = manager.get('web')!;
    await send(first);
    expect(manager.addOrUpdate(cluster('web', [[a, 1]]))).toBe('unchanged');
    expect(manager.get('web')).toBe(first);
    await send(first);
    expect(first.stats.upstream_cx_total.value).toBe(1);

    // A request in flight on the old cluster survives the update.
    const h = first.chooseHost(null)!;
    const inflight = new Recorder();
    first.poolFor(h).newStream(head({ path: '/hold' }), inflight);
    await until(() => held.length === 1, 'held request');

    expect(manager.addOrUpdate(cluster('web', [[a, 1]], { connect_timeout: 1234 }))).toBe('updated');
    const second = manager.get('web')!;
    expect(second).not.toBe(first);
    expect(second.connectTimeoutMs).toBe(1234);
    // The old cluster's idle connection is closed by the drain; the busy one stays until done.
    await until(
      () => first.stats.upstream_cx_active.value === 1,
      'idle connection of the old cluster closed',
    );
    held[0].end('done late');
    await inflight.done;
    expect(inflight.body).toBe('done late');
    await until(() => first.stats.upstream_cx_active.value === 0, 'old cluster fully drained');
    expect((await send(second)).body).toBe('a');

    expect(manager.remove('web')).toBe(true);
    expect(manager.get('web')).toBeUndefined();
    expect(manager.remove('web')).toBe(false);
  });

  it('setClusters adds, keeps and removes by name', async () => {
    const a = await httpServer('a');
    manager = new ClusterManager({ stats: new StatsStore(), discoveries });
    manager.setClusters([cluster('x', [[a, 1]]), cluster('y', [[a, 1]])]);
    const x = manager.get('x');
    manager.setClusters([cluster('x', [[a, 1]]), cluster('z', [[a, 1]])]);
    expect(manager.names().sort()).toEqual(['x', 'z']);
    expect(manager.get('x')).toBe(x);
  });

  it('sends traffic only to healthy hosts, and to all of them in panic', async () => {
    const ports = [await httpServer('a'), await httpServer('b'), await httpServer('c')];
    manager = new ClusterManager({ stats: new StatsStore(), discoveries });
    manager.addOrUpdate(
      cluster(
        'web',
        ports.map((p) => [p, 1]),
      ),
    );
    const c = manager.get('web')!;
    const [ha, hb] = c.allHosts();
    ha.healthFlags |= HealthFlag.FailedActiveHc;
    c.refreshHealth();
    expect(c.stats.membership_healthy.value).toBe(2);
    const picked = new Set<string>();
    for (let i = 0; i < 6; i++) picked.add(c.chooseHost(null)!.key);
    expect(picked.has(ha.key)).toBe(false);
    expect(picked.size).toBe(2);

    hb.healthFlags |= HealthFlag.FailedOutlierCheck;
    c.refreshHealth();
    const panicPicks = new Set<string>();
    for (let i = 0; i < 6; i++) panicPicks.add(c.chooseHost(null)!.key);
    expect(panicPicks.size).toBe(3);
    expect(c.stats.lb_healthy_panic.value).toBe(6);
  });

  it('an EDS cluster has no hosts until endpoints are pushed', async () => {
    const a = await httpServer('a');
    manager = new ClusterManager({ stats: new StatsStore(), discoveries });
    const issues = new Issues();
    const m = translateCluster({ name: 'eds', type: 'EDS', eds_cluster_config: {} }, 'c', issues, {
      lbPolicies,
    })!;
    manager.addOrUpdate(m);
    await manager.initialized();
    const c = manager.get('eds')!;
    expect(c.chooseHost(null)).toBeNull();
    c.updateEndpoints({
      clusterName: 'eds',
      overprovisioningFactor: 140,
      localities: [
        {
          locality: { region: '', zone: '', subZone: '' },
          weight: 0,
          priority: 0,
          endpoints: [
            { address: '127.0.0.1', port: a, hostname: '', healthStatus: 'HEALTHY', weight: 1 },
            { address: '127.0.0.1', port: 1, hostname: '', healthStatus: 'DRAINING', weight: 1 },
          ],
        },
      ],
    });
    expect(c.stats.membership_total.value).toBe(2);
    expect(c.stats.membership_healthy.value).toBe(1);
    for (let i = 0; i < 3; i++) expect((await send(c)).body).toBe('a');
  });

  it('uses an HTTP/2 pool when the cluster says so', async () => {
    const h2 = createH2Server();
    h2.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      stream.end('over h2');
    });
    h2.on('session', (s) => sockets.push(s.socket as Socket));
    servers.push(h2);
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
    manager = new ClusterManager({ stats: new StatsStore(), discoveries });
    manager.addOrUpdate(cluster('grpc', [[portOf(h2), 1]], { http2_protocol_options: {} }));
    const c = manager.get('grpc')!;
    expect(c.protocol).toBe('http2');
    expect(c.poolFor(c.chooseHost(null)!)).toBeInstanceOf(Http2Pool);
    expect((await send(c)).body).toBe('over h2');
    expect(c.stats.upstream_cx_http2_total.value).toBe(1);
  });

  it('validate reports unsupported types and duplicate names', () => {
    manager = new ClusterManager({ stats: new StatsStore(), discoveries });
    const issues = new Issues();
    const m = cluster('dup', [[1, 1]]);
    manager.validate([m, m, { ...m, name: 'd', type: 'STRICT_DNS' }], 'static_resources.clusters', issues);
    expect(issues.format()).toContain('static_resources.clusters[1].name: duplicate cluster name dup');
    expect(issues.format()).toContain(
      'static_resources.clusters[2].type: cluster type STRICT_DNS is not supported',
    );
  });
});
