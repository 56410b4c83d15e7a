/**
 * The protocol on the wire, with hand-written requests: SotW wildcard and named subscriptions,
 * API listeners served by name only, stale nonces ignored, NACKs recorded; delta subscriptions,
 * removed_resources, and initial_resource_versions sparing unchanged resources.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningControlPlane } from '../../control-plane/control-plane.js';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE } from '../../control-plane/type-urls.js';
import { decodeBinaryMessage } from '../../proxy/config/binary-decode.js';
import { Issues } from '../../proxy/config/issues.js';
import { BASE_MESH, getJson, MeshDir, proxyStatus, startOn, waitFor } from './helpers.js';
import { type DeltaStream, deltaStream, type SotwStream, sotwStream } from './wire-client.js';

const MESH = BASE_MESH.replace(
  'services:\n',
  'services:\n  - name: echo\n    grpc: true\n    endpoints: [{address: 127.0.0.5, port: 7000}]\n',
);

let mesh: MeshDir;
let cp: RunningControlPlane | null = null;
const streams: { close(): void }[] = [];

afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  await cp?.close();
  cp = null;
  mesh?.remove();
});

async function setup(): Promise<RunningControlPlane> {
  mesh = new MeshDir();
  mesh.write(MESH);
  cp = await startOn(mesh);
  return cp;
}

function names(typeUrl: string, resources: { type_url: string; value: Buffer }[]): string[] {
  const message =
    typeUrl === LISTENER_TYPE
      ? 'envoy.config.listener.v3.Listener'
      : typeUrl === CLUSTER_TYPE
        ? 'envoy.config.cluster.v3.Cluster'
        : 'envoy.config.endpoint.v3.ClusterLoadAssignment';
  return resources.map((r) => {
    const o = decodeBinaryMessage(message, r.value, new Issues())!;
    return String(o.name ?? o.cluster_name);
  });
}

function sotw(): SotwStream {
  const s = sotwStream(cp!.xdsPort);
  streams.push(s);
  return s;
}

function delta(): DeltaStream {
  const s = deltaStream(cp!.xdsPort);
  streams.push(s);
  return s;
}

describe('state of the world on the wire', () => {
  it('answers wildcard LDS without API listeners, and names them on request', async () => {
    await setup();
    const s = sotw();
    s.send({ node: { id: 'w1' }, type_url: LISTENER_TYPE, resource_names: [] });
    const r1 = await s.next();
    expect(names(LISTENER_TYPE, r1.resources)).toEqual(['ingress']);
    expect(r1.nonce).not.toBe('');
    expect(r1.control_plane?.identifier).toBe('remora-control-plane');
    // Wildcard plus a name: the explicit "*" form.
    s.send({
      type_url: LISTENER_TYPE,
      resource_names: ['*', 'echo'],
      version_info: r1.version_info,
      response_nonce: r1.nonce,
    });
    const r2 = await s.next();
    expect(names(LISTENER_TYPE, r2.resources).sort()).toEqual(['echo', 'ingress']);
    expect(r2.version_info).not.toBe(r1.version_info);
  });

  it('ignores a type it does not serve, and keeps the stream', async () => {
    await setup();
    const s = sotw();
    s.send({
      node: { id: 'w0' },
      type_url: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
      resource_names: ['cert'],
    });
    s.send({ type_url: CLUSTER_TYPE, resource_names: [] });
    // The first response is for CDS: the Secret request got none and did not end the stream.
    expect((await s.next()).type_url).toBe(CLUSTER_TYPE);
    const st = (await proxyStatus(cp!.statusPort, 'w0'))!;
    expect(Object.keys(st.types)).toEqual([CLUSTER_TYPE]);
  });

  it('sends only the named resources, ignores stale nonces, records ACK and NACK', async () => {
    await setup();
    const s = sotw();
    s.send({ node: { id: 'w2' }, type_url: ENDPOINT_TYPE, resource_names: ['web'] });
    const r1 = await s.next();
    expect(names(ENDPOINT_TYPE, r1.resources)).toEqual(['web']);
    s.send({
      type_url: ENDPOINT_TYPE,
      resource_names: ['web'],
      version_info: r1.version_info,
      response_nonce: r1.nonce,
    });
    // A stale nonce: ignored, so the subscription stays ['web'] and nothing is sent.
    s.send({
      type_url: ENDPOINT_TYPE,
      resource_names: ['db'],
      version_info: '',
      response_nonce: 'old-nonce',
    });
    // A CDS request answers next: had the stale request been served, its EDS response would come first.
    s.send({ type_url: CLUSTER_TYPE, resource_names: [] });
    const r2 = await s.next();
    expect(r2.type_url).toBe(CLUSTER_TYPE);
    expect(names(CLUSTER_TYPE, r2.resources).sort()).toEqual(['db', 'echo', 'web']);
    let st = (await proxyStatus(cp!.statusPort, 'w2'))!;
    expect(st.types[ENDPOINT_TYPE]).toMatchObject({
      version_acked: r1.version_info,
      subscriptions: { wildcard: false, names: ['web'] },
    });
    s.send({
      type_url: CLUSTER_TYPE,
      resource_names: [],
      version_info: '',
      response_nonce: r2.nonce,
      error_detail: { code: 3, message: 'web: connect_timeout: too short' },
    });
    await waitFor('the NACK', async () => {
      st = (await proxyStatus(cp!.statusPort, 'w2'))!;
      return st.types[CLUSTER_TYPE].last_nack !== null;
    });
    expect(st.types[CLUSTER_TYPE].last_nack).toMatchObject({
      message: 'web: connect_timeout: too short',
      version: r2.version_info,
    });
    expect(st.types[CLUSTER_TYPE].version_acked).toBe('');
  });
});

describe('push sequencing on the wire', () => {
  it('holds LDS back until CDS is answered, and goes on after the step timeout when it never is', async () => {
    mesh = new MeshDir();
    mesh.write(MESH);
    cp = await startOn(mesh, 300);
    const s = sotw();
    s.send({ node: { id: 'slow' }, type_url: CLUSTER_TYPE, resource_names: [] });
    const c1 = await s.next();
    s.send({
      type_url: CLUSTER_TYPE,
      resource_names: [],
      version_info: c1.version_info,
      response_nonce: c1.nonce,
    });
    s.send({ type_url: LISTENER_TYPE, resource_names: [] });
    const l1 = await s.next();
    s.send({
      type_url: LISTENER_TYPE,
      resource_names: [],
      version_info: l1.version_info,
      response_nonce: l1.nonce,
    });
    await waitFor('both ACKs', async () => {
      const st = await proxyStatus(cp!.statusPort, 'slow');
      return (
        st?.types[LISTENER_TYPE]?.version_acked === l1.version_info &&
        st.types[CLUSTER_TYPE].version_acked === c1.version_info
      );
    });
    // A new service and a listener routing to it; this proxy will not answer the CDS push.
    const started = Date.now();
    mesh.write(
      `${MESH}  - {name: extra, port: 10005, routes: main}\n`.replace(
        'services:\n',
        'services:\n  - name: more\n    endpoints: []\n',
      ),
    );
    const c2 = await s.next();
    expect(c2.type_url).toBe(CLUSTER_TYPE);
    expect(names(CLUSTER_TYPE, c2.resources)).toContain('more');
    const l2 = await s.next();
    expect(l2.type_url).toBe(LISTENER_TYPE);
    expect(names(LISTENER_TYPE, l2.resources).sort()).toEqual(['extra', 'ingress']);
    // The LDS push waited for the CDS step to time out (300 ms) since no ACK came.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});

describe('delta on the wire', () => {
  it('subscribes by delta, reports unknown names as removed, and pushes only what changed', async () => {
    await setup();
    const d = delta();
    d.send({ node: { id: 'd1' }, type_url: ENDPOINT_TYPE, resource_names_subscribe: ['web', 'ghost'] });
    const r1 = await d.next();
    expect(r1.resources.map((r) => r.name)).toEqual(['web']);
    expect(r1.resources[0].version).toBe(cp!.ads.snapshot.resources(ENDPOINT_TYPE).get('web')!.version);
    expect(r1.removed_resources).toEqual(['ghost']);
    d.send({ type_url: ENDPOINT_TYPE, response_nonce: r1.nonce });
    d.send({ type_url: ENDPOINT_TYPE, resource_names_subscribe: ['db'] });
    const r2 = await d.next();
    expect(r2.resources.map((r) => r.name)).toEqual(['db']);
    d.send({ type_url: ENDPOINT_TYPE, response_nonce: r2.nonce });
    mesh.write(MESH.replace('port: 5432', 'port: 5499'));
    const r3 = await d.next();
    expect(r3.resources.map((r) => r.name)).toEqual(['db']);
    expect(r3.removed_resources).toEqual([]);
    d.send({ type_url: ENDPOINT_TYPE, response_nonce: r3.nonce });
    await waitFor('the ACK', async () => {
      const st = await proxyStatus(cp!.statusPort, 'd1');
      return st?.types[ENDPOINT_TYPE].version_acked === r3.system_version_info;
    });
  });

  it('does not resend what initial_resource_versions says the proxy holds, and removes deleted clusters', async () => {
    await setup();
    const webVersion = cp!.ads.snapshot.resources(CLUSTER_TYPE).get('web')!.version;
    const d = delta();
    d.send({
      node: { id: 'd2' },
      type_url: CLUSTER_TYPE,
      resource_names_subscribe: [],
      initial_resource_versions: { web: webVersion, db: 'stale', gone: 'x' },
    });
    const r1 = await d.next();
    expect(r1.resources.map((r) => r.name).sort()).toEqual(['db', 'echo']);
    expect(r1.removed_resources).toEqual(['gone']);
    d.send({ type_url: CLUSTER_TYPE, response_nonce: r1.nonce });
    mesh.write(MESH.replace('  - name: db\n    endpoints:\n      - {address: 127.0.0.2, port: 5432}\n', ''));
    const r2 = await d.next();
    expect(r2.resources).toEqual([]);
    expect(r2.removed_resources).toEqual(['db']);
    const snap = (await getJson(cp!.statusPort, '/snapshot')) as {
      types: Record<string, { resources: { name: string }[] }>;
    };
    expect(snap.types[CLUSTER_TYPE].resources.map((r) => r.name).sort()).toEqual(['echo', 'web']);
  });
});

describe('status endpoint', () => {
  it('serves /healthz, 404s unknown paths and 405s writes', async () => {
    await setup();
    const base = `http://127.0.0.1:${cp!.statusPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/status`, { method: 'POST' })).status).toBe(405);
  });
});
