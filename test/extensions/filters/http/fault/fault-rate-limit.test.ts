import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Issues } from '../../../../../proxy/config/issues.js';
import type { ProtoObject } from '../../../../../proxy/config/proto-object.js';
import type { FaultConfig } from '../../../../../proxy/extensions/filters/http/fault/config.js';
import { faultFilterFactory } from '../../../../../proxy/extensions/filters/http/fault/factory.js';
import type { Listener } from '../../../../../proxy/network/listener.js';
import { StatsStore } from '../../../../../proxy/observability/stats.js';
import type { ClusterManager } from '../../../../../proxy/upstream/cluster-manager.js';
import { waitFor } from '../../../../helpers/http.js';
import { startHttpListener } from '../../../../helpers/proxy.js';
import { realClusters } from '../../../../helpers/real-clusters.js';
import { faultHcm } from './fault-hcm.js';

function parse(c: ProtoObject, issues = new Issues()): FaultConfig {
  const cfg = faultFilterFactory.parseConfig(c, 'fault', issues);
  return cfg;
}

const BODY = Buffer.alloc(64 * 1024);
for (let i = 0; i < BODY.length; i++) BODY[i] = i % 251;

interface Timed {
  status: number;
  body: Buffer;
  firstMs: number;
  lastMs: number;
}

