/**
 * The dynamic half of the composition root, kept out of main.ts so that main only calls
 * startDynamicResources() and hands its pieces to the lifecycle and the admin:
 *
 *   const dyn = startDynamicResources({ ... });        // after the static clusters are in
 *   lifecycle listeners: () => [...staticListeners, ...dyn.drainables()]
 *   afterDrain: first { name: 'xds', run: () => dyn.close() }
 *   admin: initState: dyn.initState, dynamic dump sections from dyn.dump*()
 *
 * Without dynamic_resources it still returns a (empty) listener manager and 'initialized'.
 */
import type { NodeIdentity } from '../../../control-client/index.js';
import type { DumpedResource } from '../../admin/config-dump.js';
import type { JsonObject, ServerInitState } from '../../admin/sources.js';
import type { BootstrapNode } from '../../bootstrap/bootstrap.js';
import { protoObjectToJson } from '../../config/json-encode.js';
import type { ProtoObject } from '../../config/proto-object.js';
import { lookupType } from '../../config/schema.js';
import type { AccessLogTranslator } from '../../extensions/filters/network/http_connection_manager/config.js';
import type { ExtensionRegistries } from '../../extensions.js';
import type { DrainableListener } from '../../lifecycle.js';
import { ListenerManager } from '../../network/listener-manager.js';
import type { StatsStore } from '../../observability/stats.js';
import type { ClusterManager } from '../../upstream/cluster-manager.js';
import type { AdsSettings } from './ads-bootstrap.js';
import { DynamicConfig, type DynamicConfigLog, type DynamicResourceInfo } from './dynamic-config.js';

export interface DynamicResourcesDeps {
  /** From StaticConfig.ads (readAdsSettings); null when the bootstrap has no dynamic_resources. */
  readonly ads: AdsSettings | null;
  readonly node: BootstrapNode;
  readonly staticClusterNames: ReadonlySet<string>;
  readonly clusterManager: ClusterManager;
  readonly registries: ExtensionRegistries;
  readonly accessLog?: AccessLogTranslator;
  readonly stats: StatsStore;
  readonly log: DynamicConfigLog & { error(obj: object, msg: string): void };
  /** --drain-time-s in ms: how long replaced LDS listeners may drain. */
  readonly drainTimeMs: number;
  /** remora-only --xds-snapshot-path; null = off. */
  readonly snapshotPath: string | null;
  readonly version?: string;
}

export interface DynamicResources {
  readonly config: DynamicConfig | null;
  readonly listenerManager: ListenerManager;
  /** For the admin: 'initializing' until the first full xDS config is applied. */
  initState(): ServerInitState;
  /** For the lifecycle: every LDS listener (stopAccepting closes the socket the manager owns). */
  drainables(): DrainableListener[];
  /** For /listeners: name, address and bound port of each LDS listener. */
  listenerInfo(): Array<{ name: string; address: string; port: number }>;
  dumpClusters(): DumpedResource[];
  dumpListeners(): DumpedResource[];
  /** EDS clusters waiting for endpoints (dynamic_warming_clusters). */
  dumpWarmingClusters(): DumpedResource[];
  /** Listeners waiting for routes (dynamic_listeners[].warming_state). */
  dumpWarmingListeners(): DumpedResource[];
  dumpRoutes(): DumpedResource[];
  /** version_info of the last accepted CDS / LDS response ('' without xDS). */
  versionInfo(kind: 'cds' | 'lds'): string;
  /** Stops xDS (no more updates) and persists the snapshot; listeners are the lifecycle's. */
  close(): Promise<void>;
}

/** The bootstrap node as every control-plane stream presents it (ADS and load reporting). */
export function nodeIdentity(n: BootstrapNode): NodeIdentity {
  const locality: { region?: string; zone?: string; sub_zone?: string } = {};
  if (n.locality.region !== '') locality.region = n.locality.region;
  if (n.locality.zone !== '') locality.zone = n.locality.zone;
  if (n.locality.subZone !== '') locality.sub_zone = n.locality.subZone;
  return {
    id: n.id,
    cluster: n.cluster,
    locality,
    metadata: n.metadata as NodeIdentity['metadata'],
  };
}

function dumped(typeName: string, list: DynamicResourceInfo[]): DumpedResource[] {
  const t = lookupType(typeName);
  return list.map((r) => ({
    resource: protoObjectToJson(t, r.proto as ProtoObject) as JsonObject,
    lastUpdatedMs: r.lastUpdatedMs,
    versionInfo: r.version,
  }));
}

export function startDynamicResources(deps: DynamicResourcesDeps): DynamicResources {
  const listenerManager = new ListenerManager({
    stats: deps.stats,
    clusters: deps.clusterManager,
    drainTimeMs: deps.drainTimeMs,
    onError: (name, err) =>
      deps.log.error({ listener: name, err: err.message }, 'LDS listener could not bind'),
  });
  const config =
    deps.ads === null
      ? null
      : new DynamicConfig({
          settings: deps.ads,
          node: nodeIdentity(deps.node),
          clusterManager: deps.clusterManager,
          listenerManager,
          httpFilters: deps.registries.httpFilters,
          lbPolicies: deps.registries.lbPoliciesByEnum,
          accessLog: deps.accessLog,
          stats: deps.stats,
          staticClusterNames: deps.staticClusterNames,
          log: deps.log,
          snapshotPath: deps.snapshotPath,
          version: deps.version,
        });
  config?.start();
  return {
    config,
    listenerManager,
    initState: () => config?.initState() ?? 'initialized',
    drainables: () =>
      [...listenerManager.listeners(), ...listenerManager.drainingListeners()].map((l) => ({
        name: l.name,
        stopAccepting: () => listenerManager.stopAcceptingAll(),
        drain: () => {
          listenerManager.stopAcceptingAll();
          return l.drain();
        },
        forceClose: () => l.forceClose(),
      })),
    listenerInfo: () =>
      listenerManager.listeners().map((l) => ({ name: l.name, address: l.model.address, port: l.port })),
    dumpClusters: () =>
      config === null ? [] : dumped('envoy.config.cluster.v3.Cluster', config.dumpClusters()),
    dumpListeners: () =>
      config === null ? [] : dumped('envoy.config.listener.v3.Listener', config.dumpListeners()),
    dumpWarmingClusters: () =>
      config === null ? [] : dumped('envoy.config.cluster.v3.Cluster', config.dumpWarmingClusters()),
    dumpWarmingListeners: () =>
      config === null ? [] : dumped('envoy.config.listener.v3.Listener', config.dumpWarmingListeners()),
    dumpRoutes: () =>
      config === null ? [] : dumped('envoy.config.route.v3.RouteConfiguration', config.dumpRoutes()),
    versionInfo: (kind) => config?.versionInfo(kind) ?? '',
    close: async () => {
      await config?.flushSnapshot();
      await config?.close();
    },
  };
}

/**
 * The remora-only `--xds-snapshot-path FILE` option, read from the parsed CLI options when the
 * CLI knows the flag (proxy/cli-options.ts: `xdsSnapshotPath`); null (persistence off) otherwise.
 */
export function xdsSnapshotPath(opts: object): string | null {
  const v = (opts as { readonly xdsSnapshotPath?: unknown }).xdsSnapshotPath;
  return typeof v === 'string' && v !== '' ? v : null;
}
