/**
 * The listener manager under LDS updates: a replaced listener takes the same socket over (the port
 * never stops accepting), the old one finishes what it started and drains its keep-alive
 * connections instead of cutting them; a listener that moves binds its new port first; a removed
 * one stops accepting and drains; a port in use is a counted failure that keeps the old listener.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import { buildRegistries } from '../../proxy/extensions.js';
import type { ListenerModel } from '../../proxy/model/listener.js';
import { ListenerManager } from '../../proxy/network/listener-manager.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { compileRouteConfig } from '../../proxy/router/compile.js';
import { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { translateCluster } from '../../proxy/xds/cluster.js';
import { translateRouteConfiguration } from '../../proxy/xds/route-configuration.js';
import { RecordingServer } from '../helpers/http.js';
import { hcmConfig } from '../helpers/proxy.js';
import { staticCluster, until } from './dynamic-harness.js';
import { freePort } from './dynamic-proxy.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function directResponse(name: string, body: string): ListenerModel['filterChains'][number]['filter'] {
  const issues = new Issues();
  const model = translateRouteConfiguration(
    {
      name,
      virtual_hosts: [
        {
          name: 'all',
          domains: ['*'],
          routes: [
            { match: { prefix: '/slow' }, route: { cluster: 'slow' } },
            { match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: body } } },
          ],
        },
      ],
    },
    '',
    issues,
  );
  if (model === null) throw new Error(issues.format());
  return {
    kind: 'http_connection_manager',
    config: hcmConfig(compileRouteConfig(model), { statPrefix: name }),
  };
}

function listener(name: string, port: number, body: string): ListenerModel {
  return {
    name,
    address: '127.0.0.1',
    port,
    perConnectionBufferLimitBytes: 1024 * 1024,
    filterChains: [
      {
        name: '',
        match: { destinationPort: null, prefixRanges: [], sourcePrefixRanges: [], sourcePorts: [] },
        filter: directResponse(name, body),
      },
    ],
  };
}

async function setup(): Promise<{
  lm: ListenerManager;
  stats: StatsStore;
  release: () => void;
  slowSeen: () => number;
}> {
  let release: () => void = () => {};
  let seen = 0;
  const slow = new RecordingServer((_req, res) => {
    seen++;
    release = () => res.end('slow-done');
  });
  await slow.listen();
  cleanups.push(() => slow.close());
  const stats = new StatsStore();
  const registries = buildRegistries();
  const clusters = new ClusterManager({ stats, discoveries: registries.clusterDiscoveries });
  const issues = new Issues();
  const m = translateCluster(staticCluster('slow', slow.port), '', issues, {
    lbPolicies: registries.lbPoliciesByEnum,
  });
  if (m === null) throw new Error(issues.format());
  clusters.addOrUpdate(m);
  cleanups.push(() => clusters.shutdown());
  const lm = new ListenerManager({ stats, clusters, drainTimeMs: 3000 });
  cleanups.push(() => lm.forceCloseAll());
  return { lm, stats, release: () => release(), slowSeen: () => seen };
}

function get(
  port: number,
  path: string,
  agent: http.Agent | false = false,
): Promise<{ body: string; connection: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ body, connection: String(res.headers.connection ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('listener manager', () => {
  it('a replaced listener takes the socket over; the old one finishes its request and drains', async () => {
    const { lm, stats, release, slowSeen } = await setup();
    const port = await freePort();
    expect(await lm.addOrUpdate(listener('web', port, 'v1'))).toBe('added');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    expect((await get(port, '/', agent)).body).toBe('v1');
    const old = lm.get('web');
    // A request in flight on the old listener when the update lands.
    const inflight = get(port, '/slow');
    await until(() => slowSeen() === 1, 3000, 'slow request upstream');

    expect(await lm.addOrUpdate(listener('web', port, 'v2'))).toBe('updated');
    expect(lm.get('web')).not.toBe(old);
    // New connections reach the new listener at once, on the same port.
    expect((await get(port, '/')).body).toBe('v2');
    expect(Object.keys(agent.freeSockets)).toHaveLength(1); // still open to the old listener
    // The old listener drains rather than cuts: its idle keep-alive connection is closed (after
    // the short grace), while the request in flight finishes, told to close its connection.
    await until(() => Object.keys(agent.freeSockets).length === 0, 3000, 'idle keep-alive closed');
    release();
    expect(await inflight).toEqual({ body: 'slow-done', connection: 'close' });
    await until(() => lm.drainingListeners().length === 0, 3000, 'old listener drained');
    expect(stats.counter('listener_manager.listener_modified').value).toBe(1);
    expect(stats.gauge('listener_manager.total_listeners_active').value).toBe(1);
  });

  it('a listener that moves binds its new port and releases the old one; removal stops accepting', async () => {
    const { lm } = await setup();
    const p1 = await freePort();
    const p2 = await freePort();
    await lm.addOrUpdate(listener('web', p1, 'one'));
    expect(await lm.addOrUpdate(listener('web', p2, 'two'))).toBe('updated');
    expect((await get(p2, '/')).body).toBe('two');
    await expect(get(p1, '/')).rejects.toThrow(/ECONNREFUSED/);
    expect(await lm.remove('web')).toBe(true);
    await expect(get(p2, '/')).rejects.toThrow(/ECONNREFUSED/);
    expect(await lm.remove('web')).toBe(false);
  });

  it('a port already in use fails the update, counts it and keeps the old listener serving', async () => {
    const { lm, stats } = await setup();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => blocker.close(r)));
    const taken = (blocker.address() as net.AddressInfo).port;
    const port = await freePort();
    await lm.addOrUpdate(listener('web', port, 'kept'));
    expect(await lm.addOrUpdate(listener('web', taken, 'never'))).toBe('failed');
    expect(stats.counter('listener_manager.listener_create_failure').value).toBe(1);
    expect((await get(port, '/')).body).toBe('kept');
  });
});
