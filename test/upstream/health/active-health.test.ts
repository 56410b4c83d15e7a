import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterEach, describe, expect, it } from 'vitest';
import { Issues } from '../../../proxy/config/issues.js';
import type { Listener } from '../../../proxy/network/listener.js';
import { StatsStore } from '../../../proxy/observability/stats.js';
import type { ClusterManager } from '../../../proxy/upstream/cluster-manager.js';
import { translateHealthCheck } from '../../../proxy/upstream/health/config.js';
import { containsInOrder, encodeCheckRequest, servingStatus } from '../../../proxy/upstream/health/probes.js';
import { HealthFlag } from '../../../proxy/upstream/host.js';
import { request, waitFor } from '../../helpers/http.js';
import { hcmConfig, startHttpListener } from '../../helpers/proxy.js';
import { realClusters } from '../../helpers/real-clusters.js';
import { testRouteTable } from '../../helpers/test-upstream.js';
import { type Backend, startBackends } from './backends.js';

const FAST = {
  timeout: 500,
  interval: 40,
  no_traffic_interval: 40,
  unhealthy_threshold: 2,
  healthy_threshold: 2,
};

describe('active health checking', () => {
  let backends: Backend[] = [];
  let manager: ClusterManager | null = null;
  let listener: Listener | null = null;
  const cleanups: Array<() => Promise<void> | void> = [];

  afterEach(async () => {
    listener?.forceClose();
    listener = null;
    manager?.shutdown();
    manager = null;
    for (const b of backends) await b.close();
    backends = [];
    for (const c of cleanups.splice(0)) await c();
  });

  it('HTTP: a failing host is taken out of balancing and back in after healthy_threshold passes', async () => {
    backends = await startBackends(3);
    const dir = mkdtempSync(join(tmpdir(), 'remora-hc-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const log = join(dir, 'events.log');
    const stats = new StatsStore();
    manager = realClusters(stats, [
      {
        name: 'svc',
        ports: backends.map((b) => b.port),
        extra: {
          health_checks: [
            {
              ...FAST,
              event_log_path: log,
              http_health_check: {
                path: '/healthz',
                host: 'hc.local',
                request_headers_to_add: [{ header: { key: 'x-hc', value: 'yes' } }],
                expected_statuses: [{ start: 200, end: 204 }],
              },
            },
          ],
        },
      },
    ]);
    const cluster = manager.get('svc')!;
    const hosts = cluster.allHosts();
    for (const b of backends) b.pathStatus.set('/healthz', 200);
    await waitFor(() => hosts.every((h) => h.healthy), 3000, 'initial checks');
    expect(stats.gauge('cluster.svc.health_check.healthy').value).toBe(3);
    const started = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'svc' }])),
      manager,
      stats,
    );
    listener = started.listener;
    const port = started.port;
    // b1's check starts failing: out after unhealthy_threshold (2) failures.
    backends[1].pathStatus.set('/healthz', 503);
    const h1 = hosts.find((h) => h.port === backends[1].port)!;
    await waitFor(() => (h1.healthFlags & HealthFlag.FailedActiveHc) !== 0, 3000, 'b1 out');
    const before = backends[1].hits;
    for (let i = 0; i < 12; i++) expect((await request(port, { path: '/x' })).status).toBe(200);
    expect(backends[1].hits).toBe(before);
    expect(stats.counter('cluster.svc.health_check.failure').value).toBeGreaterThanOrEqual(2);
    // Passing again: back in.
    backends[1].pathStatus.set('/healthz', 203);
    await waitFor(() => h1.healthy, 3000, 'b1 back');
    for (let i = 0; i < 6; i++) await request(port, { path: '/x' });
    expect(backends[1].hits).toBeGreaterThan(before);
    await waitFor(() => readFileSync(log, 'utf8').includes('add_healthy_event'), 2000, 'event log');
    const lines = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(
      lines.some(
        (l) => l.eject_unhealthy_event !== undefined && l.host.socket_address.port_value === backends[1].port,
      ),
    ).toBe(true);
    expect(lines.every((l) => l.health_checker_type === 'HTTP' && l.cluster_name === 'svc')).toBe(true);
  });

  it('HTTP: sends the configured Host, path and headers', async () => {
    const seen: Array<{ url: string; host: string; hc: string; ua: string }> = [];
    const srv = (await import('node:http')).createServer((req, res) => {
      seen.push({
        url: req.url ?? '',
        host: req.headers.host ?? '',
        hc: String(req.headers['x-hc']),
        ua: String(req.headers['user-agent']),
      });
      res.end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
    manager = realClusters(new StatsStore(), [
      {
        name: 'svc',
        ports: [(srv.address() as AddressInfo).port],
        extra: {
          health_checks: [
            {
              ...FAST,
              http_health_check: {
                path: '/ready?x=1',
                host: 'hc.local',
                request_headers_to_add: [{ header: { key: 'X-HC', value: 'yes' } }],
              },
            },
          ],
        },
      },
    ]);
    await waitFor(() => seen.length > 0, 2000, 'a check');
    expect(seen[0]).toEqual({ url: '/ready?x=1', host: 'hc.local', hc: 'yes', ua: 'Envoy/HC' });
  });

  it('TCP: send/receive payloads decide health; a refused connect is a network failure', async () => {
    let reply = 'PONG';
    const sockets = new Set<net.Socket>();
    const srv = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      s.on('data', (d: Buffer) => {
        if (d.toString() === 'PING') s.end(`xx${reply}yy`);
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      if (srv.listening) await new Promise<void>((r) => srv.close(() => r()));
    });
    const stats = new StatsStore();
    manager = realClusters(stats, [
      {
        name: 'tcp',
        ports: [(srv.address() as AddressInfo).port],
        extra: {
          health_checks: [
            {
              ...FAST,
              unhealthy_threshold: 1,
              healthy_threshold: 1,
              tcp_health_check: {
                send: { text: Buffer.from('PING').toString('hex') },
                receive: [
                  { text: Buffer.from('PO').toString('hex') },
                  { text: Buffer.from('NG').toString('hex') },
                ],
              },
            },
          ],
        },
      },
    ]);
    const h = manager.get('tcp')!.allHosts()[0];
    await waitFor(() => h.healthy, 2000, 'tcp healthy');
    reply = 'NOPE';
    await waitFor(() => !h.healthy, 2000, 'tcp unhealthy on wrong bytes');
    reply = 'PONG';
    await waitFor(() => h.healthy, 2000, 'tcp healthy again');
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
    await waitFor(() => !h.healthy, 2000, 'tcp unhealthy when refused');
    expect(stats.counter('cluster.tcp.health_check.network_failure').value).toBeGreaterThan(0);
  });

  it('gRPC: grpc.health.v1 Check with service_name; NOT_SERVING takes the host out', async () => {
    const def = protoLoader.loadSync(fileURLToPath(new URL('./health.proto', import.meta.url)), {
      keepCase: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    let status = 'SERVING';
    const asked: string[] = [];
    const server = new grpc.Server();
    server.addService(pkg.grpc.health.v1.Health.service, {
      Check(call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
        asked.push(call.request.service);
        cb(null, { status });
      },
    });
    const gport = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    cleanups.push(() => {
      server.forceShutdown();
    });
    manager = realClusters(new StatsStore(), [
      {
        name: 'g',
        ports: [gport],
        http2: true,
        extra: {
          health_checks: [
            {
              ...FAST,
              unhealthy_threshold: 1,
              healthy_threshold: 1,
              grpc_health_check: { service_name: 'echo.Echo' },
            },
          ],
        },
      },
    ]);
    const h = manager.get('g')!.allHosts()[0];
    await waitFor(() => h.healthy, 3000, 'grpc healthy');
    expect(asked[0]).toBe('echo.Echo');
    status = 'NOT_SERVING';
    await waitFor(() => !h.healthy, 3000, 'grpc not serving');
    status = 'SERVING';
    await waitFor(() => h.healthy, 3000, 'grpc serving again');
  });

  it('a host that never answers stays out; first check decides at once', async () => {
    const stats = new StatsStore();
    manager = realClusters(stats, [
      {
        name: 'dead',
        ports: [1],
        extra: { health_checks: [{ ...FAST, tcp_health_check: {} }] },
      },
    ]);
    const h = manager.get('dead')!.allHosts()[0];
    expect(h.healthFlags & HealthFlag.PendingActiveHc).not.toBe(0);
    await waitFor(() => (h.healthFlags & HealthFlag.PendingActiveHc) === 0, 2000, 'first check');
    expect(h.healthFlags & HealthFlag.FailedActiveHc).not.toBe(0);
    expect(stats.counter('cluster.dead.health_check.attempt').value).toBeGreaterThan(0);
  });
});

describe('health check config', () => {
  it('requires the thresholds and timing, one checker, valid payloads and ranges', () => {
    const issues = new Issues();
    expect(translateHealthCheck({}, 'hc', issues)).toBeNull();
    const t = issues.format();
    for (const f of ['timeout', 'interval', 'unhealthy_threshold', 'healthy_threshold']) {
      expect(t).toContain(`hc.${f}: is required`);
    }
    expect(t).toContain('exactly one of http_health_check');
    const i2 = new Issues();
    translateHealthCheck(
      {
        ...FAST,
        healthy_threshold: 0,
        http_health_check: { path: 'no-slash', expected_statuses: [{ start: 300, end: 200 }] },
      },
      'hc',
      i2,
    );
    expect(i2.format()).toContain('hc.http_health_check.path: must be an absolute path');
    expect(i2.format()).toContain('hc.http_health_check.expected_statuses[0]: must be a range');
    expect(i2.format()).toContain('hc.healthy_threshold: must be at least 1');
    const i3 = new Issues();
    translateHealthCheck({ ...FAST, tcp_health_check: { send: { text: 'zz' } } }, 'hc', i3);
    expect(i3.format()).toContain('hc.tcp_health_check.send.text: must be a non-empty hex string');
    const i4 = new Issues();
    const ok = translateHealthCheck({ ...FAST, http_health_check: { path: '/h' } }, 'hc', i4);
    expect(i4.ok).toBe(true);
    expect(ok?.check).toMatchObject({ kind: 'http', method: 'GET', expectedStatuses: [[200, 201]] });
  });

  it('encodes the gRPC request and decodes the status defensively', () => {
    const f = encodeCheckRequest('svc');
    expect([...f]).toEqual([0, 0, 0, 0, 5, 0x0a, 3, 0x73, 0x76, 0x63]);
    expect(servingStatus(Buffer.from([0, 0, 0, 0, 2, 0x08, 1]))).toBe(1);
    expect(servingStatus(Buffer.from([0, 0, 0, 0, 2, 0x08]))).toBe(0);
    expect(servingStatus(Buffer.from([1, 0, 0, 0, 2, 0x08, 1]))).toBe(0);
    expect(servingStatus(Buffer.alloc(0))).toBe(0);
    expect(containsInOrder(Buffer.from('aXbYc'), [Buffer.from('a'), Buffer.from('c')])).toBe(true);
    expect(containsInOrder(Buffer.from('cXa'), [Buffer.from('a'), Buffer.from('c')])).toBe(false);
  });
});
