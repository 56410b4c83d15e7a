/**
 * The cluster manager's load-reporting wiring (no sockets needed): with a LoadStatsStore every
 * host carries its locality's counters, hosts rebuilt by EDS or a CDS update count into the same
 * counters, a removed cluster leaves the store; without a store nothing is attached.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { buildRegistries } from '../../proxy/extensions.js';
import type { ClusterModel } from '../../proxy/model/cluster.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { LoadStatsStore } from '../../proxy/upstream/load-stats.js';
import { translateCluster } from '../../proxy/xds/cluster.js';
import { translateLoadAssignment } from '../../proxy/xds/cluster-load-assignment.js';

const managers: ClusterManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.shutdown();
});

function model(extra: ProtoObject = {}): ClusterModel {
  const issues = new Issues();
  const m = translateCluster(
    {
      name: 'backend',
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {} }, service_name: 'backend-eds' },
      ...extra,
    },
    'c',
    issues,
    { lbPolicies: buildRegistries().lbPoliciesByEnum },
  );
  if (m === null) throw new Error(issues.format());
  return m;
}

function assignment(zones: Record<string, number[]>) {
  const issues = new Issues();
  const a = translateLoadAssignment(
    {
      cluster_name: 'backend-eds',
      endpoints: Object.entries(zones).map(([zone, ports]) => ({
        locality: { region: 'r1', zone },
        lb_endpoints: ports.map((p) => ({
          endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } },
        })),
      })),
    },
    'a',
    issues,
    'ip',
  );
  if (!issues.ok) throw new Error(issues.format());
  return a;
}

function manager(loadStats: LoadStatsStore | null): ClusterManager {
  const m = new ClusterManager({ stats: new StatsStore(), discoveries: new Map(), loadStats });
  managers.push(m);
  return m;
}

describe('ClusterManager with a LoadStatsStore', () => {
  it('gives each host its locality counters and keeps them across EDS and CDS updates', () => {
    const store = new LoadStatsStore();
    const cm = manager(store);
    cm.addOrUpdate(model());
    cm.get('backend')!.updateEndpoints(assignment({ A: [1001, 1002], B: [1003] }));
    const hosts = cm.get('backend')!.allHosts();
    const a = hosts.filter((h) => h.locality.zone === 'A');
    const b = hosts.find((h) => h.locality.zone === 'B')!;
    expect(a[0].load).not.toBeNull();
    expect(a[0].load).toBe(a[1].load);
    expect(b.load).not.toBe(a[0].load);
    expect(store.get('backend')?.serviceName).toBe('backend-eds');

    // A request in flight across an EDS update and a CDS update ends on the counters it began on.
    a[0].load!.begin();
    cm.get('backend')!.updateEndpoints(assignment({ A: [1004], B: [1003] }));
    cm.addOrUpdate(model({ connect_timeout: 2000 }));
    cm.get('backend')!.updateEndpoints(assignment({ A: [1004], B: [1003] }));
    const fresh = cm
      .get('backend')!
      .allHosts()
      .find((h) => h.locality.zone === 'A')!;
    expect(fresh.port).toBe(1004);
    expect(fresh.load).toBe(a[0].load);
    fresh.load!.end(false);
    const snap = store.snapshot('backend', { endpoints: false })!;
    const zoneA = snap.localities.find((l) => l.locality.zone === 'A')!;
    expect(zoneA).toMatchObject({ issued: 1, success: 0, error: 1, inProgress: 0 });

    expect(cm.remove('backend')).toBe(true);
    expect([...store.clusterNames()]).toEqual([]);
  });

  it('without a store, hosts carry no counters', () => {
    const cm = manager(null);
    cm.addOrUpdate(model());
    cm.get('backend')!.updateEndpoints(assignment({ A: [1001] }));
    expect(cm.get('backend')!.allHosts()[0].load).toBeNull();
  });
});
