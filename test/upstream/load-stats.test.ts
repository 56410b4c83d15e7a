/**
 * The proxy's load counters for LRS: what the router records at pick and completion time comes back
 * in the next snapshot, and only once.
 */
import { describe, expect, it } from 'vitest';
import { Host } from '../../proxy/upstream/host.js';
import { ClusterLoadStats, LoadStatsStore } from '../../proxy/upstream/load-stats.js';

const A = { region: 'eu', zone: 'a', subZone: '' };
const B = { region: 'eu', zone: 'b', subZone: '' };

function fakeClock(start = 1000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

describe('LocalityLoadCounters and ClusterLoadStats', () => {
  it('counts issued, success, error and in-progress per locality, resetting counts but not the level', () => {
    const clock = fakeClock();
    const c = new ClusterLoadStats('backend', 'backend-svc', clock.now);
    const a = c.countersFor(A, 0);
    const b = c.countersFor(B, 0);
    expect(c.countersFor(A, 0)).toBe(a); // one object per locality and priority
    expect(c.countersFor(A, 1)).not.toBe(a);
    for (let i = 0; i < 5; i++) a.begin();
    a.end(true);
    a.end(true);
    a.end(false);
    b.begin();
    b.end(true);
    clock.advance(250);
    const first = c.snapshot();
    expect(first.serviceName).toBe('backend-svc');
    expect(first.intervalMs).toBe(250);
    const byZone = new Map(first.localities.map((l) => [`${l.locality.zone}|${l.priority}`, l]));
    expect(byZone.get('a|0')).toMatchObject({ issued: 5, success: 2, error: 1, inProgress: 2 });
    expect(byZone.get('b|0')).toMatchObject({ issued: 1, success: 1, error: 0, inProgress: 0 });
    expect(byZone.get('a|1')).toMatchObject({ issued: 0, success: 0, error: 0, inProgress: 0, priority: 1 });
    expect(byZone.get('a|0')?.locality).toEqual({ region: 'eu', zone: 'a', sub_zone: '' });

    // The two outstanding requests finish after the snapshot: they count in the next one.
    a.end(true);
    a.end(false);
    clock.advance(100);
    const second = c.snapshot();
    expect(second.intervalMs).toBe(100);
    const a2 = second.localities.find((l) => l.locality.zone === 'a' && l.priority === 0);
    expect(a2).toMatchObject({ issued: 0, success: 1, error: 1, inProgress: 0 });
  });

  it('counts drops per category and in total', () => {
    const c = new ClusterLoadStats('x');
    c.recordDrop('throttle');
    c.recordDrop('throttle');
    c.recordDrop();
    const s = c.snapshot();
    expect(s.totalDropped).toBe(3);
    expect([...s.droppedByCategory]).toEqual([['throttle', 2]]);
    const s2 = c.snapshot();
    expect(s2.totalDropped).toBe(0);
    expect(s2.droppedByCategory.size).toBe(0);
  });

  it('sums named load metrics and resets them', () => {
    const c = new ClusterLoadStats('x');
    const a = c.countersFor(A, 0);
    a.recordMetric('cpu', 0.5);
    a.recordMetric('cpu', 0.25);
    expect(c.snapshot().localities[0].metrics).toEqual([{ name: 'cpu', count: 2, total: 0.75 }]);
    expect(c.snapshot().localities[0].metrics).toBeUndefined();
  });

  it('reports per-endpoint load from the host counters as differences', () => {
    const c = new ClusterLoadStats('x');
    const h1 = new Host({ address: '10.0.0.1', port: 80, locality: A });
    const h2 = new Host({ address: '10.0.0.2', port: 80, locality: B });
    h1.rqTotal = 10; // before the host was attached: not this cluster's report
    c.setHosts([h1, h2]);
    h1.rqTotal += 4;
    h1.rqSuccess += 3;
    h1.rqActive = 1;
    h2.rqTotal += 2;
    h2.rqError += 2;
    const s = c.snapshot({ endpoints: true });
    const a = s.localities.find((l) => l.locality.zone === 'a')!;
    expect(a.endpoints).toEqual([
      { address: '10.0.0.1', port: 80, issued: 4, success: 3, error: 0, inProgress: 1 },
    ]);
    const b = s.localities.find((l) => l.locality.zone === 'b')!;
    expect(b.endpoints).toEqual([
      { address: '10.0.0.2', port: 80, issued: 2, success: 0, error: 2, inProgress: 0 },
    ]);
    // A snapshot without endpoints moves the baselines on too.
    h1.rqTotal += 1;
    expect(c.snapshot().localities[0].endpoints).toBeUndefined();
    h1.rqTotal += 7;
    const s3 = c.snapshot({ endpoints: true });
    expect(s3.localities.find((l) => l.locality.zone === 'a')!.endpoints![0].issued).toBe(7);
    // The same Host kept across setHosts keeps its baseline.
    h1.rqTotal += 2;
    c.setHosts([h1]);
    expect(
      c.snapshot({ endpoints: true }).localities.find((l) => l.locality.zone === 'a')!.endpoints![0].issued,
    ).toBe(2);
  });

  it('forgets a locality left without hosts once its last load is reported and nothing is in flight', () => {
    const c = new ClusterLoadStats('x');
    const ha = new Host({ address: '10.0.0.1', port: 80, locality: A });
    const hb = new Host({ address: '10.0.0.2', port: 80, locality: B });
    c.setHosts([ha, hb]);
    const b = c.countersFor(B, 0);
    b.begin();
    b.begin();
    b.end(true);
    c.setHosts([ha]); // zone b's host is gone, one request still in flight there
    const s1 = c.snapshot();
    expect(s1.localities.map((l) => l.locality.zone).sort()).toEqual(['a', 'b']);
    b.end(false); // the in-flight request ends on the object it began on
    const s2 = c.snapshot();
    expect(s2.localities.find((l) => l.locality.zone === 'b')).toMatchObject({ error: 1, inProgress: 0 });
    expect(c.snapshot().localities.map((l) => l.locality.zone)).toEqual(['a']);
  });
});

describe('LoadStatsStore', () => {
  it('is a LoadSource: one ClusterLoadStats per name, kept across updates, removable', () => {
    const store = new LoadStatsStore();
    const c = store.cluster('backend');
    expect(store.cluster('backend', 'eds-name')).toBe(c);
    expect(c.serviceName).toBe('eds-name');
    store.cluster('other');
    expect([...store.clusterNames()].sort()).toEqual(['backend', 'other']);
    c.countersFor(A, 0).begin();
    expect(store.snapshot('backend', { endpoints: false })?.localities[0].issued).toBe(1);
    expect(store.snapshot('nope', { endpoints: false })).toBeUndefined();
    store.remove('backend');
    expect([...store.clusterNames()]).toEqual(['other']);
    expect(store.get('backend')).toBeUndefined();
  });
});
