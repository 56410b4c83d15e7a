/**
 * remora's own dynamic config (the proxy's xDS half: DynamicConfig over the cluster and listener
 * managers) against the control plane, with real HTTP through the listener the mesh declares: the
 * proxy accepts every resource (no NACK at /status), and a mesh edit that moves a route to a new
 * service and deletes the old one loses no request of a steady stream (make-before-break).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LISTENER_TYPE } from '../../control-plane/type-urls.js';
import { RecordingServer, request } from '../helpers/http.js';
import { freePort, startDynamicProxy } from '../xds/dynamic-proxy.js';
import { MeshDir, proxyStatus, startOn, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function upstream(id: string): Promise<RecordingServer> {
  const s = new RecordingServer((_req, res) => res.end(id));
  await s.listen();
  cleanups.push(() => s.close());
  return s;
}

function meshText(listenerPort: number, services: Record<string, number>, target: string): string {
  const svc = Object.entries(services)
    .map(([name, port]) => `  - name: ${name}\n    endpoints: [{address: 127.0.0.1, port: ${port}}]\n`)
    .join('');
  return `services:\n${svc}routes:\n  - name: main\n    rules: [{prefix: /, to: ${target}, timeout: 2s}]\nlisteners:\n  - {name: web, address: 127.0.0.1, port: ${listenerPort}, routes: main}\n`;
}

describe.each(['GRPC', 'DELTA_GRPC'] as const)('a remora sidecar over %s', (apiType) => {
  it('takes its config from the control plane and keeps serving through a route move and a cluster removal', async () => {
    const a = await upstream('a');
    const b = await upstream('b');
    const listenerPort = await freePort();
    const mesh = new MeshDir();
    cleanups.push(() => mesh.remove());
    mesh.write(meshText(listenerPort, { old: a.port }, 'old'));
    const cp = await startOn(mesh);
    cleanups.push(() => cp.close());
    const proxy = startDynamicProxy({ port: cp.xdsPort, apiType });
    cleanups.push(() => proxy.close());
    await proxy.dynamic.whenInitialized();
    expect((await request(listenerPort, { path: '/' })).body.toString()).toBe('a');

    // Steady traffic while the route moves to a new service and the old one is deleted.
    const statuses = new Map<number, number>();
    let sawB = false;
    let stop = false;
    const traffic = (async () => {
      const deadline = Date.now() + 10_000;
      for (let i = 0; i < 5000 && !stop && Date.now() < deadline; i++) {
        const r = await request(listenerPort, { path: `/r${i}` });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.body.toString() === 'b') sawB = true;
      }
    })();
    await waitFor('some traffic first', () => (statuses.get(200) ?? 0) >= 5);
    mesh.write(meshText(listenerPort, { new: b.port }, 'new'));
    await waitFor('traffic on the new service', () => sawB);
    await waitFor('the old cluster gone', () => proxy.clusters.get('old') === undefined);
    const served = statuses.get(200) ?? 0;
    await waitFor('more traffic after the removal', () => (statuses.get(200) ?? 0) >= served + 5);
    stop = true;
    await traffic;
    expect([...statuses.keys()]).toEqual([200]);

    await waitFor('every type ACKed', async () => {
      const s = await proxyStatus(cp.statusPort, 'sidecar-test');
      return s !== undefined && Object.values(s.types).every((t) => t.version_acked === t.version_sent);
    });
    const st = (await proxyStatus(cp.statusPort, 'sidecar-test'))!;
    expect(Object.keys(st.types)).toHaveLength(4);
    expect(st.protocol).toBe(apiType === 'GRPC' ? 'sotw' : 'delta');
    for (const [type, t] of Object.entries(st.types)) {
      expect(t.last_nack, type).toBeNull();
      expect(t.version_acked, type).toBe(t.version_sent);
    }
    expect(st.types[LISTENER_TYPE].subscriptions.wildcard).toBe(true);
  });
});
