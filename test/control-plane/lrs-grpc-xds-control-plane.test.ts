/**
 * Interop with the control plane's --lrs mode: a proxyless gRPC client (@grpc/grpc-js-xds, dialing
 * xds:///echo) configured by remora-control-plane reports its load to the same server, because the
 * cluster it was served says `lrs_server: {self: {}}`; the reports reach the balancer's sink and its
 * weights. Envoy's client is not in the loop: this checks the served resources against a client
 * remora did not write. The bootstrap is read once per process: one control plane for the file.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningControlPlane, startControlPlane } from '../../control-plane/control-plane.js';
import { MeshDir, waitFor } from './helpers.js';

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

let echo: grpc.Server;
let mesh: MeshDir;
let cp: RunningControlPlane;
let client: EchoClient;

beforeAll(async () => {
  echo = new grpc.Server();
  echo.addService(Echo.service, {
    Unary(
      call: grpc.ServerUnaryCall<{ message: string }, unknown>,
      cb: grpc.sendUnaryData<{ message: string }>,
    ) {
      if (call.request.message === 'fail') cb({ code: grpc.status.INTERNAL, details: 'asked to fail' });
      else cb(null, { message: call.request.message });
    },
  });
  const echoPort = await new Promise<number>((resolve, reject) =>
    echo.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  mesh = new MeshDir();
  mesh.write(`
services:
  - name: echo
    grpc: true
    endpoints:
      - {address: 127.0.0.1, port: ${echoPort}, locality: {region: r1, zone: z1}}
`);
  cp = await startControlPlane({
    meshPath: mesh.path,
    address: '127.0.0.1',
    xdsPort: 0,
    statusPort: 0,
    debounceMs: 20,
    lrs: { intervalMs: 100, windowMs: 5000 },
  });
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [
      {
        server_uri: `127.0.0.1:${cp.xdsPort}`,
        channel_creds: [{ type: 'insecure' }],
        server_features: ['xds_v3'],
      },
    ],
    node: { id: 'proxyless-cp', locality: { region: 'r1', zone: 'z1' } },
  });
  createRequire(import.meta.url)('@grpc/grpc-js-xds').register();
  client = new Echo('xds:///echo', grpc.credentials.createInsecure()) as unknown as EchoClient;
});

afterAll(async () => {
  client?.close();
  await cp?.close();
  echo?.forceShutdown();
  mesh?.remove();
});

function call(message: string): Promise<'ok' | 'error'> {
  return new Promise((resolve) => client.Unary({ message }, (err) => resolve(err === null ? 'ok' : 'error')));
}

describe('@grpc/grpc-js-xds against remora-control-plane --lrs', () => {
  it('reports its calls per locality to the control plane, on the ADS server', async () => {
    const outcomes: string[] = [];
    for (const m of ['a', 'b', 'fail', 'c', 'fail', 'd']) outcomes.push(await call(m));
    expect(outcomes).toEqual(['ok', 'ok', 'error', 'ok', 'error', 'ok']);
    const lrs = cp.balancing!.lrs;
    await waitFor('the calls reported', () => {
      const t = lrs.store.totals('proxyless-cp', 'echo', 'r1/z1/');
      return t !== undefined && t.success + t.error === 6;
    });
    expect(lrs.store.totals('proxyless-cp', 'echo', 'r1/z1/')).toMatchObject({
      issued: 6,
      success: 4,
      error: 2,
    });
    expect(lrs.connectedNodes()).toContain('proxyless-cp');
  });
});
