import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import type { ListenerModel } from '../../proxy/model/listener.js';
import type { Listener } from '../../proxy/network/listener.js';
import { startListeners, validateListenerSet } from '../../proxy/network/listener-set.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { TestClusters } from '../helpers/test-upstream.js';

function model(name: string, port: number): ListenerModel {
  return {
    name,
    address: '127.0.0.1',
    port,
    perConnectionBufferLimitBytes: 1 << 20,
    filterChains: [
      {
        name: '',
        match: { destinationPort: null, prefixRanges: [], sourcePrefixRanges: [], sourcePorts: [] },
        filter: {
          kind: 'tcp_proxy',
          config: {
            statPrefix: 't',
            cluster: 'c',
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

describe('listener set', () => {
  const open: Listener[] = [];
  let blocker: net.Server | null = null;
  afterEach(async () => {
    for (const l of open.splice(0)) l.forceClose();
    if (blocker !== null) await new Promise<void>((r) => blocker!.close(() => r()));
    blocker = null;
  });

  it('reports duplicate names and addresses with field paths', () => {
    const issues = new Issues();
    validateListenerSet(
      [model('a', 1000), model('a', 1001), model('b', 1000), model('c', 0), model('d', 0)],
      'static_resources.listeners',
      issues,
    );
    expect(issues.format()).toBe(
      'error: static_resources.listeners[1].name: duplicate listener name a\n' +
        'error: static_resources.listeners[2].address: another listener already uses 127.0.0.1:1000',
    );
  });

  it('binds all, and on a bind failure closes the ones already bound', async () => {
    blocker = net.createServer();
    await new Promise<void>((r) => blocker!.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as AddressInfo).port;
    const deps = { stats: new StatsStore(), clusters: new TestClusters() };
    const ok = await startListeners([model('x', 0), model('y', 0)], deps);
    open.push(...ok);
    expect(ok.map((l) => l.port).every((p) => p > 0)).toBe(true);
    await expect(startListeners([model('first', 0), model('clash', taken)], deps)).rejects.toThrow(
      `listener clash: cannot bind 127.0.0.1:${taken}`,
    );
  });
});
