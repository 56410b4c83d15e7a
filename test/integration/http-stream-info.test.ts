import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessLogSink } from '../../proxy/http/access-log-sink.js';
import { formatResponseFlags } from '../../proxy/http/response-flags.js';
import type { StreamInfo } from '../../proxy/http/stream-info.js';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { h2request, RecordingServer, request, waitFor } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { TestCluster, TestClusters, testRouteTable } from '../helpers/test-upstream.js';

/** What the access log sees: response code, flags and details per Envoy's names. */
describe('StreamInfo handed to access logs', () => {
  let upstream: RecordingServer;
  let hang: http.Server;
  let clusters: TestClusters;
  let listener: Listener;
  let port: number;
  let hangSeen = 0;
  const logged: StreamInfo[] = [];
  const sink: AccessLogSink = { log: (i) => logged.push(i) };

  beforeEach(async () => {
    logged.length = 0;
    upstream = new RecordingServer();
    await upstream.listen();
    hangSeen = 0;
    hang = http.createServer(() => {
      hangSeen++;
    });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const stats = new StatsStore();
    clusters = new TestClusters()
      .add(new TestCluster(stats, 'ok', [{ address: '127.0.0.1', port: upstream.port }]))
      .add(new TestCluster(stats, 'dead', [{ address: '127.0.0.1', port: 1 }]))
      .add(
        new TestCluster(stats, 'hang', [
          { address: '127.0.0.1', port: (hang.address() as AddressInfo).port },
        ]),
      )
      .add(new TestCluster(stats, 'none', []));
    const routes = testRouteTable([
      { prefix: '/ok', cluster: 'ok', name: 'r-ok' },
      { prefix: '/dead', cluster: 'dead' },
      { prefix: '/hang-long', cluster: 'hang', timeoutMs: 0 },
      { prefix: '/hang', cluster: 'hang', timeoutMs: 50 },
      { prefix: '/none', cluster: 'none' },
      { prefix: '/nc', cluster: 'missing' },
    ]);
    ({ listener, port } = await startHttpListener(
      hcmConfig(routes, { accessLogs: [{ sink, raw: {} }] }),
      clusters,
      stats,
    ));
  });

  afterEach(async () => {
    listener.forceClose();
    clusters.destroy();
    await upstream.close();
    hang.closeAllConnections();
    await new Promise<void>((r) => hang.close(() => r()));
  });

  async function one(path: string): Promise<StreamInfo> {
    await request(port, { path });
    await waitFor(() => logged.length === 1, 3000, 'access log');
    return logged[0];
  }

  const CASES: ReadonlyArray<readonly [string, number, string, string]> = [
    ['/ok', 200, '-', 'via_upstream'],
    ['/missing-route', 404, 'NR', 'route_not_found'],
    ['/nc', 503, 'NC', 'cluster_not_found'],
    ['/none', 503, 'UH', 'no_healthy_upstream'],
    ['/dead', 503, 'UF', 'upstream_reset_before_response_started{connection_failure}'],
    ['/hang', 504, 'UT', 'upstream_response_timeout'],
  ];

  for (const [path, code, flags, details] of CASES) {
    it(`${path}: ${code} ${flags} ${details}`, async () => {
      const info = await one(path);
      expect(info.responseCode).toBe(code);
      expect(formatResponseFlags(info.responseFlags)).toBe(flags);
      expect(info.responseCodeDetails).toBe(details);
      expect(info.protocol).toBe('HTTP/1.1');
      expect(info.durationMs()).toBeGreaterThanOrEqual(0);
      expect(info.downstreamRemoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    });
  }

  it('a proxied request records upstream host, cluster, route, bytes and request id', async () => {
    await request(port, { path: '/ok', method: 'POST', body: 'abcd' });
    await waitFor(() => logged.length === 1);
    const info = logged[0];
    expect(info.upstreamCluster).toBe('ok');
    expect(info.upstreamHost).toBe(`127.0.0.1:${upstream.port}`);
    expect(info.routeName).toBe('r-ok');
    expect(info.bytesReceived).toBe(4);
    expect(info.bytesSent).toBeGreaterThan(0);
    expect(info.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(info.firstUpstreamRxMono).toBeGreaterThan(0);
  });

  it('HTTP/2 protocol is recorded', async () => {
    await h2request(port, { ':path': '/ok' });
    await waitFor(() => logged.length === 1);
    expect(logged[0].protocol).toBe('HTTP/2');
  });

  it('a client that goes away mid-request is DC', async () => {
    const req = http.request({ host: '127.0.0.1', port, path: '/hang-long', agent: false });
    req.on('error', () => {});
    req.end();
    await waitFor(() => hangSeen === 1, 3000, 'request upstream');
    req.destroy();
    await waitFor(() => logged.length === 1, 3000, 'access log');
    expect(formatResponseFlags(logged[0].responseFlags)).toContain('DC');
  });
});
