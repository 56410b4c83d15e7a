/**
 * The proxy's dynamic half assembled as main.ts assembles it (cluster manager, listener manager,
 * DynamicConfig over a real ADS stream), without a bootstrap file, for the dynamic-config tests.
 */
import net, { type AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import type { ApiType } from '../../control-client/index.js';
import { buildRegistries } from '../../proxy/extensions.js';
import { ListenerManager } from '../../proxy/network/listener-manager.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { DynamicConfig } from '../../proxy/xds/dynamic/dynamic-config.js';
import { RecordingServer } from '../helpers/http.js';
import { TestControlPlane } from './dynamic-harness.js';

export interface DynamicProxy {
  readonly dynamic: DynamicConfig;
  readonly stats: StatsStore;
  readonly clusters: ClusterManager;
  readonly listeners: ListenerManager;
  readonly warnings: string[];
  close(): Promise<void>;
}

export function startDynamicProxy(opts: {
  port: number;
  apiType?: ApiType;
  snapshotPath?: string;
  initialFetchTimeoutMs?: number;
  restoreAfterMs?: number;
}): DynamicProxy {
  const stats = new StatsStore();
  const registries = buildRegistries();
  const clusters = new ClusterManager({ stats, discoveries: registries.clusterDiscoveries });
  const listeners = new ListenerManager({ stats, clusters, drainTimeMs: 2000 });
  const warnings: string[] = [];
  const timeout = opts.initialFetchTimeoutMs ?? 15_000;
  const dynamic = new DynamicConfig({
    settings: {
      target: `127.0.0.1:${opts.port}`,
      clusterName: 'xds',
      apiType: opts.apiType ?? 'GRPC',
      setNodeOnFirstMessageOnly: false,
      initialMetadata: [],
      lds: true,
      cds: true,
      ldsInitialFetchTimeoutMs: timeout,
      cdsInitialFetchTimeoutMs: timeout,
    },
    node: { id: 'sidecar-test', cluster: 'test' },
    clusterManager: clusters,
    listenerManager: listeners,
    httpFilters: registries.httpFilters,
    lbPolicies: registries.lbPoliciesByEnum,
    stats,
    staticClusterNames: new Set(),
    log: { info: () => {}, warn: (o, m) => warnings.push(`${m} ${JSON.stringify(o)}`) },
    snapshotPath: opts.snapshotPath ?? null,
    restoreAfterMs: opts.restoreAfterMs,
    backoff: { initialMs: 50, maxMs: 200 },
  });
  dynamic.start();
  return {
    dynamic,
    stats,
    clusters,
    listeners,
    warnings,
    async close() {
      await dynamic.close();
      listeners.forceCloseAll();
      clusters.shutdown();
    },
  };
}

/** A port free right now on loopback (LDS listeners name their port). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface DynamicScope {
  /** A loopback HTTP server answering every request with `id`. */
  upstream(id: string): Promise<RecordingServer>;
  /** A TestControlPlane on `port` (0 = any free port). */
  controlPlane(port?: number): Promise<TestControlPlane>;
  proxy(opts: Parameters<typeof startDynamicProxy>[0]): DynamicProxy;
  /** Runs `fn` after the current test, after everything opened later (reverse order). */
  defer(fn: () => unknown): void;
}

/**
 * The setup the dynamic-config tests share: upstreams, control plane and proxy, each closed
 * after every test in reverse order of opening. Call once at a test file's top level.
 */
export function useDynamicScope(): DynamicScope {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    async upstream(id) {
      const s = new RecordingServer((_req, res) => res.end(id));
      await s.listen();
      cleanups.push(() => s.close());
      return s;
    },
    async controlPlane(port = 0) {
      const cp = new TestControlPlane();
      await cp.start(port);
      cleanups.push(() => cp.kill());
      return cp;
    },
    proxy(opts) {
      const p = startDynamicProxy(opts);
      cleanups.push(() => p.close());
      return p;
    },
    defer(fn) {
      cleanups.push(fn);
    },
  };
}
