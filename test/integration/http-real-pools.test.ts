import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import type { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { h2request, RecordingServer, request, waitFor } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { realClusters } from '../helpers/real-clusters.js';
import { testRouteTable } from '../helpers/test-upstream.js';

const PROTO = fileURLToPath(new URL('../fixtures/echo.proto', import.meta.url));
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: true })) as unknown as {
  remora: { test: { Echo: grpc.ServiceClientConstructor } };
};
const Echo = pkg.remora.test.Echo;

/** The connection manager over the production cluster manager and HTTP/1 + HTTP/2 pools. */
describe('through the production pools', () => {
  let h1: RecordingServer;
  let h2: http2.Http2Server;
  let grpcServer: grpc.Server;
  let manager: ClusterManager;
  let listener: Listener;
  let port: number;
  let stats: StatsStore;

  beforeEach(async () => {
    h1 = new RecordingServer();
    await h1.listen();
    h2 = http2.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(`h2:${req.url}`));
    });
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
    grpcServer = new grpc.Server();
    grpcServer.addService(Echo.service, {
      Unary(call: grpc.ServerUnaryCall<{ message: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
        if (call.request.message === 'fail') cb({ code: grpc.status.NOT_FOUND, details: 'no such thing' });
        else cb(null, { message: `echo:${call.request.message}` });
      },
      Bidi(call: grpc.ServerDuplexStream<{ message: string }, unknown>) {
        call.on('data', (m: { message: string }) => call.write({ message: m.message }));
        call.on('end', () => call.end());
      },
    });
    const gport = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    stats = new StatsStore();
    manager = realClusters(stats, [
      { name: 'one', ports: [h1.port] },
      { name: 'two', ports: [(h2.address() as AddressInfo).port], http2: true },
      { name: 'grpc', ports: [gport], http2: true },
      { name: 'dead', ports: [1] },
    ]);
    const routes = testRouteTable([
      { prefix: '/h2', cluster: 'two' },
      { prefix: '/dead', cluster: 'dead' },
      { prefix: '/remora.test.Echo/', cluster: 'grpc', timeoutMs: 0 },
      { prefix: '/', cluster: 'one' },
    ]);
    ({ listener, port } = await startHttpListener(hcmConfig(routes), manager, stats));
  });

  afterEach(async () => {
    listener.forceClose();
    manager.shutdown();
    await h1.close();
    await new Promise<void>((r) => h2.close(() => r()));
    grpcServer.forceShutdown();
  });

  it('HTTP/1.1 keep-alive and bodies', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 3; i++) {
      const r = await request(port, { method: 'POST', path: `/r${i}`, body: 'x'.repeat(10_000), agent });
      expect(r.status).toBe(200);
    }
    agent.destroy();
    expect(h1.seen.map((s) => s.body.length)).toEqual([10_000, 10_000, 10_000]);
    expect(stats.counter('cluster.one.upstream_rq_total').value).toBe(3);
    expect(stats.counter('cluster.one.upstream_cx_total').value).toBe(1);
  });

  it('h2 downstream to an h2 upstream', async () => {
    const r = await h2request(port, { ':path': '/h2/x' });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('h2:/h2/x');
  });

  it('an HTTP/2 client resetting its stream mid-body resets the upstream request and keeps the session', async () => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => {});
    try {
      const req = client.request({ ':path': '/h2/upload', ':method': 'POST' });
      req.on('error', () => {});
      req.write(Buffer.alloc(1000));
      await new Promise<void>((r) => req.once('ready', () => r()));
      req.close(http2.constants.NGHTTP2_CANCEL);
      await new Promise<void>((r) => req.once('close', () => r()));
      await waitFor(() => stats.counter('http.ingress.downstream_rq_rx_reset').value === 1, 3000, 'rx reset');
      await waitFor(
        () => stats.gauge('cluster.two.upstream_rq_active').value === 0,
        3000,
        'upstream released',
      );
      // The same session still serves requests.
      const next = client.request({ ':path': '/h2/after' });
      const status = await new Promise<number>((resolve, reject) => {
        next.on('response', (h) => resolve(Number(h[':status'])));
        next.on('error', reject);
        next.resume();
      });
      expect(status).toBe(200);
    } finally {
      client.close();
    }
  });

  it('connect failure is 503 UF with Envoy’s body', async () => {
    const r = await request(port, { path: '/dead' });
    expect(r.status).toBe(503);
    expect(r.body.toString()).toMatch(
      /^upstream connect error or disconnect\/reset before headers. reset reason: connection failure/,
    );
  });

  it('gRPC unary and bidi', async () => {
    type C = grpc.Client & {
      Unary(r: { message: string }, cb: (e: grpc.ServiceError | null, v?: { message: string }) => void): void;
      Bidi(): grpc.ClientDuplexStream<{ message: string }, { message: string }>;
    };
    const client = new Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as C;
    try {
      const v = await new Promise<string>((resolve, reject) =>
        client.Unary({ message: 'a' }, (e, r) => (e ? reject(e) : resolve(r!.message))),
      );
      expect(v).toBe('echo:a');
      // A trailers-only error response from the upstream reaches the client as a status.
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.Unary({ message: 'fail' }, (e) => resolve(e)),
      );
      expect(err?.code).toBe(grpc.status.NOT_FOUND);
      expect(err?.details).toBe('no such thing');
      const call = client.Bidi();
      const got: string[] = [];
      await new Promise<void>((resolve, reject) => {
        call.on('data', (m: { message: string }) => got.push(m.message));
        call.on('end', resolve);
        call.on('error', reject);
        for (let i = 0; i < 10; i++) call.write({ message: String(i) });
        call.end();
      });
      expect(got.length).toBe(10);
    } finally {
      client.close();
    }
  });
});
