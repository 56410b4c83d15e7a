import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { RecordingServer, rawExchange, request, waitFor } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { TestCluster, TestClusters, testRouteTable } from '../helpers/test-upstream.js';

describe('HTTP/1.1 through the proxy', () => {
  let upstream: RecordingServer;
  let clusters: TestClusters;
  let listener: Listener;
  let port: number;
  let stats: StatsStore;

  beforeEach(async () => {
    upstream = new RecordingServer();
    const up = await upstream.listen();
    stats = new StatsStore();
    clusters = new TestClusters()
      .add(new TestCluster(stats, 'backend', [{ address: '127.0.0.1', port: up }]))
      .add(new TestCluster(stats, 'down', [{ address: '127.0.0.1', port: 1 }]))
      .add(new TestCluster(stats, 'empty', []));
    const routes = testRouteTable([
      { prefix: '/nocluster', cluster: 'missing' },
      { prefix: '/down', cluster: 'down' },
      { prefix: '/empty', cluster: 'empty' },
      { prefix: '/direct', direct: { status: 200, body: 'hi' } },
      { prefix: '/', cluster: 'backend', name: 'default' },
    ]);
    ({ listener, port } = await startHttpListener(hcmConfig(routes), clusters, stats));
  });

  afterEach(async () => {
    listener.forceClose();
    clusters.destroy();
    await upstream.close();
  });

  it('proxies GET over a keep-alive connection and counts stats', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const a = await request(port, { path: '/one', agent });
    const b = await request(port, { path: '/two?x=1', agent });
    agent.destroy();
    expect(a.status).toBe(200);
    expect(JSON.parse(b.body.toString()).url).toBe('/two?x=1');
    expect(a.headers.server).toBe('remora');
    expect(a.headers['x-envoy-upstream-service-time']).toMatch(/^\d+$/);
    expect(upstream.seen.length).toBe(2);
    expect(stats.counter('http.ingress.downstream_rq_total').value).toBe(2);
    expect(stats.counter('http.ingress.downstream_cx_total').value).toBe(1);
    expect(stats.counter('http.ingress.downstream_rq_2xx').value).toBe(2);
    expect(stats.counter('cluster.backend.upstream_rq_200').value).toBe(2);
    expect(stats.counter('listener.127.0.0.1_' + port + '.downstream_cx_total').value).toBe(1);
  });

  it('forwards a POST body and sets forwarding headers', async () => {
    const res = await request(port, {
      method: 'POST',
      path: '/p',
      body: 'x'.repeat(1000),
      headers: { 'x-forwarded-for': '1.2.3.4' },
    });
    expect(res.status).toBe(200);
    const seen = upstream.seen[0];
    expect(seen.body.length).toBe(1000);
    expect(seen.headers['x-forwarded-for']).toBe('1.2.3.4,127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('strips fields named in Connection but still appends its own x-forwarded-for', async () => {
    const out = await rawExchange(
      port,
      'GET /h HTTP/1.1\r\nHost: a\r\nConnection: close, X-Forwarded-For, X-Secret\r\nX-Forwarded-For: 6.6.6.6\r\nX-Secret: s\r\nKeep-Alive: 5\r\nProxy-Connection: keep-alive\r\nTE: gzip\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1.1 200/);
    const h = upstream.seen[0].headers;
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-secret']).toBeUndefined();
    expect(h['keep-alive']).toBeUndefined();
    expect(h['proxy-connection']).toBeUndefined();
    expect(h.te).toBeUndefined();
  });

  it('does not honour Upgrade: h2c; strips Upgrade and HTTP2-Settings', async () => {
    const out = await rawExchange(
      port,
      'GET /u HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1.1 200/);
    const h = upstream.seen[0].headers;
    expect(h.upgrade).toBeUndefined();
    expect(h['http2-settings']).toBeUndefined();
  });

  it('answers Expect: 100-continue itself and does not forward Expect', async () => {
    const res = await new Promise<{ status: number; sawContinue: boolean }>((resolve, reject) => {
      let sawContinue = false;
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/e',
          headers: { expect: '100-continue', 'content-length': 3 },
        },
        (r) => {
          r.resume();
          r.on('end', () => resolve({ status: r.statusCode ?? 0, sawContinue }));
        },
      );
      req.on('continue', () => {
        sawContinue = true;
        req.end('abc');
      });
      req.on('error', reject);
    });
    expect(res.sawContinue).toBe(true);
    expect(res.status).toBe(200);
    expect(upstream.seen[0].headers.expect).toBeUndefined();
    expect(upstream.seen[0].body.toString()).toBe('abc');
  });

  it('keeps an existing x-request-id from an internal client', async () => {
    await request(port, { path: '/id', headers: { 'x-request-id': 'abc' } });
    expect(upstream.seen[0].headers['x-request-id']).toBe('abc');
  });

  it('404 NR when no route matches', async () => {
    const routes = testRouteTable([{ prefix: '/only', cluster: 'backend' }]);
    const s2 = new StatsStore();
    const { listener: l2, port: p2 } = await startHttpListener(hcmConfig(routes), clusters, s2);
    try {
      const res = await request(p2, { path: '/x' });
      expect(res.status).toBe(404);
      expect(upstream.seen.length).toBe(0);
      expect(s2.counter('http.ingress.downstream_rq_4xx').value).toBe(1);
    } finally {
      l2.forceClose();
    }
  });

  it('503 when the cluster is missing, has no host, or refuses connections', async () => {
    const nc = await request(port, { path: '/nocluster' });
    expect(nc.status).toBe(503);
    const uh = await request(port, { path: '/empty' });
    expect(uh.status).toBe(503);
    expect(uh.body.toString()).toBe('no healthy upstream');
    const uf = await request(port, { path: '/down' });
    expect(uf.status).toBe(503);
    expect(uf.body.toString()).toBe(
      'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
    );
    expect(stats.counter('cluster.down.upstream_rq_503').value).toBe(1);
  });

  it('direct_response from the route', async () => {
    const res = await request(port, { path: '/direct' });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('hi');
  });

  it('counts active requests back to zero', async () => {
    await request(port, { path: '/a' });
    await waitFor(() => stats.gauge('http.ingress.downstream_rq_active').value === 0);
    expect(stats.gauge('cluster.backend.upstream_rq_active').value).toBe(0);
  });
});
