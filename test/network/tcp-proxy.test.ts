import net, { type AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ListenerModel, TcpProxyConfig } from '../../proxy/model/listener.js';
import { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { waitFor } from '../helpers/http.js';
import { TestCluster, TestClusters } from '../helpers/test-upstream.js';

function tcpListener(cfg: Partial<TcpProxyConfig>): ListenerModel {
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
            cluster: 'echo',
            weightedClusters: [],
            totalWeight: 0,
            idleTimeoutMs: 0,
            maxConnectAttempts: 1,
            accessLogs: [],
            ...cfg,
          },
        },
      },
    ],
  };
}

/** Sends `data`, half-closes, collects everything until the peer closes. */
function exchange(port: number, data: Buffer): Promise<{ got: Buffer; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const parts: Buffer[] = [];
    let ended = false;
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('end', () => {
      ended = true;
      s.end();
    });
    s.on('close', () => resolve({ got: Buffer.concat(parts), ended }));
    s.on('error', reject);
    s.end(data);
  });
}

describe('tcp_proxy', () => {
  let echo: net.Server;
  let stats: StatsStore;
  let clusters: TestClusters;
  const listeners: Listener[] = [];

  beforeEach(async () => {
    // Echoes everything, and only answers its "bye" after the client half-closed.
    echo = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('data', (c: Buffer) => s.write(c));
      s.on('end', () => s.end('bye'));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    stats = new StatsStore();
    clusters = new TestClusters()
      .add(
        new TestCluster(stats, 'echo', [
          { address: '127.0.0.1', port: (echo.address() as AddressInfo).port },
        ]),
      )
      .add(new TestCluster(stats, 'dead', [{ address: '127.0.0.1', port: 1 }]));
  });

  afterEach(async () => {
    for (const l of listeners) l.forceClose();
    listeners.length = 0;
    await new Promise<void>((r) => echo.close(() => r()));
  });

  async function start(cfg: Partial<TcpProxyConfig>): Promise<number> {
    const l = new Listener(tcpListener(cfg), { stats, clusters });
    listeners.push(l);
    return l.listen();
  }

  it('pipes both ways and passes half-close through', async () => {
    const port = await start({});
    const payload = Buffer.alloc(3 * 1024 * 1024, 7);
    const { got, ended } = await exchange(port, payload);
    expect(ended).toBe(true);
    expect(got.length).toBe(payload.length + 3);
    expect(got.subarray(payload.length).toString()).toBe('bye');
    expect(stats.counter('tcp.tcp_in.downstream_cx_total').value).toBe(1);
    expect(stats.counter('tcp.tcp_in.downstream_cx_rx_bytes_total').value).toBe(payload.length);
    expect(stats.counter('tcp.tcp_in.downstream_cx_tx_bytes_total').value).toBe(payload.length + 3);
    expect(stats.counter('cluster.echo.upstream_cx_total').value).toBe(1);
  });

  it('closes the downstream when the upstream refuses the connection', async () => {
    const port = await start({ cluster: 'dead', maxConnectAttempts: 2 });
    const { got } = await exchange(port, Buffer.from('hello'));
    expect(got.length).toBe(0);
    expect(stats.counter('cluster.dead.upstream_cx_connect_fail').value).toBe(2);
  });

  it('closes the downstream when the cluster is unknown', async () => {
    const port = await start({ cluster: 'nope' });
    const { got } = await exchange(port, Buffer.from('hello'));
    expect(got.length).toBe(0);
    expect(stats.counter('tcp.tcp_in.downstream_cx_no_route').value).toBe(1);
  });

  it('weighted clusters pick among the named clusters', async () => {
    const port = await start({
      cluster: '',
      weightedClusters: [{ name: 'echo', weight: 1 }],
      totalWeight: 1,
    });
    const { got } = await exchange(port, Buffer.from('x'));
    expect(got.toString()).toBe('xbye');
  });

  it('idle timeout closes a silent connection', async () => {
    const port = await start({ idleTimeoutMs: 100 });
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.write('hi');
    s.resume();
    const closed = new Promise<void>((r) => s.on('close', () => r()));
    await closed;
    await waitFor(() => stats.counter('tcp.tcp_in.idle_timeout').value === 1);
  });
});
