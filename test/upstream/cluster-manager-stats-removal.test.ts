import { afterEach, describe, expect, it } from 'vitest';
import { StatsStore } from '../../proxy/observability/stats.js';
import type { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { realClusters } from '../helpers/real-clusters.js';

/** Lets the manager's end-of-turn stats cleanup run. */
const endOfTurn = () => new Promise<void>((r) => setImmediate(r));

function clusterStatNames(stats: StatsStore, name: string): string[] {
  const p = `cluster.${name}.`;
  return [...stats.counters.keys(), ...stats.gauges.keys(), ...stats.histograms.keys()].filter((n) =>
    n.startsWith(p),
  );
}

describe('ClusterManager forgets the stats of removed clusters', () => {
  let manager: ClusterManager | null = null;
  afterEach(() => {
    manager?.shutdown();
    manager = null;
  });

  it('drops cluster.<name>.* on removal, keeps clusters whose names extend it, and starts fresh on re-add', async () => {
    const stats = new StatsStore();
    const specs = [
      { name: 'a', ports: [1] },
      { name: 'a.b', ports: [2] },
      { name: 'c', ports: [3] },
    ];
    manager = realClusters(stats, specs);
    stats.counter('cluster.a.upstream_rq_200').inc(5);
    stats.counter('cluster.a.b.upstream_rq_200').inc(7);
    expect(clusterStatNames(stats, 'a').length).toBeGreaterThan(5);
    expect(manager.remove('a')).toBe(true);
    await endOfTurn();
    expect(clusterStatNames(stats, 'a').every((n) => n.startsWith('cluster.a.b.'))).toBe(true);
    expect(stats.counters.get('cluster.a.b.upstream_rq_200')?.value).toBe(7);
    expect(clusterStatNames(stats, 'a.b').length).toBeGreaterThan(5);
    expect(clusterStatNames(stats, 'c').length).toBeGreaterThan(5);
    expect(stats.counters.has('cluster.a.upstream_rq_200')).toBe(false);

    // Added back: listed again, from zero.
    const again = realClusters(stats, [{ name: 'a', ports: [1] }]);
    again.shutdown();
    expect(stats.counters.get('cluster.a.upstream_cx_total')?.value).toBe(0);
  });

  it('an update keeps the stats (same name), and a removal then re-add in one turn starts fresh', async () => {
    const stats = new StatsStore();
    manager = realClusters(stats, [{ name: 'x', ports: [1] }]);
    stats.counter('cluster.x.upstream_cx_total').inc(3);
    // Same name, changed model: an update, not a removal.
    const updated = realClusters(new StatsStore(), [{ name: 'x', ports: [2] }]).get('x')!.model;
    expect(manager.addOrUpdate(updated)).toBe('updated');
    await endOfTurn();
    expect(stats.counters.get('cluster.x.upstream_cx_total')?.value).toBe(3);

    const model = manager.get('x')!.model;
    manager.remove('x');
    manager.addOrUpdate(model);
    await endOfTurn();
    expect(stats.counters.get('cluster.x.upstream_cx_total')?.value).toBe(0);
    expect(manager.get('x')).toBeDefined();
  });

  it('setClusters removing many clusters leaves only the kept ones in the store', async () => {
    const stats = new StatsStore();
    const specs = Array.from({ length: 200 }, (_, i) => ({ name: `svc${i}`, ports: [1000 + i] }));
    manager = realClusters(stats, specs);
    const keep = manager.get('svc7')!.model;
    manager.setClusters([keep]);
    await endOfTurn();
    const left = new Set(
      [...stats.counters.keys()].filter((n) => n.startsWith('cluster.')).map((n) => n.split('.')[1]),
    );
    expect([...left]).toEqual(['svc7']);
  });
});

describe('StatsStore removal', () => {
  it('removeByPrefix drops counters, gauges and histograms under the prefix only', () => {
    const s = new StatsStore();
    s.counter('listener.l1.downstream_cx_total').inc();
    s.gauge('listener.l1.downstream_cx_active').set(2);
    s.histogram('listener.l1.downstream_cx_length_ms').record(3);
    s.counter('listener.l10.downstream_cx_total').inc();
    expect(s.removeByPrefix('listener.l1.')).toBe(3);
    expect(s.counters.has('listener.l10.downstream_cx_total')).toBe(true);
    expect(s.gauges.size).toBe(0);
    expect(s.counter('listener.l1.downstream_cx_total').value).toBe(0);
    expect(s.removeByPrefix('nothing.')).toBe(0);
  });
});
