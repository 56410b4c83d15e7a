import { createHash } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { RecordingServer, rawExchange } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { realClusters } from '../helpers/real-clusters.js';
import { TestCluster, TestClusters, testRouteTable } from '../helpers/test-upstream.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** Upgraded sockets leave the server's books; kept here so the test can close them. */
const upgraded = new Set<net.Socket>();

/** A WebSocket upstream: answers the handshake by hand and echoes raw bytes back. */
function wsServer(): http.Server {
  const s = http.createServer((_req, res) => res.end('not an upgrade'));
  s.on('upgrade', (req, socket: net.Socket, head: Buffer) => {
    upgraded.add(socket);
    if (req.url === '/refuse') {
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnope');
      return;
    }
    const accept = createHash('sha1')
      .update(String(req.headers['sec-websocket-key']) + GUID)
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    if (head.length > 0) socket.write(head);
    socket.on('data', (c: Buffer) => socket.write(c));
    socket.on('error', () => {});
  });
  return s;
}

describe('WebSocket upgrade', () => {
  let upstream: http.Server;
  let plain: RecordingServer;
  let clusters: TestClusters;
  let listener: Listener;
  let port: number;
  let noUpgradePort: number;
  let noUpgrade: Listener;

  beforeEach(async () => {
    upstream = wsServer();
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    plain = new RecordingServer();
    await plain.listen();
    const stats = new StatsStore();
    clusters = new TestClusters()
      .add(
        new TestCluster(stats, 'ws', [
          { address: '127.0.0.1', port: (upstream.address() as AddressInfo).port },
        ]),
      )
      .add(new TestCluster(stats, 'plain', [{ address: '127.0.0.1', port: plain.port }]));
    const routes = testRouteTable([{ prefix: '/', cluster: 'ws', timeoutMs: 0 }]);
    ({ listener, port } = await startHttpListener(
      hcmConfig(routes, { upgradeTypes: ['websocket'] }),
      clusters,
      stats,
    ));
    ({ listener: noUpgrade, port: noUpgradePort } = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'plain' }]), { statPrefix: 'nu' }),
      clusters,
      stats,
    ));
  });

  afterEach(async () => {
    listener.forceClose();
    noUpgrade.forceClose();
    clusters.destroy();
    upstream.closeAllConnections();
    for (const s of upgraded) s.destroy();
    upgraded.clear();
    await new Promise<void>((r) => upstream.close(() => r()));
    await plain.close();
  });

  it('handshakes through the proxy and pipes bytes both ways', async () => {
    const sock = net.connect(port, '127.0.0.1');
    try {
      sock.write(
        `GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      let buf = '';
      await new Promise<void>((resolve, reject) => {
        const onData = (c: Buffer) => {
          buf += c.toString('latin1');
          if (buf.includes('\r\n\r\n')) {
            sock.removeListener('data', onData);
            resolve();
          }
        };
        sock.on('data', onData);
        sock.on('error', reject);
      });
      expect(buf).toMatch(/^HTTP\/1.1 101/);
      expect(buf.toLowerCase()).toContain('sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=');
      expect(buf.toLowerCase()).toContain('upgrade: websocket');
      // A masked text frame "ping" (bytes pass through untouched, so any bytes do).
      const frame = Buffer.from([0x81, 0x84, 1, 2, 3, 4, 0x71, 0x6b, 0x6d, 0x63]);
      const echoed = new Promise<Buffer>((resolve) => sock.once('data', resolve));
      sock.write(frame);
      expect((await echoed).equals(frame)).toBe(true);
    } finally {
      sock.destroy();
    }
  });

  it('handshakes and pipes through the production HTTP/1 pool', async () => {
    const stats = new StatsStore();
    const manager = realClusters(stats, [{ name: 'ws', ports: [(upstream.address() as AddressInfo).port] }]);
    const { listener: l2, port: p2 } = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'ws', timeoutMs: 0 }]), {
        upgradeTypes: ['websocket'],
      }),
      manager,
      stats,
    );
    const sock = net.connect(p2, '127.0.0.1');
    try {
      sock.write(
        `GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      let buf = '';
      await new Promise<void>((resolve, reject) => {
        const onData = (c: Buffer) => {
          buf += c.toString('latin1');
          if (buf.includes('\r\n\r\n')) {
            sock.removeListener('data', onData);
            resolve();
          }
        };
        sock.on('data', onData);
        sock.on('error', reject);
      });
      expect(buf).toMatch(/^HTTP\/1.1 101/);
      const echoed = new Promise<Buffer>((resolve) => sock.once('data', resolve));
      sock.write('raw bytes');
      expect((await echoed).toString()).toBe('raw bytes');
    } finally {
      sock.destroy();
      l2.forceClose();
      manager.shutdown();
    }
  });

  it('a refused upgrade comes back as an ordinary response', async () => {
    const out = await rawExchange(
      port,
      `GET /refuse HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\n\r\n`,
    );
    expect(out).toMatch(/^HTTP\/1.1 400/);
    expect(out).toContain('nope');
  });

  it('CONNECT is refused with 403', async () => {
    const out = await rawExchange(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1.1 403/);
  });

  it('an upgrade the config does not allow gets 403 and reaches no upstream', async () => {
    const out = await rawExchange(
      noUpgradePort,
      `GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\n\r\n`,
    );
    expect(out).toMatch(/^HTTP\/1.1 403/);
    expect(plain.seen.length).toBe(0);
  });
});
