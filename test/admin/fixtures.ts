import { Writable } from 'node:stream';
import { AdminServer } from '../../proxy/admin/admin-server.js';
import {
  bootstrapConfigDump,
  clustersConfigDump,
  listenersConfigDump,
  routesConfigDump,
} from '../../proxy/admin/config-dump.js';
import type {
  AdminSources,
  ClusterAdminDetails,
  DrainOptions,
  ServerInitState,
} from '../../proxy/admin/sources.js';
import { LogRegistry } from '../../proxy/observability/logger.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import type { ClusterBreakers } from '../../proxy/upstream/circuit-breakers.js';
import type { UpstreamCluster } from '../../proxy/upstream/cluster.js';
import { ClusterStats } from '../../proxy/upstream/cluster-stats.js';
import { HealthFlag, Host } from '../../proxy/upstream/host.js';
import type { ConnectionPool } from '../../proxy/upstream/upstream-stream.js';

/** A fixed set of hosts behind the UpstreamCluster interface (the admin only reads it). */
export class FixedCluster implements UpstreamCluster {
  readonly stats: ClusterStats;
  readonly protocol = 'http1' as const;
  readonly connectTimeoutMs = 250;
  constructor(
    readonly name: string,
    store: StatsStore,
    private readonly hosts: Host[],
  ) {
    this.stats = new ClusterStats(store, name);
  }
  chooseHost(): Host | null {
    return this.hosts[0] ?? null;
  }
  poolFor(): ConnectionPool {
    throw new Error('the admin never asks for pools');
  }
  breakers(): ClusterBreakers {
    throw new Error('the admin never asks for circuit breakers');
  }
  allHosts(): readonly Host[] {
    return this.hosts;
  }
}

export interface Harness {
  admin: AdminServer;
  base: string;
  stats: StatsStore;
  logs: LogRegistry;
  hosts: Host[];
  state: { init: ServerInitState };
  calls: { drain: DrainOptions[]; quit: number; health: boolean[] };
}

export async function startAdmin(): Promise<Harness> {
  const stats = new StatsStore();
  const logs = new LogRegistry({
    level: 'info',
    destination: new Writable({
      write(_c, _e, cb) {
        cb();
      },
    }),
  });
  logs.component('admin');
  logs.component('upstream');
  const h1 = new Host({ address: '127.0.0.1', port: 8081, hostname: 'backend-a', weight: 3 });
  const h2 = new Host({
    address: '::1',
    port: 8082,
    locality: { region: 'eu', zone: 'eu-1a', subZone: 'rack7' },
    priority: 1,
  });
  h1.cxActive = 2;
  h1.cxTotal = 5;
  h1.rqTotal = 9;
  h1.rqSuccess = 8;
  h1.rqError = 1;
  h1.rqActive = 1;
  h2.healthFlags = HealthFlag.FailedActiveHc | HealthFlag.FailedOutlierCheck;
  const backend = new FixedCluster('backend', stats, [h1, h2]);
  const empty = new FixedCluster('aaa_empty', stats, []);
  backend.stats.upstream_rq_total.inc(9);
  backend.stats.recordResponse(200);
  backend.stats.recordResponse(503);
  backend.stats.upstream_cx_active.set(2);
  backend.stats.upstream_rq_time.record(12);
  stats.counter('http.ingress_http.downstream_rq_total').inc(7);
  stats.counter('listener.127.0.0.1_10000.downstream_cx_total').inc(3);

  const details: Record<string, ClusterAdminDetails> = {
    backend: {
      addedViaApi: true,
      defaultPriority: { maxConnections: 10, maxPendingRequests: 20, maxRequests: 30, maxRetries: 4 },
      successRate: (key) => (key === '127.0.0.1:8081' ? 88.5 : -1),
    },
  };
  const state = { init: 'initialized' as ServerInitState };
  const calls = { drain: [] as DrainOptions[], quit: 0, health: [] as boolean[] };
  const t0 = Date.UTC(2026, 0, 1);
  const sources: AdminSources = {
    stats,
    logs,
    startTimeMs: Date.now() - 12_345,
    serverInfo: {
      version: 'remora/0.1.0',
      commandLineOptions: {
        config_path: '/etc/remora.yaml',
        log_level: 'info',
        mode: 'Serve',
        drain_time: '600s',
      },
      node: { id: 'node-1', cluster: 'svc' },
    },
    initState: () => state.init,
    clusters: () => [backend, empty],
    clusterDetails: (name) => details[name],
    listeners: () => [
      { name: 'ingress', address: '127.0.0.1', port: 10000 },
      { name: 'v6', address: '::1', port: 10001 },
    ],
    configDump: () => [
      bootstrapConfigDump(
        { node: { id: 'node-1' }, admin: { address: { socket_address: { port_value: 9901 } } } },
        t0,
      ),
      clustersConfigDump({
        versionInfo: 'v7',
        static: [{ resource: { name: 'backend', connect_timeout: '0.25s' }, lastUpdatedMs: t0 }],
        dynamic: [{ resource: { name: 'dyn' }, lastUpdatedMs: t0 + 1000, versionInfo: 'v7' }],
      }),
      listenersConfigDump({ static: [{ resource: { name: 'ingress' }, lastUpdatedMs: t0 }] }),
      routesConfigDump({ static: [{ resource: { name: 'local_route' }, lastUpdatedMs: t0 }] }),
    ],
    healthCheckChanged: (failed) => calls.health.push(failed),
    drainListeners: (o) => calls.drain.push(o),
    quit: () => {
      calls.quit++;
    },
  };
  const admin = new AdminServer(sources, { address: '127.0.0.1', port: 0 });
  await admin.listen();
  return { admin, base: `http://127.0.0.1:${admin.port}`, stats, logs, hosts: [h1, h2], state, calls };
}
