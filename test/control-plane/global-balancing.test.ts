/**
 * GlobalBalancing (control-plane/global-balancing.ts) on its own: the snapshot it builds for a mesh
 * (lrs_server self, locality weighting, the decided weights in EDS), what it publishes when the
 * load moves the split, and how a mesh reload with a new locality is handled. Load is fed to its
 * sink's store as reports would (the sink is tested over gRPC elsewhere).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterStatsMessage } from '../../control-client/lrs-wire.js';
import { GlobalBalancing } from '../../control-plane/global-balancing.js';
import type { Mesh } from '../../control-plane/mesh.js';
import { parseMesh } from '../../control-plane/mesh-file.js';
import type { Snapshot } from '../../control-plane/snapshot.js';
import { CLUSTER_TYPE, ENDPOINT_TYPE } from '../../control-plane/type-urls.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';

const open: GlobalBalancing[] = [];
afterEach(() => {
  for (const g of open.splice(0)) g.close();
});

function mesh(zones: Record<string, number>): Mesh {
  const eps = Object.entries(zones)
    .map(
      ([zone, weight], i) =>
        `      - {address: 10.0.0.${i + 1}, port: 80, weight: ${weight}, locality: {region: r, zone: ${zone}}}\n`,
    )
    .join('');
  const r = parseMesh(`services:\n  - name: svc\n    endpoints:\n${eps}`);
  if (r.mesh === undefined) throw new Error(r.errors.join('\n'));
  return r.mesh;
}

function weights(s: Snapshot): Record<string, number> {
  const eds = s.resources(ENDPOINT_TYPE).get('svc')!.proto;
  const out: Record<string, number> = {};
  for (const e of eds.endpoints as ProtoObject[])
    out[String((e.locality as ProtoObject).zone)] = Number(e.load_balancing_weight);
  return out;
}

function report(zone: string, success: number, error: number): ClusterStatsMessage {
  return {
    cluster_name: 'svc',
    cluster_service_name: 'svc',
    upstream_locality_stats: [
      {
        locality: { region: 'r', zone, sub_zone: '' },
        total_successful_requests: success,
        total_error_requests: error,
        total_issued_requests: success + error,
        total_requests_in_progress: 0,
        load_metric_stats: [],
        upstream_endpoint_stats: [],
        priority: 0,
      },
    ],
    total_dropped_requests: 0,
    dropped_requests: [],
  };
}

function balancing(): GlobalBalancing {
  const g = new GlobalBalancing({ intervalMs: 60_000 });
  open.push(g);
  return g;
}

describe('GlobalBalancing', () => {
  it('serves clusters with lrs_server self and locality weighting, and the configured split first', () => {
    const g = balancing();
    const s = g.setMesh(mesh({ a: 1, b: 3 }));
    const cds = s.resources(CLUSTER_TYPE).get('svc')!.proto;
    expect(cds.lrs_server).toEqual({ self: {} });
    expect(cds.common_lb_config).toEqual({ locality_weighted_lb_config: {} });
    expect(weights(s)).toEqual({ a: 250, b: 750 });
  });

  it('publishes a snapshot with new weights when reported errors move the split, and only then', () => {
    const g = balancing();
    g.setMesh(mesh({ a: 1, b: 1 }));
    const published: Snapshot[] = [];
    g.start((s) => published.push(s));
    g.lrs.store.nodeConnected('n1');
    g.lrs.store.ingest('n1', [report('a', 100, 0)]);
    g.lrs.store.ingest('n1', [report('b', 50, 50)]);
    expect(g.balancer.runOnce()).toEqual(['svc']);
    expect(published).toHaveLength(1);
    const w = weights(published[0]);
    expect(w.b).toBeLessThan(w.a / 2);
    expect(g.weightsOf('svc')?.get('r/b/')).toBe(w.b);
    // Nothing new reported: the same split, nothing pushed.
    expect(g.balancer.runOnce()).toEqual([]);
    expect(published).toHaveLength(1);
    const status = g.status() as { weights: Record<string, Array<{ locality: string; error_rate: number }>> };
    expect(status.weights.svc.find((d) => d.locality === 'r/b/')?.error_rate).toBe(0.5);
  });

  it('a mesh reload with another locality set is decided at once, never mixing scales', () => {
    const g = balancing();
    g.setMesh(mesh({ a: 1, b: 1 }));
    const s = g.setMesh(mesh({ a: 1, b: 1, c: 2 }));
    expect(weights(s)).toEqual({ a: 250, b: 250, c: 500 });
    // A service removed from the mesh forgets its weights.
    const r = parseMesh('services:\n  - name: other\n    endpoints: [{address: 10.0.0.9, port: 80}]\n');
    g.setMesh(r.mesh!);
    expect(g.weightsOf('svc')).toBeUndefined();
  });
});
