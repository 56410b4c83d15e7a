/**
 * The control plane over real gRPC on loopback, with the control-client's XdsClient as the proxy:
 * state of the world and delta, ACK/NACK at /status, make-before-break push order, mesh file
 * reloads (good and bad).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiType } from '../../control-client/index.js';
import { type RunningControlPlane, startControlPlane } from '../../control-plane/control-plane.js';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../control-plane/type-urls.js';
import { BASE_MESH, getJson, MeshDir, proxyStatus, startOn, waitFor } from './helpers.js';
import { Sidecar } from './sidecar.js';

let mesh: MeshDir;
let cp: RunningControlPlane | null = null;
const sidecars: Sidecar[] = [];

afterEach(async () => {
  for (const s of sidecars.splice(0)) s.close();
  await cp?.close();
  cp = null;
  mesh?.remove();
});

async function setup(text = BASE_MESH): Promise<RunningControlPlane> {
  mesh = new MeshDir();
  mesh.write(text);
  cp = await startOn(mesh);
  return cp;
}

function sidecar(
  nodeId: string,
  apiType: ApiType = 'GRPC',
  reject?: ConstructorParameters<typeof Sidecar>[3],
): Sidecar {
  const s = new Sidecar(cp!.xdsPort, nodeId, apiType, reject);
  sidecars.push(s);
  return s;
}

const ALL_FOUR = ['CDS/web', 'CDS/db', 'EDS/web', 'EDS/db', 'LDS/ingress', 'RDS/main'];

/** Every type's sent version ACKed, per /status. */
async function allAcked(nodeId: string): Promise<boolean> {
  const st = await proxyStatus(cp!.statusPort, nodeId);
  if (st === undefined) return false;
  const types = [CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE];
  return types.every(
    (t) => st.types[t] !== undefined && st.types[t].version_acked === st.types[t].version_sent,
  );
}

describe.each(['GRPC', 'DELTA_GRPC'] as const)('ADS %s', (apiType) => {
  it('serves CDS, EDS, LDS and RDS and records the ACKs per type at /status', async () => {
    await setup();
    const s = sidecar('sidecar-1', apiType);
    await waitFor('all resources', () => ALL_FOUR.every((k) => s.has(k)));
    expect(s.get('EDS/web')).toMatchObject({
      cluster_name: 'web',
      endpoints: [
        {
          locality: { region: 'r1', zone: 'a' },
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 8080 } } } },
          ],
        },
      ],
    });
    expect(s.get('LDS/ingress')).toMatchObject({ address: { socket_address: { port_value: 10000 } } });
    await waitFor('ACKs at /status', () => allAcked('sidecar-1'));
    const st = (await proxyStatus(cp!.statusPort, 'sidecar-1'))!;
    expect(st.protocol).toBe(apiType === 'GRPC' ? 'sotw' : 'delta');
    expect(st.types[CLUSTER_TYPE].subscriptions).toEqual({ wildcard: true, names: [] });
    expect(st.types[ENDPOINT_TYPE].subscriptions).toEqual({ wildcard: false, names: ['db', 'web'] });
    expect(st.types[ROUTE_TYPE].subscriptions).toEqual({ wildcard: false, names: ['main'] });
    expect(st.types[CLUSTER_TYPE].version_sent).toBe(cp!.ads.snapshot.typeVersion(CLUSTER_TYPE));
    expect(st.types[CLUSTER_TYPE].last_nack).toBeNull();
  });

  it('records a NACK with its message, keeps the ACKed version, and recovers on a fixed mesh', async () => {
    await setup();
    const s = sidecar('picky', apiType, (c) => (c.name === 'evil' ? 'cluster evil: not allowed here' : null));
    await waitFor('ACKs', () => allAcked('picky'));
    const acked = (await proxyStatus(cp!.statusPort, 'picky'))!.types[CLUSTER_TYPE].version_acked;
    mesh.write(`${BASE_MESH}\n`.replace('services:\n', 'services:\n  - name: evil\n    endpoints: []\n'));
    await waitFor('NACK at /status', async () => {
      const t = (await proxyStatus(cp!.statusPort, 'picky'))!.types[CLUSTER_TYPE];
      return t.last_nack !== null;
    });
    const t = (await proxyStatus(cp!.statusPort, 'picky'))!.types[CLUSTER_TYPE];
    expect(t.last_nack!.message).toContain('cluster evil: not allowed here');
    expect(t.last_nack!.version).toBe(t.version_sent);
    expect(t.version_acked).toBe(acked);
    expect(s.has('CDS/evil')).toBe(false);
    mesh.write(BASE_MESH.replace('port: 5432', 'port: 5433'));
    await waitFor('new endpoints after the fix', () => {
      const db = JSON.stringify(s.get('EDS/db'));
      return db.includes('5433');
    });
    await waitFor('ACK of the fixed clusters', () => allAcked('picky'));
  });

  it('pushes additions as CDS, EDS, LDS, RDS and removes clusters only after routes moved off them', async () => {
    await setup();
    const s = sidecar('order', apiType);
    await waitFor('initial config', () => ALL_FOUR.every((k) => s.has(k)));
    await waitFor('ACKs', () => allAcked('order'));
    let from = s.events.length;
    mesh.write(
      `${BASE_MESH}
  - {name: api-in, port: 10001, routes: api-routes}
`
        .replace(
          'services:\n',
          'services:\n  - name: api\n    endpoints: [{address: 127.0.0.9, port: 9000}]\n',
        )
        .replace(
          'routes:\n  - name: main',
          'routes:\n  - name: api-routes\n    rules: [{prefix: /, to: api}]\n  - name: main',
        ),
    );
    await waitFor('the new route table', () => s.has('RDS/api-routes'));
    expect(s.since(from)).toEqual([
      'CDS:update:api',
      'EDS:update:api',
      'LDS:update:api-in',
      'RDS:update:api-routes',
    ]);
    await waitFor('ACKs', () => allAcked('order'));
    // Now route main to api and drop web in one edit: the route change lands before web disappears.
    from = s.events.length;
    mesh.write(
      BASE_MESH.replace(
        '  - name: web\n    endpoints:\n      - {address: 127.0.0.1, port: 8080, locality: {region: r1, zone: a}}\n',
        '  - name: api\n    endpoints: [{address: 127.0.0.9, port: 9000}]\n',
      ).replace('to: web', 'to: api'),
    );
    await waitFor('web removed', () => !s.has('CDS/web'));
    const after = s.since(from);
    expect(after.indexOf('RDS:update:main')).toBeGreaterThanOrEqual(0);
    expect(after.indexOf('RDS:update:main')).toBeLessThan(after.indexOf('CDS:gone:web'));
    expect(after.indexOf('LDS:gone:api-in')).toBeLessThan(after.indexOf('CDS:gone:web'));
  });

  it('applies a changed mesh file and keeps the last good snapshot when the file turns bad', async () => {
    await setup();
    const s = sidecar('watcher', apiType);
    await waitFor('initial config', () => ALL_FOUR.every((k) => s.has(k)));
    const before = cp!.ads.snapshot.typeVersion(ENDPOINT_TYPE);
    mesh.write(BASE_MESH.replace('port: 8080', 'port: 8081'));
    await waitFor('the new endpoint', () => JSON.stringify(s.get('EDS/web')).includes('8081'));
    const changed = cp!.ads.snapshot.typeVersion(ENDPOINT_TYPE);
    expect(changed).not.toBe(before);
    await waitFor('ACK of the new version', async () => {
      const st = await proxyStatus(cp!.statusPort, 'watcher');
      return st?.types[ENDPOINT_TYPE].version_acked === changed;
    });
    mesh.write(BASE_MESH.replace('port: 8080', 'port: 99999').replace('to: web', 'to: nowhere'));
    await waitFor('the rejection at /status', async () => {
      const st = (await getJson(cp!.statusPort, '/status')) as { mesh: { rejected: number } };
      return st.mesh.rejected === 1;
    });
    const st = (await getJson(cp!.statusPort, '/status')) as { mesh: { last_errors: string[] } };
    expect(st.mesh.last_errors).toEqual([
      'services[0].endpoints[0].port: must be an integer in 1..65535',
      'routes[0].rules[0].to: unknown service "nowhere"',
    ]);
    expect(cp!.ads.snapshot.typeVersion(ENDPOINT_TYPE)).toBe(changed);
    expect(JSON.stringify(s.get('EDS/web'))).toContain('8081');
  });
});

