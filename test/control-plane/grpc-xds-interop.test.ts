/**
 * Interop: a proxyless gRPC client (@grpc/grpc-js-xds, target xds:///echo) takes its whole
 * configuration (API listener, routes, cluster, endpoints) from remora's control plane and calls a
 * real gRPC server at the endpoints it served; an endpoint change in the mesh file moves the calls.
 * The bootstrap is read once per process, so this file starts one control plane for all its tests.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningControlPlane } from '../../control-plane/control-plane.js';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../control-plane/type-urls.js';
import { MeshDir, proxyStatus, startOn, waitFor } from './helpers.js';

const PROTO = fileURLToPath(new URL('../fixtures/echo.proto', import.meta.url));
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: true })) as unknown as {
  remora: { test: { Echo: grpc.ServiceClientConstructor } };
};
const Echo = pkg.remora.test.Echo;

type EchoClient = grpc.Client & {
  Unary(
    req: { message: string },
    cb: (err: grpc.ServiceError | null, res?: { message: string }) => void,
  ): void;
};

async function echoServer(name: string): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(Echo.service, {
    Unary(
      call: grpc.ServerUnaryCall<{ message: string }, unknown>,
      cb: grpc.sendUnaryData<{ message: string }>,
    ) {
      cb(null, { message: `${name}:${call.request.message}` });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { server, port };
}

function meshFor(port: number): string {
  return `
services:
  - name: echo
    grpc: true
    endpoints:
      - {address: 127.0.0.1, port: ${port}, locality: {region: r1, zone: z1}}
`;
}

function call(client: EchoClient, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.Unary({ message }, (err, res) => (err !== null ? reject(err) : resolve(res!.message)));
  });
}

let mesh: MeshDir;
let cp: RunningControlPlane;
let a: { server: grpc.Server; port: number };
let b: { server: grpc.Server; port: number };
let client: EchoClient;

beforeAll(async () => {
  a = await echoServer('a');
  b = await echoServer('b');
  mesh = new MeshDir();
  mesh.write(meshFor(a.port));
  cp = await startOn(mesh);
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [
      {
        server_uri: `127.0.0.1:${cp.xdsPort}`,
        channel_creds: [{ type: 'insecure' }],
        server_features: ['xds_v3'],
      },
    ],
    node: { id: 'proxyless-1', locality: { region: 'r1', zone: 'z1' } },
  });
  createRequire(import.meta.url)('@grpc/grpc-js-xds').register();
  client = new Echo('xds:///echo', grpc.credentials.createInsecure()) as unknown as EchoClient;
});

afterAll(async () => {
  client?.close();
  await cp?.close();
  a?.server.forceShutdown();
  b?.server.forceShutdown();
  mesh?.remove();
});

describe('proxyless gRPC (@grpc/grpc-js-xds) against the control plane', () => {
  it('resolves xds:///echo through the API listener, routes, cluster and endpoints, and ACKs them all', async () => {
    expect(await call(client, 'hi')).toBe('a:hi');
    const st = (await proxyStatus(cp.statusPort, 'proxyless-1'))!;
    expect(st.protocol).toBe('sotw');
    expect(st.types[LISTENER_TYPE].subscriptions).toEqual({ wildcard: false, names: ['echo'] });
    expect(st.types[ROUTE_TYPE].subscriptions).toEqual({ wildcard: false, names: ['echo'] });
    expect(st.types[CLUSTER_TYPE].subscriptions).toEqual({ wildcard: false, names: ['echo'] });
    expect(st.types[ENDPOINT_TYPE].subscriptions).toEqual({ wildcard: false, names: ['echo'] });
    for (const t of [LISTENER_TYPE, ROUTE_TYPE, CLUSTER_TYPE, ENDPOINT_TYPE]) {
      expect(st.types[t].last_nack).toBeNull();
      expect(st.types[t].version_acked).toBe(st.types[t].version_sent);
    }
  });

  it('follows an endpoint change in the mesh file', async () => {
    mesh.write(meshFor(b.port));
    let last = '';
    await waitFor('calls to reach server b', async () => {
      last = await call(client, 'again');
      return last === 'b:again';
    });
    expect(last).toBe('b:again');
  });
});
