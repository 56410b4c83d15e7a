/**
 * Interop: a proxyless gRPC client (@grpc/grpc-js-xds, target xds:///echo) whose cluster says
 * `lrs_server: {self: {}}` reports its load to remora's LRS sink, served on the same gRPC server as
 * the ADS stream that configured it. The resources are encoded with Envoy's official protos (remora's
 * Cluster proto has no lrs_server), so this checks the sink against a client remora did not write.
 * The bootstrap is read once per process: one server for the file.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adsServiceDefinition } from '../../control-client/index.js';
import { LRS_SEND_ALL_CLUSTERS_FEATURE, lrsServiceDefinition } from '../../control-client/lrs.js';
import type { DiscoveryRequest } from '../../control-client/wire.js';
import { LoadReportingServer } from '../../control-plane/lrs/index.js';
import { recordRequests } from '../control-client/lrs-recorder.js';
import { findInEnvoy } from '../proto/envoy-schema.js';

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

const T = 'type.googleapis.com/';
const LISTENER = `${T}envoy.config.listener.v3.Listener`;
const CLUSTER = `${T}envoy.config.cluster.v3.Cluster`;
const ENDPOINTS = `${T}envoy.config.endpoint.v3.ClusterLoadAssignment`;

function officialRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => findInEnvoy(target) ?? target;
  root.loadSync(
    [
      'envoy/config/listener/v3/listener.proto',
      'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
      'envoy/extensions/filters/http/router/v3/router.proto',
      'envoy/config/cluster/v3/cluster.proto',
      'envoy/config/endpoint/v3/endpoint.proto',
    ],
    { keepCase: true },
  );
  root.resolveAll();
  return root;
}

function encode(root: protobuf.Root, name: string, obj: object): { type_url: string; value: Buffer } {
  const t = root.lookupType(name);
  // fromObject drops unknown keys silently: make sure every top-level key is a field.
  for (const k of Object.keys(obj))
    if (t.fields[k] === undefined) throw new Error(`${name} has no field ${k}`);
  return { type_url: T + name, value: Buffer.from(t.encode(t.fromObject(obj)).finish()) };
}

/** Listener (API listener, inline routes), an EDS cluster reporting load to its own server, endpoints. */
function resources(
  root: protobuf.Root,
  port: number,
): Map<string, Array<{ type_url: string; value: Buffer }>> {
  const router = encode(root, 'envoy.extensions.filters.http.router.v3.Router', {});
  const hcm = encode(
    root,
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    {
      route_config: {
        name: 'echo',
        virtual_hosts: [
          { name: 'echo', domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: 'echo' } }] },
        ],
      },
      http_filters: [{ name: 'router', typed_config: router }],
    },
  );
  return new Map([
    [
      LISTENER,
      [
        encode(root, 'envoy.config.listener.v3.Listener', {
          name: 'echo',
          api_listener: { api_listener: hcm },
        }),
      ],
    ],
    [
      CLUSTER,
      [
        encode(root, 'envoy.config.cluster.v3.Cluster', {
          name: 'echo',
          type: 'EDS',
          eds_cluster_config: { eds_config: { ads: {} }, service_name: 'echo-eds' },
          lb_policy: 'ROUND_ROBIN',
          lrs_server: { self: {} },
        }),
      ],
    ],
    [
      ENDPOINTS,
      [
        encode(root, 'envoy.config.endpoint.v3.ClusterLoadAssignment', {
          cluster_name: 'echo-eds',
          endpoints: [
            {
              locality: { region: 'r1', zone: 'z1' },
              load_balancing_weight: { value: 1 },
              lb_endpoints: [
                { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } },
              ],
            },
          ],
        }),
      ],
    ],
  ]);
}

let echo: grpc.Server;
let server: grpc.Server;
let sink: LoadReportingServer;
let client: EchoClient;
const nacks: string[] = [];

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
  const echoPort = await bind(echo);
  const all = resources(officialRoot(), echoPort);

  sink = new LoadReportingServer({ policy: { clusters: 'all', intervalMs: 100 } });
  server = new grpc.Server();
  server.addService(lrsServiceDefinition(), sink.implementation());
  let nonce = 0;
  server.addService(adsServiceDefinition(), {
    StreamAggregatedResources(call: grpc.ServerDuplexStream<DiscoveryRequest, object>) {
      call.on('data', (req: DiscoveryRequest) => {
        if (req.error_detail) nacks.push(`${req.type_url}: ${req.error_detail.message}`);
        if (req.response_nonce !== '') return; // an ACK or NACK: nothing new to send
        call.write({
          version_info: '1',
          type_url: req.type_url,
          resources: all.get(req.type_url) ?? [],
          nonce: String(++nonce),
        });
      });
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
  });
  const port = await bind(server);
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [
      { server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
    ],
    node: { id: 'proxyless-lrs', locality: { region: 'r1', zone: 'z1' } },
  });
  createRequire(import.meta.url)('@grpc/grpc-js-xds').register();
  client = new Echo('xds:///echo', grpc.credentials.createInsecure()) as unknown as EchoClient;
});

afterAll(() => {
  client?.close();
  sink?.close();
  server?.forceShutdown();
  echo?.forceShutdown();
});

function bind(s: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) =>
    s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
}

function call(message: string): Promise<'ok' | 'error'> {
  return new Promise((resolve) => client.Unary({ message }, (err) => resolve(err === null ? 'ok' : 'error')));
}

describe('@grpc/grpc-js-xds reports load to remora’s LRS sink', () => {
  it('aggregates the successes and errors of a proxyless client per cluster and locality', async () => {
    const requests = recordRequests(sink);
    const outcomes: string[] = [];
    for (const m of ['a', 'b', 'fail', 'c', 'fail', 'd', 'e']) outcomes.push(await call(m));
    expect(outcomes).toEqual(['ok', 'ok', 'error', 'ok', 'error', 'ok', 'ok']);
    expect(nacks).toEqual([]);

    const hello = await requests.next((r) => r.nodeId === 'proxyless-lrs' && r.first, 5000, 'introduction');
    expect(hello.request.node?.client_features).toContain(LRS_SEND_ALL_CLUSTERS_FEATURE);
    // The client may spread the seven calls over several intervals: wait until all are counted.
    await requests.next(
      () => (sink.store.totals('proxyless-lrs', 'echo', 'r1/z1/')?.issued ?? 0) >= 7,
      5000,
      'seven calls reported',
    );
    expect(sink.store.totals('proxyless-lrs', 'echo', 'r1/z1/')).toEqual({
      issued: 7,
      success: 5,
      error: 2,
      inProgress: 0,
    });
    const withStats = requests.items.find((r) => r.request.cluster_stats.length > 0)!;
    expect(withStats.request.cluster_stats[0].cluster_service_name).toBe('echo-eds');
    expect(sink.store.clusterWindow('echo').get('r1/z1/')).toMatchObject({ issued: 7, success: 5, error: 2 });
  });
});