function timedGet(port: number, headers: Record<string, string> = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      let firstMs = -1;
      let lastMs = -1;
      res.on('data', (c: Buffer) => {
        const now = performance.now();
        if (firstMs < 0) firstMs = now;
        lastMs = now;
        parts.push(c);
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), firstMs, lastMs }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe('fault response_rate_limit', () => {
  let upstream: http.Server | null = null;
  const sockets = new Set<Socket>();
  let manager: ClusterManager | null = null;
  let listener: Listener | null = null;
  /** Bytes the upstream managed to write of its current response. */
  let upstreamWritten = 0;
  let big = false;

  afterEach(async () => {
    listener?.forceClose();
    manager?.shutdown();
    for (const s of sockets) s.destroy();
    sockets.clear();
    if (upstream !== null) await new Promise<void>((r) => upstream!.close(() => r()));
    upstream = null;
    big = false;
  });

  async function start(cfg: FaultConfig) {
    upstreamWritten = 0;
    upstream = http.createServer((_req, res) => {
      if (!big) {
        res.writeHead(200, { 'content-length': BODY.length });
        res.end(BODY);
        return;
      }
      // 16 MiB written as fast as the proxy takes it (respecting the socket's backpressure).
      const chunk = Buffer.alloc(64 * 1024, 7);
      let left = 256;
      res.writeHead(200, { 'content-length': chunk.length * left });
      const pump = (): void => {
        while (left > 0) {
          left--;
          upstreamWritten += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    upstream.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => upstream!.listen(0, '127.0.0.1', r));
    const stats = new StatsStore();
    manager = realClusters(stats, [{ name: 'svc', ports: [(upstream.address() as AddressInfo).port] }]);
    const hcm = faultHcm(cfg);
    const s = await startHttpListener(hcm, manager, stats);
    listener = s.listener;
    return s.port;
  }

  it('fixed_limit 64 (KiB/s): a 64 KiB body takes about a second between first and last byte, intact', async () => {
    const cfg = parse({
      response_rate_limit: { fixed_limit: { limit_kbps: 64 }, percentage: { numerator: 100 } },
    });
    const port = await start(cfg);
    const r = await timedGet(port);
    expect(r.status).toBe(200);
    expect(r.body.equals(BODY)).toBe(true);
    expect(r.lastMs - r.firstMs).toBeGreaterThanOrEqual(800);
    expect(cfg.stats.response_rl_injected.value).toBe(1);
    expect(cfg.stats.active_faults.value).toBe(0);
  });

  it('header_limit: x-envoy-fault-throughput-response sets the rate; without it there is none', async () => {
    const cfg = parse({ response_rate_limit: { header_limit: {}, percentage: { numerator: 100 } } });
    const port = await start(cfg);
    const fast = await timedGet(port);
    expect(fast.body.equals(BODY)).toBe(true);
    expect(fast.lastMs - fast.firstMs).toBeLessThan(500);
    const slow = await timedGet(port, { 'x-envoy-fault-throughput-response': '256' });
    expect(slow.body.equals(BODY)).toBe(true);
    // 64 KiB at 256 KiB/s: four sixteenths of a second after the first.
    expect(slow.lastMs - slow.firstMs).toBeGreaterThanOrEqual(150);
    expect(cfg.stats.response_rl_injected.value).toBe(1);
  });

  it('backpressure: a throttled 16 MiB response is not read from the upstream ahead of the rate', async () => {
    big = true;
    const cfg = parse({
      response_rate_limit: { fixed_limit: { limit_kbps: 64 }, percentage: { numerator: 100 } },
    });
    const port = await start(cfg);
    let received = 0;
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.on('data', (c: Buffer) => {
        received += c.length;
      });
      res.on('error', () => {});
    });
    req.on('error', () => {});
    await waitFor(() => received > 0, 3000, 'first bytes');
    const t0 = performance.now();
    // Let the stream run for a while (bounded poll on the clock, not a bare sleep).
    await waitFor(() => performance.now() - t0 >= 400, 2000, 'throttled for 400 ms');
    // Socket buffers on both sides hold some MiB at most; without backpressure all 16 would be gone.
    expect(upstreamWritten).toBeLessThan(12 * 1024 * 1024);
    expect(received).toBeLessThan(200 * 1024);
    req.destroy();
    await waitFor(() => cfg.stats.active_faults.value === 0, 3000, 'fault released');
  });

  it('a gRPC response is throttled too: its trailers follow the last released byte', async () => {
    const cfg = parse({
      response_rate_limit: { fixed_limit: { limit_kbps: 64 }, percentage: { numerator: 100 } },
    });
    const grpcBody = BODY.subarray(0, 32 * 1024);
    const h2 = http2.createServer();
    h2.on('stream', (st) => {
      st.on('error', () => {});
      st.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      st.on('wantTrailers', () => st.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'done' }));
      st.end(grpcBody);
    });
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
    const client: { session: http2.ClientHttp2Session | null } = { session: null };
    try {
      const stats = new StatsStore();
      manager = realClusters(stats, [
        { name: 'svc', ports: [(h2.address() as AddressInfo).port], http2: true },
      ]);
      const hcm = faultHcm(cfg);
      const started = await startHttpListener(hcm, manager, stats);
      listener = started.listener;
      const session = http2.connect(`http://127.0.0.1:${started.port}`);
      client.session = session;
      const res = await new Promise<{
        body: Buffer;
        trailers: http2.IncomingHttpHeaders;
        firstMs: number;
        trailersMs: number;
      }>((resolve, reject) => {
        const st = session.request({
          ':method': 'POST',
          ':path': '/svc.Echo/Say',
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        const parts: Buffer[] = [];
        let firstMs = -1;
        let trailersMs = -1;
        let trailers: http2.IncomingHttpHeaders = {};
        st.on('data', (c: Buffer) => {
          if (firstMs < 0) firstMs = performance.now();
          parts.push(c);
        });
        st.on('trailers', (t) => {
          trailersMs = performance.now();
          trailers = t;
        });
        st.on('end', () => resolve({ body: Buffer.concat(parts), trailers, firstMs, trailersMs }));
        st.on('error', reject);
        st.end(Buffer.from([0, 0, 0, 0, 0]));
      });
      expect(res.body.equals(grpcBody)).toBe(true);
      expect(res.trailers['grpc-status']).toBe('0');
      expect(res.trailers['grpc-message']).toBe('done');
      // 32 KiB at 64 KiB/s: about half a second from the first byte to the trailers.
      expect(res.trailersMs - res.firstMs).toBeGreaterThanOrEqual(350);
      expect(cfg.stats.response_rl_injected.value).toBe(1);
      await waitFor(() => cfg.stats.active_faults.value === 0, 3000, 'fault released');
    } finally {
      client.session?.close();
      await new Promise<void>((r) => h2.close(() => r()));
    }
  });

  it('bad config is refused with field paths', () => {
    const issues = new Issues();
    parse({ response_rate_limit: { fixed_limit: { limit_kbps: 0 } } }, issues);
    expect(issues.format()).toContain('fault.response_rate_limit.fixed_limit.limit_kbps');
    const none = new Issues();
    parse({ response_rate_limit: { percentage: { numerator: 100 } } }, none);
    expect(none.format()).toContain('one of fixed_limit, header_limit is required');
  });
});
