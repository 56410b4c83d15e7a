import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { TestCluster, TestClusters, testRouteTable } from '../helpers/test-upstream.js';

const PROTO = fileURLToPath(new URL('../fixtures/echo.proto', import.meta.url));
const def = protoLoader.loadSync(PROTO, { keepCase: true });
const pkg = grpc.loadPackageDefinition(def) as unknown as {
  remora: { test: { Echo: grpc.ServiceClientConstructor } };
};
const Echo = pkg.remora.test.Echo;

interface EchoReq {
  message: string;
  fail_with: number;
}

type EchoClient = grpc.Client & {
  Unary(
    req: Partial<EchoReq>,
    md: grpc.Metadata,
    cb: (err: grpc.ServiceError | null, res?: { message: string }) => void,
  ): grpc.ClientUnaryCall;
  Bidi(): grpc.ClientDuplexStream<Partial<EchoReq>, { message: string }>;
};

describe('gRPC through the proxy', () => {
  let server: grpc.Server;
  let clusters: TestClusters;
  let listener: Listener;
  let port: number;
  let client: EchoClient;

  beforeEach(async () => {
    server = new grpc.Server();
    server.addService(Echo.service, {
      Unary(call: grpc.ServerUnaryCall<EchoReq, unknown>, cb: grpc.sendUnaryData<unknown>) {
        const md = new grpc.Metadata();
        md.set('x-from-server', 'yes');
        if (call.request.fail_with > 0) {
          cb({ code: call.request.fail_with, details: 'asked to fail', metadata: md });
          return;
        }
        const seen = call.metadata.get('x-client')[0] ?? '';
        cb(null, { message: `echo:${call.request.message}:${seen}` }, md);
      },
      Bidi(call: grpc.ServerDuplexStream<EchoReq, unknown>) {
        call.on('data', (m: EchoReq) => call.write({ message: `bidi:${m.message}` }));
        call.on('end', () => call.end());
      },
    });
    const up = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const stats = new StatsStore();
    clusters = new TestClusters()
      .add(new TestCluster(stats, 'grpc', [{ address: '127.0.0.1', port: up }], 'http2'))
      .add(new TestCluster(stats, 'dead', [{ address: '127.0.0.1', port: 1 }], 'http2'));
    const routes = testRouteTable([
      { prefix: '/remora.test.Echo/Bidi', cluster: 'grpc', timeoutMs: 0 },
      { prefix: '/remora.test.Echo/', cluster: 'grpc' },
    ]);
    ({ listener, port } = await startHttpListener(hcmConfig(routes), clusters, stats));
    client = new Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
  });

  afterEach(async () => {
    client.close();
    listener.forceClose();
    clusters.destroy();
    server.forceShutdown();
  });

  function unary(c: EchoClient, req: Partial<EchoReq>, md = new grpc.Metadata()) {
    return new Promise<{
      err: grpc.ServiceError | null;
      res?: { message: string };
      trailers?: grpc.Metadata;
    }>((resolve) => {
      let trailers: grpc.Metadata | undefined;
      const call = c.Unary(req, md, (err, res) => setImmediate(() => resolve({ err, res, trailers })));
      call.on('status', (s: grpc.StatusObject) => {
        trailers = s.metadata;
      });
    });
  }

  it('unary call with metadata and trailers', async () => {
    const md = new grpc.Metadata();
    md.set('x-client', 'c1');
    const r = await unary(client, { message: 'hi' }, md);
    expect(r.err).toBeNull();
    expect(r.res?.message).toBe('echo:hi:c1');
    expect(r.trailers?.get('x-from-server')[0]).toBe('yes');
  });

  it('an error status from the server passes through (trailers-only response)', async () => {
    const r = await unary(client, { message: 'x', fail_with: grpc.status.PERMISSION_DENIED });
    expect(r.err?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(r.err?.details).toBe('asked to fail');
  });

  it('bidirectional streaming', async () => {
    const call = client.Bidi();
    const got: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (m: { message: string }) => {
        got.push(m.message);
        if (got.length < 5) call.write({ message: String(got.length) });
        else call.end();
      });
      call.on('end', resolve);
      call.on('error', reject);
    });
    call.write({ message: '0' });
    await done;
    expect(got).toEqual(['bidi:0', 'bidi:1', 'bidi:2', 'bidi:3', 'bidi:4']);
  });

  it('UNAVAILABLE from the proxy when the upstream is down', async () => {
    const routes = testRouteTable([{ prefix: '/', cluster: 'dead' }]);
    const { listener: l2, port: p2 } = await startHttpListener(hcmConfig(routes), clusters);
    const c2 = new Echo(`127.0.0.1:${p2}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
    try {
      const r = await unary(c2, { message: 'x' });
      expect(r.err?.code).toBe(grpc.status.UNAVAILABLE);
      expect(r.err?.details).toContain('connection failure');
    } finally {
      c2.close();
      l2.forceClose();
    }
  });

  it('UNIMPLEMENTED from the proxy when no route matches', async () => {
    const routes = testRouteTable([{ prefix: '/other', cluster: 'grpc' }]);
    const { listener: l2, port: p2 } = await startHttpListener(hcmConfig(routes), clusters);
    const c2 = new Echo(`127.0.0.1:${p2}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
    try {
      const r = await unary(c2, { message: 'x' });
      expect(r.err?.code).toBe(grpc.status.UNIMPLEMENTED);
    } finally {
      c2.close();
      l2.forceClose();
    }
  });
});
