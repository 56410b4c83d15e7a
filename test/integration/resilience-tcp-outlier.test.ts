import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ListenerModel } from '../../proxy/model/listener.js';
import { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import type { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { realClusters } from '../helpers/real-clusters.js';

function tcpListener(): ListenerModel {
  return {
    name: 'tcp',
    address: '127.0.0.1',
    port: 0,
    perConnectionBufferLimitBytes: 1024 * 1024,
    filterChains: [
      {
        name: '',
        match: { destinationPort: null, prefixRanges: [], sourcePrefixRanges: [], sourcePorts: [] },
        filter: {
          kind: 'tcp_proxy',
          config: {
            statPrefix: 'tcp_in',
            cluster: 'svc',
            weightedClusters: [],
            totalWeight: 0,
            idleTimeoutMs: 0,
            maxConnectAttempts: 1,
            accessLogs: [],
          },
        },
      },
    ],
  };
}

/** Sends "hi", collects what comes back until close. */
function exchange(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    const parts: Buffer[] = [];
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('close', () => resolve(Buffer.concat(parts).toString()));
    s.on('error', () => {});
    s.end('hi');
  });
}

describe('outlier detection for tcp_proxy', () => {
  let servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  let manager: ClusterManager | null = null;
  let listener: Listener | null = null;

  afterEach(async () => {
    listener?.forceClose();
    manager?.shutdown();
    for (const c of sockets) c.destroy();
    sockets.clear();
    for (const s of servers) if (s.listening) await new Promise<void>((r) => s.close(() => r()));
    servers = [];
  });

  it('a backend refusing connections is ejected after three connect failures', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      const s = net.createServer((c) => {
        sockets.add(c);
        c.on('error', () => {});
        c.end(`s${i}`);
      });
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      servers.push(s);
      ports.push((s.address() as AddressInfo).port);
    }
    // A port that refuses: bind, note it, close.
    const gone = net.createServer();
    await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
    const deadPort = (gone.address() as AddressInfo).port;
    await new Promise<void>((r) => gone.close(() => r()));
    const stats = new StatsStore();
    manager = realClusters(stats, [
      {
        name: 'svc',
        ports: [...ports, deadPort],
        extra: { outlier_detection: { consecutive_5xx: 3, interval: 60_000, max_ejection_percent: 50 } },
      },
    ]);
    listener = new Listener(tcpListener(), { stats, clusters: manager });
    const port = await listener.listen();
    const got: string[] = [];
    for (let i = 0; i < 15; i++) got.push(await exchange(port));
    expect(got.filter((g) => g === '').length).toBe(3);
    expect(got.slice(-6).every((g) => g === 's0' || g === 's1')).toBe(true);
    expect(stats.counter('cluster.svc.outlier_detection.ejections_enforced_consecutive_5xx').value).toBe(1);
  });
});