describe('restarts', () => {
  it.each(['GRPC', 'DELTA_GRPC'] as const)(
    'a %s proxy reconnects to a restarted control plane and gets its changes',
    async (apiType) => {
      await setup();
      const s = sidecar('survivor', apiType);
      await waitFor('initial config', () => ALL_FOUR.every((k) => s.has(k)));
      const port = cp!.xdsPort;
      await cp!.close();
      mesh.write(BASE_MESH.replace('port: 8080', 'port: 8090'));
      cp = await startControlPlane({
        meshPath: mesh.path,
        address: '127.0.0.1',
        xdsPort: port,
        statusPort: 0,
      });
      await waitFor('the endpoint from the new process', () =>
        JSON.stringify(s.get('EDS/web')).includes('8090'),
      );
      await waitFor('ACKs on the new stream', () => allAcked('survivor'));
      // Nothing was deleted across the restart.
      expect(ALL_FOUR.every((k) => s.has(k))).toBe(true);
    },
  );
});

describe('subscriptions', () => {
  it('sends each proxy only what it subscribes to, and per-node listener overrides', async () => {
    await setup(`${BASE_MESH}
  - {name: admin-in, port: 10002, routes: main}
nodes:
  - {id: edge, listeners: [admin-in]}
`);
    const a = sidecar('edge');
    const b = sidecar('plain');
    await waitFor(
      'both configured',
      () => a.has('LDS/admin-in') && b.has('LDS/admin-in') && b.has('LDS/ingress'),
    );
    await waitFor('ACKs', async () => (await allAcked('edge')) && (await allAcked('plain')));
    expect(a.has('LDS/ingress')).toBe(false);
    const snap = (await getJson(cp!.statusPort, '/snapshot')) as {
      types: Record<string, { resources: unknown[] }>;
    };
    expect(snap.types[LISTENER_TYPE].resources).toHaveLength(2);
  });
});
