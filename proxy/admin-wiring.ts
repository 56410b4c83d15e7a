/**
 * Builds the admin server's view of the running proxy (AdminSources) from the parts main.ts
 * composed, and starts it when the bootstrap has an admin block.
 */
import { AdminServer } from './admin/admin-server.js';
import {
  bootstrapConfigDump,
  clustersConfigDump,
  type DumpedResource,
  type DumpSet,
  listenersConfigDump,
  routesConfigDump,
} from './admin/config-dump.js';
import type { AdminSources, JsonObject } from './admin/sources.js';
import type { CliOptions } from './cli-options.js';
import { commandLineOptionsJson } from './cli-options.js';
import { protoObjectToJson } from './config/json-encode.js';
import type { ProtoObject } from './config/proto-object.js';
import { lookupType } from './config/schema.js';
import type { Listener } from './network/listener.js';
import type { LogRegistry } from './observability/logger.js';
import type { StatsStore } from './observability/stats.js';
import type { StaticConfig } from './static-config.js';
import type { ClusterManager } from './upstream/cluster-manager.js';
import { versionLine } from './version.js';
import type { DynamicResources } from './xds/dynamic/wiring.js';

export interface AdminWiring {
  readonly opts: CliOptions;
  readonly config: StaticConfig;
  readonly stats: StatsStore;
  readonly logs: LogRegistry;
  readonly startTimeMs: number;
  readonly clusterManager: ClusterManager;
  readonly listeners: readonly Listener[];
  /** xDS: init state, LDS listeners and the dynamic config_dump sections. */
  readonly dynamic?: DynamicResources;
  /** True while serving (not draining). */
  ready(): boolean;
  quit(): void;
}

/** The dynamic part of a clusters or listeners dump (nothing without xDS). */
function dynamicDump(d: DynamicResources | undefined, kind: 'cds' | 'lds'): DumpSet {
  if (d?.config == null) return {};
  return {
    versionInfo: d.versionInfo(kind),
    dynamic: kind === 'cds' ? d.dumpClusters() : d.dumpListeners(),
    warming: kind === 'cds' ? d.dumpWarmingClusters() : d.dumpWarmingListeners(),
  };
}

function toJson(typeName: string, obj: ProtoObject): JsonObject {
  return protoObjectToJson(lookupType(typeName), obj) as JsonObject;
}

export async function startAdmin(w: AdminWiring): Promise<AdminServer | null> {
  const adminCfg = w.config.bootstrap.admin;
  if (adminCfg === null) return null;
  const loadedAt = Date.now();
  const bootstrapJson = toJson('envoy.config.bootstrap.v3.Bootstrap', w.config.bootstrap.proto);
  const staticListeners: DumpedResource[] = w.config.bootstrap.staticListeners.map((r) => ({
    resource: toJson('envoy.config.listener.v3.Listener', r.resource),
    lastUpdatedMs: loadedAt,
  }));
  const staticClusters: DumpedResource[] = w.config.bootstrap.staticClusters.map((r) => ({
    resource: toJson('envoy.config.cluster.v3.Cluster', r.resource),
    lastUpdatedMs: loadedAt,
  }));
  const log = w.logs.component('admin');
  const sources: AdminSources = {
    stats: w.stats,
    logs: w.logs,
    startTimeMs: w.startTimeMs,
    serverInfo: {
      version: versionLine(),
      commandLineOptions: commandLineOptionsJson(w.opts) as JsonObject,
      node: (bootstrapJson.node as JsonObject | undefined) ?? {},
    },
    initState: () => w.dynamic?.initState() ?? 'initialized',
    clusters: () => [...w.clusterManager.all()],
    // /clusters prints each host's outlier-detection success rate (-1 when none is computed).
    clusterDetails: (name) => {
      const outlier = w.clusterManager.get(name)?.health?.outlier;
      return outlier == null ? undefined : { successRate: (key) => outlier.successRate(key) };
    },
    listeners: () => [
      ...w.listeners.map((l) => ({ name: l.name, address: l.model.address, port: l.port })),
      ...(w.dynamic?.listenerInfo() ?? []),
    ],
    configDump: () => [
      bootstrapConfigDump(bootstrapJson, loadedAt),
      clustersConfigDump({ static: staticClusters, ...dynamicDump(w.dynamic, 'cds') }),
      listenersConfigDump({ static: staticListeners, ...dynamicDump(w.dynamic, 'lds') }),
      // Inline route configurations are part of their listener's dump, as in Envoy.
      routesConfigDump({ dynamic: w.dynamic?.dumpRoutes() ?? [] }),
    ],
    drainListeners: (o) => {
      log.info({ graceful: o.graceful }, 'drain_listeners requested');
      for (const l of w.listeners) void l.drain();
      for (const l of w.dynamic?.drainables() ?? []) void l.drain();
    },
    quit: () => w.quit(),
  };
  const server = new AdminServer(sources, { address: adminCfg.address, port: adminCfg.port, logger: log });
  await server.listen();
  log.info(
    { address: server.address, port: server.port },
    `admin listening on http://${server.address}:${server.port}/`,
  );
  return server;
}
