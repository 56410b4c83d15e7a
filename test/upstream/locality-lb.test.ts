/**
 * Locality-weighted balancing and the override host inside a real ManagedCluster (EDS-fed, no
 * sockets needed for picks): weights, availability scaling, weight-only updates, pinned hosts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { buildRegistries } from '../../proxy/extensions.js';
import type { LoadAssignmentModel } from '../../proxy/model/cluster.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import type { Host } from '../../proxy/upstream/host.js';
import { ManagedCluster } from '../../proxy/upstream/managed-cluster.js';
import { translateCluster } from '../../proxy/xds/cluster.js';
import { translateLoadAssignment } from '../../proxy/xds/cluster-load-assignment.js';

const clusters: ManagedCluster[] = [];
afterEach(() => {
  for (const c of clusters.splice(0)) c.destroy();
});

function cluster(extra: ProtoObject): ManagedCluster {
  const issues = new Issues();
  const model = translateCluster(
    { name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, ...extra },
    'c',
    issues,
    { lbPolicies: buildRegistries().lbPoliciesByEnum },
  );
  if (model === null) throw new Error(issues.format());
  const c = new ManagedCluster(model, new StatsStore(), null);
  clusters.push(c);
  return c;
}

interface Loc {
  zone: string;
  weight?: number;
  ports: number[];
  unhealthy?: number[];
}

function assignment(locs: Loc[]): LoadAssignmentModel {
  const issues = new Issues();
  const la = translateLoadAssignment(
    {
      cluster_name: 'c',
      endpoints: locs.map((l) => ({
        locality: { zone: l.zone },
        ...(l.weight === undefined ? {} : { load_balancing_weight: l.weight }),
        lb_endpoints: l.ports.map((p) => ({
          endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } },
          ...(l.unhealthy?.includes(p) ? { health_status: 'UNHEALTHY' } : {}),
        })),
      })),
    },
    'la',
    issues,
    'ip',
  );
  if (issues.errorCount > 0) throw new Error(issues.format());
  return la;
}

function picks(c: ManagedCluster, n: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const h = c.chooseHost(null);
    const k = h === null ? 'none' : h.locality.zone;
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

const LOCALITY_RR = { lb_policy: 'ROUND_ROBIN', common_lb_config: { locality_weighted_lb_config: {} } };

describe('locality-weighted balancing in a cluster', () => {
  it('90/5/5 exactly per cycle, and a weight-only EDS update changes the split', () => {
    const c = cluster(LOCALITY_RR);
    c.updateEndpoints(
      assignment([
        { zone: 'C', weight: 90, ports: [1001] },
        { zone: 'A', weight: 5, ports: [1002] },
        { zone: 'B', weight: 5, ports: [1003] },
      ]),
    );
    expect(picks(c, 200)).toEqual(
      new Map([
        ['C', 180],
        ['A', 10],
        ['B', 10],
      ]),
    );
    c.updateEndpoints(
      assignment([
        { zone: 'C', weight: 1, ports: [1001] },
        { zone: 'A', weight: 1, ports: [1002] },
        { zone: 'B', weight: 2, ports: [1003] },
      ]),
    );
    const after = picks(c, 400);
    expect([after.get('C'), after.get('A'), after.get('B')]).toEqual([100, 100, 200]);
  });

  it('scales a locality by its availability (overprovisioning 1.4 × healthy share, capped at 1)', () => {
    const c = cluster(LOCALITY_RR);
    c.updateEndpoints(
      assignment([
        { zone: 'A', weight: 50, ports: [1001, 1002], unhealthy: [1002] },
        { zone: 'B', weight: 50, ports: [1003, 1004] },
      ]),
    );
    // A: 50 × min(1, 1.4 × 1/2) = 35; B: 50 → 35:50 = 7:10, a cycle of 17.
    const got = picks(c, 170);
    expect([got.get('A'), got.get('B')]).toEqual([70, 100]);
  });

  it('localities without a weight get no traffic; none weighted → no host', () => {
    const c = cluster(LOCALITY_RR);
    c.updateEndpoints(
      assignment([
        { zone: 'A', weight: 1, ports: [1001] },
        { zone: 'Z', ports: [1002] },
      ]),
    );
    expect(picks(c, 10)).toEqual(new Map([['A', 10]]));
    c.updateEndpoints(assignment([{ zone: 'Z', ports: [1002] }]));
    expect(c.chooseHost(null)).toBeNull();
  });

  it('healthy_panic_threshold 0 disables panic: with most hosts down only healthy ones are picked', () => {
    const c = cluster({
      lb_policy: 'ROUND_ROBIN',
      common_lb_config: { healthy_panic_threshold: { value: 0 } },
    });
    c.updateEndpoints(assignment([{ zone: 'A', ports: [1001, 1002, 1003], unhealthy: [1002, 1003] }]));
    for (let i = 0; i < 6; i++) expect(c.chooseHost(null)?.port).toBe(1001);
    const d = cluster({ lb_policy: 'ROUND_ROBIN' });
    d.updateEndpoints(assignment([{ zone: 'A', ports: [1001, 1002, 1003], unhealthy: [1002, 1003] }]));
    // Default 50%: one of three healthy is panic, every host is eligible.
    const ports = new Set<number>();
    for (let i = 0; i < 6; i++) ports.add(d.chooseHost(null)?.port ?? 0);
    expect(ports.size).toBe(3);
  });
});

describe('override host (stateful session)', () => {
  function ctx(overrideHost: string | null) {
    return { hashKey: undefined, previousHosts: null, downstreamAddress: '127.0.0.1:1', overrideHost };
  }

  it('returns the pinned host while it is a healthy member, else balances', () => {
    const c = cluster({ lb_policy: 'ROUND_ROBIN' });
    c.updateEndpoints(assignment([{ zone: 'A', ports: [1001, 1002, 1003] }]));
    for (let i = 0; i < 5; i++) expect(c.chooseHost(ctx('127.0.0.1:1002'))?.port).toBe(1002);
    const seen = new Set<number>();
    for (let i = 0; i < 6; i++) seen.add((c.chooseHost(ctx('127.0.0.1:9')) as Host).port);
    expect(seen.size).toBe(3);
    c.updateEndpoints(assignment([{ zone: 'A', ports: [1001, 1002, 1003], unhealthy: [1002] }]));
    for (let i = 0; i < 6; i++) expect(c.chooseHost(ctx('127.0.0.1:1002'))?.port).not.toBe(1002);
  });

  it('the common_lb_config fields are validated', () => {
    const issues = new Issues();
    translateCluster(
      {
        name: 'c',
        type: 'EDS',
        eds_cluster_config: { eds_config: { ads: {} } },
        common_lb_config: {
          healthy_panic_threshold: { value: -1 },
          locality_weighted_lb_config: { x: 1 },
        },
      },
      'c',
      issues,
      { lbPolicies: buildRegistries().lbPoliciesByEnum },
    );
    const text = issues.format();
    expect(text).toMatch(/c\.common_lb_config\.healthy_panic_threshold\.value: must be a percentage/);
    expect(text).toMatch(/c\.common_lb_config\.locality_weighted_lb_config\.x/);
  });
});

describe('locality weighting with hashing policies and typed policies', () => {
  function keyed(hashKey: number) {
    return { hashKey, previousHosts: null, downstreamAddress: '127.0.0.1:1' };
  }

  it('RING_HASH: a key keeps its host; keys spread over localities by weight and over hosts inside', () => {
    const c = cluster({ lb_policy: 'RING_HASH', common_lb_config: { locality_weighted_lb_config: {} } });
    c.updateEndpoints(
      assignment([
        { zone: 'A', weight: 60, ports: [1001, 1002] },
        { zone: 'B', weight: 30, ports: [1003, 1004] },
        { zone: 'C', weight: 10, ports: [1005, 1006] },
      ]),
    );
    const zones = new Map<string, number>();
    const ports = new Set<number>();
    let x = 12345;
    for (let i = 0; i < 3000; i++) {
      // A deterministic spread of 53-bit keys (LCG over 2^31, scaled up).
      x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
      const key = x * 4194304 + (i % 4194304);
      const h = c.chooseHost(keyed(key))!;
      expect(c.chooseHost(keyed(key))).toBe(h);
      zones.set(h.locality.zone, (zones.get(h.locality.zone) ?? 0) + 1);
      ports.add(h.port);
    }
    expect(ports.size).toBe(6);
    expect(Math.abs((zones.get('A') ?? 0) - 1800)).toBeLessThan(150);
    expect(Math.abs((zones.get('B') ?? 0) - 900)).toBeLessThan(120);
    expect(Math.abs((zones.get('C') ?? 0) - 300)).toBeLessThan(80);
  });

  it('typed RoundRobin with locality_lb_config.locality_weighted_lb_config weights localities', () => {
    const c = cluster({
      load_balancing_policy: {
        policies: [
          {
            typed_extension_config: {
              name: 'rr',
              typed_config: {
                '@type':
                  'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
                locality_lb_config: { locality_weighted_lb_config: {} },
              },
            },
          },
        ],
      },
    });
    c.updateEndpoints(
      assignment([
        { zone: 'A', weight: 3, ports: [1001] },
        { zone: 'B', weight: 1, ports: [1002] },
      ]),
    );
    const got = picks(c, 40);
    expect([got.get('A'), got.get('B')]).toEqual([30, 10]);
  });
});
