/** The global balancer loop: decisions from the aggregated load, applied only when they move. */
import { describe, expect, it } from 'vitest';
import type { ClusterStatsMessage } from '../../control-client/lrs.js';
import { GlobalBalancer, LoadStore } from '../../control-plane/lrs/index.js';
import { Waitable } from '../control-client/lrs-recorder.js';

const A = 'eu/a/';
const B = 'eu/b/';

function report(cluster: string, zones: Record<string, [number, number]>): ClusterStatsMessage[] {
  return [
    {
      cluster_name: cluster,
      cluster_service_name: '',
      upstream_locality_stats: Object.entries(zones).map(([zone, [success, error]]) => ({
        locality: { region: 'eu', zone, sub_zone: '' },
        total_successful_requests: success,
        total_error_requests: error,
        total_issued_requests: success + error,
        total_requests_in_progress: 0,
        load_metric_stats: [],
        upstream_endpoint_stats: [],
        priority: 0,
      })),
      total_dropped_requests: 0,
      dropped_requests: [],
      load_report_interval: { seconds: 1, nanos: 0 },
    },
  ];
}

function setup(now: { t: number }, smoothing?: number) {
  const store = new LoadStore(10_000, () => now.t);
  const applied: Array<[string, Record<string, number>]> = [];
  const configured = new Map([
    [
      'backend',
      new Map([
        [A, 1],
        [B, 1],
      ]),
    ],
  ]);
  const balancer = new GlobalBalancer({
    store,
    configured: () => configured,
    apply: (cluster, weights) => applied.push([cluster, Object.fromEntries(weights)]),
    weights: smoothing === undefined ? {} : { smoothing },
  });
  return { store, applied, balancer, configured };
}

describe('LoadStore in-progress levels', () => {
  it('restart from each report: a locality or cluster left out has nothing in flight', () => {
    const store = new LoadStore(10_000, () => 0);
    const withLevels = (cluster: string, zone: string, inProgress: number) => {
      const r = report(cluster, { [zone]: [1, 0] });
      r[0].upstream_locality_stats[0].total_requests_in_progress = inProgress;
      return r;
    };
    store.ingest('p1', [...withLevels('x', 'a', 4), ...withLevels('y', 'a', 2)]);
    expect(store.clusterWindow('x').get(A)?.inProgress).toBe(4);
    expect(store.clusterWindow('y').get(A)?.inProgress).toBe(2);
    // Next report: x's zone a went idle (left out), y is not in it at all, x has zone b busy.
    store.ingest('p1', withLevels('x', 'b', 3));
    expect(store.clusterWindow('x').get(A)?.inProgress).toBe(0);
    expect(store.clusterWindow('x').get(B)?.inProgress).toBe(3);
    expect(store.clusterWindow('y').get(A)?.inProgress).toBe(0);
    // Two priorities of one locality add up.
    store.ingest(
      'p1',
      [...withLevels('x', 'b', 3)].map((c) => ({
        ...c,
        upstream_locality_stats: [
          ...c.upstream_locality_stats,
          { ...c.upstream_locality_stats[0], priority: 1 },
        ],
      })),
    );
    expect(store.clusterWindow('x').get(B)?.inProgress).toBe(6);
  });
});

describe('LoadStore.prune', () => {
  it('forgets nodes disconnected for longer than the window, keeps connected and recent ones', () => {
    const now = { t: 0 };
    const store = new LoadStore(10_000, () => now.t);
    for (const id of ['old', 'recent', 'live']) {
      store.nodeConnected(id);
      store.ingest(id, report('backend', { a: [1, 0] }));
    }
    store.nodeDisconnected('old');
    now.t += 6_000;
    store.nodeDisconnected('recent');
    now.t += 6_000;
    expect(store.prune()).toEqual(['old']);
    expect(store.nodeIds().sort()).toEqual(['live', 'recent']);
    store.nodeConnected('recent'); // came back: kept however long ago it left
    now.t += 60_000;
    expect(store.prune()).toEqual([]);
  });
});

describe('GlobalBalancer', () => {
  it('applies the first decision, skips unchanged ones, and follows a failing zone and its recovery', () => {
    const now = { t: 0 };
    const { store, applied, balancer } = setup(now);
    expect(balancer.runOnce()).toEqual(['backend']);
    expect(applied).toEqual([['backend', { [A]: 500, [B]: 500 }]]);
    expect(balancer.runOnce()).toEqual([]); // nothing reported, nothing moved

    store.ingest('p1', report('backend', { a: [100, 0], b: [0, 100] }));
    expect(balancer.runOnce()).toEqual(['backend']);
    expect(applied[1]).toEqual(['backend', { [A]: 950, [B]: 50 }]);
    expect(balancer.current('backend')?.get(B)).toBe(50);

    // The failures leave the window; zone b recovers.
    now.t += 20_000;
    store.ingest('p1', report('backend', { a: [100, 0], b: [100, 0] }));
    expect(balancer.runOnce()).toEqual(['backend']);
    expect(applied[2]).toEqual(['backend', { [A]: 500, [B]: 500 }]);
  });

  it('does not apply a change smaller than minShareChange', () => {
    const now = { t: 0 };
    const { store, applied, balancer } = setup(now);
    balancer.runOnce();
    // 3 % errors in zone b: health (1 - 0.0202)² ≈ 0.96, a share change of about one point.
    store.ingest('p1', report('backend', { a: [100, 0], b: [97, 3] }));
    expect(balancer.runOnce()).toEqual([]);
    expect(applied).toHaveLength(1);
  });

  it('smooths across rounds from the weights it applied', () => {
    const now = { t: 0 };
    const { store, applied, balancer } = setup(now, 0.5);
    balancer.runOnce();
    store.ingest('p1', report('backend', { a: [100, 0], b: [0, 100] }));
    balancer.runOnce();
    balancer.runOnce();
    expect(applied.map(([, w]) => w[B])).toEqual([500, 275, 163]);
  });

  it('forgets a cluster that is no longer configured, and runs on its own once started', async () => {
    const now = { t: 0 };
    const store = new LoadStore(10_000, () => now.t);
    const configured = new Map([['x', new Map([[A, 1]])]]);
    const rounds = new Waitable<string>();
    const balancer = new GlobalBalancer({
      store,
      configured: () => configured,
      apply: (cluster) => rounds.push(cluster),
      intervalMs: 10,
    });
    balancer.start();
    try {
      expect(await rounds.next()).toBe('x');
      configured.clear();
      configured.set('y', new Map([[B, 1]]));
      expect(await rounds.next((c) => c === 'y')).toBe('y');
      expect(balancer.current('x')).toBeUndefined();
    } finally {
      balancer.stop();
    }
    expect(
      () => new GlobalBalancer({ store, configured: () => configured, apply() {}, intervalMs: 0 }),
    ).toThrow(RangeError);
  });
});
