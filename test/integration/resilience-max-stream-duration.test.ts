import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { compileRouteConfig } from '../../proxy/router/compile.js';
import type { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { translateRouteConfiguration } from '../../proxy/xds/route-configuration.js';
import { request } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { realClusters } from '../helpers/real-clusters.js';

function translate(route: ProtoObject, issues: Issues) {
  return translateRouteConfiguration(
    {
      name: 'r',
      virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route }] }],
    },
    'route_config',
    issues,
  );
}

describe('route max_stream_duration.max_stream_duration', () => {
  let upstream: http.Server | null = null;
  const sockets = new Set<Socket>();
  let manager: ClusterManager | null = null;
  let listener: Listener | null = null;

  afterEach(async () => {
    listener?.forceClose();
    manager?.shutdown();
    for (const s of sockets) s.destroy();
    sockets.clear();
    if (upstream !== null) await new Promise<void>((r) => upstream!.close(() => r()));
    upstream = null;
  });

  async function start(route: ProtoObject) {
    // /hang never answers; /trickle sends its head and one chunk, then never ends; /fast answers.
    upstream = http.createServer((req, res) => {
      if (req.url === '/fast') res.end('ok');
      else if (req.url === '/trickle') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first');
      }
    });
    upstream.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => upstream!.listen(0, '127.0.0.1', r));
    const stats = new StatsStore();
    manager = realClusters(stats, [{ name: 'svc', ports: [(upstream.address() as AddressInfo).port] }]);
    const issues = new Issues();
    const m = translate({ cluster: 'svc', ...route }, issues);
    expect(issues.format()).toBe('');
    const s = await startHttpListener(hcmConfig(compileRouteConfig(m!)), manager, stats);
    listener = s.listener;
    return { port: s.port, stats };
  }

  it('no response started: 408 after the duration (Envoy: downstream duration timeout)', async () => {
    const { port, stats } = await start({ max_stream_duration: { max_stream_duration: 200 } });
    const t0 = performance.now();
    const r = await request(port, { path: '/hang' });
    const elapsed = performance.now() - t0;
    expect(r.status).toBe(408);
    expect(r.body.toString()).toContain('downstream duration timeout');
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(3000);
    expect(stats.counter('cluster.svc.upstream_rq_408').value).toBe(1);
    // A request that finishes in time is untouched.
    expect((await request(port, { path: '/fast' })).status).toBe(200);
  });

  it('response started: the stream is reset once the duration is over', async () => {
    const { port } = await start({ max_stream_duration: { max_stream_duration: 200 } });
    const t0 = performance.now();
    const outcome = await new Promise<{ status: number; body: string; aborted: boolean }>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/trickle', agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('error', () => {});
        res.on('close', () => resolve({ status: res.statusCode ?? 0, body, aborted: !res.complete }));
      });
      req.on('error', () => resolve({ status: 0, body: '', aborted: true }));
    });
    expect(outcome.status).toBe(200);
    expect(outcome.body).toBe('first');
    expect(outcome.aborted).toBe(true);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(150);
  });

  it('a bad duration is refused with its field path', () => {
    const issues = new Issues();
    translate({ cluster: 'svc', max_stream_duration: { max_stream_duration: 'soon' } }, issues);
    expect(issues.format()).toContain('max_stream_duration.max_stream_duration');
  });
});
