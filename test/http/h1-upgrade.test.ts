import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import type { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { waitFor } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { realClusters } from '../helpers/real-clusters.js';
import { testRouteTable } from '../helpers/test-upstream.js';

/**
 * Upgrades on remora's HTTP/1 codec: the socket leaves the parser after the upgrade head, keeps
 * the bytes that followed it, and is spliced after the upstream's 101, also when the upgrade was
 * pipelined behind a request still being answered.
 */
describe('HTTP/1 codec upgrades', () => {
  let upstream: http.Server;
  let clusters: ClusterManager;
  let listener: Listener;
  let port: number;
  let held: Array<() => void>;
  const sockets = new Set<net.Socket>();

  beforeEach(async () => {
    held = [];
    upstream = http.createServer((req, res) => {
      if (req.url === '/slow') held.push(() => res.end('slow'));
      else res.end('plain');
    });
    upstream.on('upgrade', (_req, socket: net.Socket, head: Buffer) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      // Echo, upper-cased, so the reply can not be the request bytes passed back by mistake.
      const echo = (c: Buffer): void => {
        socket.write(c.toString('latin1').toUpperCase());
      };
      if (head.length > 0) echo(head);
      socket.on('data', echo);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const stats = new StatsStore();
    clusters = realClusters(stats, [{ name: 'ws', ports: [(upstream.address() as AddressInfo).port] }]);
    ({ listener, port } = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'ws', timeoutMs: 0 }]), {
        upgradeTypes: ['websocket'],
      }),
      clusters,
      stats,
    ));
  });

  afterEach(async () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    listener.forceClose();
    clusters.shutdown();
    upstream.closeAllConnections();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  function connect(): { sock: net.Socket; text: () => string } {
    const sock = net.connect(port, '127.0.0.1');
    sockets.add(sock);
    sock.on('error', () => {});
    let got = '';
    sock.on('data', (c: Buffer) => {
      got += c.toString('latin1');
    });
    return { sock, text: () => got };
  }

  it('bytes sent right after the upgrade head reach the upstream after its 101', async () => {
    const c = connect();
    c.sock.write('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nearly');
    await waitFor(() => c.text().includes('EARLY'), 3000, 'echo of the early bytes');
    expect(c.text()).toMatch(/^HTTP\/1\.1 101 /);
    c.sock.write('later');
    await waitFor(() => c.text().includes('LATER'), 3000, 'echo after the splice');
  });

  it('an upgrade pipelined behind a request waits its turn, then splices', async () => {
    const c = connect();
    c.sock.write(
      'GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nearly',
    );
    await waitFor(() => held.length === 1, 3000, 'held request');
    expect(c.text()).toBe('');
    held[0]();
    await waitFor(() => c.text().includes('EARLY'), 3000, 'echo of the early bytes').catch((e: Error) => {
      throw new Error(`${e.message}; got ${JSON.stringify(c.text())}`);
    });
    const text = c.text();
    expect(text.indexOf('slow')).toBeLessThan(text.indexOf('101 Switching'));
    c.sock.write('more');
    await waitFor(() => c.text().includes('MORE'), 3000, 'echo after the splice');
  });
});
