import net, { type AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import type { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { h2request, request } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { realClusters } from '../helpers/real-clusters.js';
import { testRouteTable } from '../helpers/test-upstream.js';

/** A port on loopback that refuses connections: bound once, then closed. */
async function refusedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A refused upstream connection is counted once: by the upstream socket layer (host cxConnectFail,
 * which /clusters prints as cx_connect_fail, and cluster.<name>.upstream_cx_connect_fail), not
 * again by the router that turns it into a 503 UF.
 */
describe('upstream connect failure accounting', () => {
  let manager: ClusterManager;
  let listener: Listener;
  let port: number;
  let stats: StatsStore;

  beforeEach(async () => {
    stats = new StatsStore();
    const dead = await refusedPort();
    manager = realClusters(stats, [
      { name: 'dead1', ports: [dead] },
      { name: 'dead2', ports: [dead], http2: true },
    ]);
    const routes = testRouteTable([
      { prefix: '/h2', cluster: 'dead2' },
      { prefix: '/', cluster: 'dead1' },
    ]);
    ({ listener, port } = await startHttpListener(hcmConfig(routes), manager, stats));
  });

  afterEach(() => {
    listener.forceClose();
    manager.shutdown();
  });

  function connectFails(cluster: string): { host: number; stat: number } {
    const c = manager.get(cluster);
    if (c === undefined) throw new Error(`no cluster ${cluster}`);
    const hosts = c.allHosts();
    expect(hosts).toHaveLength(1);
    return { host: hosts[0].cxConnectFail, stat: c.stats.upstream_cx_connect_fail.value };
  }

  it('HTTP/1.1 pool: one refused connection is one cx_connect_fail', async () => {
    const res = await request(port, { path: '/x' });
    expect(res.status).toBe(503);
    expect(connectFails('dead1')).toEqual({ host: 1, stat: 1 });
    const again = await request(port, { path: '/y' });
    expect(again.status).toBe(503);
    expect(connectFails('dead1')).toEqual({ host: 2, stat: 2 });
  });

  it('HTTP/2 pool: one refused connection is one cx_connect_fail', async () => {
    const res = await h2request(port, { ':path': '/h2' });
    expect(res.status).toBe(503);
    expect(connectFails('dead2')).toEqual({ host: 1, stat: 1 });
  });
});
