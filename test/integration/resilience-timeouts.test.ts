import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { compileRouteConfig } from '../../proxy/router/compile.js';
import { grpcRouteTimeoutMs, parseGrpcTimeout } from '../../proxy/router/grpc-timeout.js';
import type { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { translateRouteConfiguration } from '../../proxy/xds/route-configuration.js';
import { h2request } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { realClusters } from '../helpers/real-clusters.js';

function table(route: ProtoObject) {
  const issues = new Issues();
  const m = translateRouteConfiguration(
    {
      name: 'r',
      virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route }] }],
    },
    'route_config',
    issues,
  );
  if (m === null || !issues.ok) throw new Error(issues.format());
  return compileRouteConfig(m);
}

describe('gRPC timeouts (max_stream_duration.grpc_timeout_header_max)', () => {
  let server: http2.Http2Server | null = null;
  let manager: ClusterManager | null = null;
  let listener: Listener | null = null;
  const seen: Array<string | undefined> = [];

  afterEach(async () => {
    listener?.forceClose();
    manager?.shutdown();
    if (server !== null) {
      const s = server;
      await new Promise<void>((r) => s.close(() => r()));
    }
    server = null;
    seen.length = 0;
  });

  async function start(route: ProtoObject) {
    // Answers /fast at once, never answers /slow.
    server = http2.createServer();
    server.on('stream', (stream, headers) => {
      seen.push(headers['grpc-timeout'] as string | undefined);
      stream.on('error', () => {});
      if (headers[':path'] === '/fast') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
      }
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const stats = new StatsStore();
    manager = realClusters(stats, [
      { name: 'g', ports: [(server.address() as AddressInfo).port], http2: true },
    ]);
    const s = await startHttpListener(hcmConfig(table({ cluster: 'g', ...route })), manager, stats);
    listener = s.listener;
    return { port: s.port, stats };
  }

  const grpcHeaders = (path: string, timeout?: string) => ({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...(timeout === undefined ? {} : { 'grpc-timeout': timeout }),
  });

  it("the client's grpc-timeout replaces the route timeout and ends a hanging call", async () => {
    const { port, stats } = await start({
      timeout: 10_000,
      max_stream_duration: { grpc_timeout_header_max: 0 },
    });
    const t0 = performance.now();
    const r = await h2request(port, grpcHeaders('/slow', '200m'), Buffer.from([0, 0, 0, 0, 0]));
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(2000);
    expect(r.status).toBe(200);
    expect(r.headers['grpc-status'] ?? r.trailers['grpc-status']).toBe('14');
    expect(stats.counter('cluster.g.upstream_rq_timeout').value).toBe(1);
  });

  it('caps the grpc-timeout sent upstream at grpc_timeout_header_max, minus the offset', async () => {
    const { port } = await start({
      max_stream_duration: { grpc_timeout_header_max: 300, grpc_timeout_header_offset: 50 },
    });
    const r = await h2request(port, grpcHeaders('/fast', '5S'), Buffer.from([0, 0, 0, 0, 0]));
    expect(r.status).toBe(200);
    expect(seen).toEqual(['250m']);
  });

  it('parses grpc-timeout units and rejects malformed values', () => {
    expect(parseGrpcTimeout('100m')).toBe(100);
    expect(parseGrpcTimeout('2S')).toBe(2000);
    expect(parseGrpcTimeout('1M')).toBe(60_000);
    expect(parseGrpcTimeout('1H')).toBe(3_600_000);
    expect(parseGrpcTimeout('1500u')).toBe(2);
    expect(parseGrpcTimeout('123456789m')).toBe(-1);
    expect(parseGrpcTimeout('10x')).toBe(-1);
    expect(parseGrpcTimeout('m')).toBe(-1);
    expect(parseGrpcTimeout(undefined)).toBe(-1);
    const h: Record<string, string> = {};
    expect(grpcRouteTimeoutMs(h, { maxMs: 0, offsetMs: 0 })).toBe(0);
    expect(h['grpc-timeout']).toBeUndefined();
    expect(grpcRouteTimeoutMs({}, { maxMs: 400, offsetMs: 0 })).toBe(400);
  });

  it('accepts max_stream_duration.max_stream_duration (enforced: resilience-max-stream-duration.test.ts)', () => {
    expect(() => table({ cluster: 'g', max_stream_duration: { max_stream_duration: 1000 } })).not.toThrow();
    expect(() => table({ cluster: 'g', max_stream_duration: { max_stream_duration: -5 } })).toThrow(
      /max_stream_duration\.max_stream_duration/,
    );
  });
});
