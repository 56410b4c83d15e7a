/**
 * Bootstrap → models: the control-path half of startup, shared by `--mode validate` and serving.
 * Static listeners and clusters go through the same translators xDS uses (one config path); the
 * result is either a complete set of models or every problem with its field path.
 */
import type { Bootstrap } from './bootstrap/bootstrap.js';
import { applyNodeOverrides } from './bootstrap/bootstrap.js';
import { loadBootstrap } from './bootstrap/load.js';
import type { CliOptions } from './cli-options.js';
import { Issues, joinPath } from './config/issues.js';
import type { ProtoObject } from './config/proto-object.js';
import type { AccessLogTranslator } from './extensions/filters/network/http_connection_manager/config.js';
import type { ExtensionRegistries } from './extensions.js';
import type { ClusterModel } from './model/cluster.js';
import type { ListenerModel } from './model/listener.js';
import type { StatsStore } from './observability/stats.js';
import { compileRouteConfig } from './router/compile.js';
import type { ClusterSpecModel, RouteConfigModel } from './router/route-model.js';
import type { RouteTable } from './router/types.js';
import { translateCluster } from './xds/cluster.js';
import { type AdsSettings, readAdsSettings } from './xds/dynamic/ads-bootstrap.js';
import { type LoadStatsSettings, readLoadStatsSettings } from './xds/dynamic/lrs-bootstrap.js';
import { translateListener } from './xds/listener.js';
import { translateRouteConfiguration } from './xds/route-configuration.js';

export interface StaticConfig {
  readonly bootstrap: Bootstrap;
  readonly clusters: readonly ClusterModel[];
  readonly listeners: readonly ListenerModel[];
  /** dynamic_resources as the ADS client follows it (proxy/xds/dynamic); null when absent. */
  readonly ads: AdsSettings | null;
  /** cluster_manager.load_stats_config as the LRS client follows it; null when absent. */
  readonly loadStats: LoadStatsSettings | null;
}

export interface StaticConfigDeps {
  readonly registries: ExtensionRegistries;
  /** Access log translator (proxy/xds/access-log.ts); validate mode passes one that opens no file. */
  readonly accessLog: AccessLogTranslator;
  /** The proxy's stats store, for HTTP filters' stats (absent when only validating). */
  readonly stats?: StatsStore;
}

/** Loads and translates the bootstrap; `config` is null when `issues` holds any error. */
export function buildStaticConfig(
  opts: CliOptions,
  deps: StaticConfigDeps,
): { config: StaticConfig | null; issues: Issues } {
  const loaded = loadBootstrap({
    configPath: opts.configPath,
    configYaml: opts.configYaml,
    allowUnknownFields: opts.allowUnknownStaticFields,
  });
  const issues = loaded.issues;
  if (loaded.bootstrap === null) return { config: null, issues };
  const bootstrap = applyNodeOverrides(loaded.bootstrap, {
    serviceNode: opts.serviceNode,
    serviceCluster: opts.serviceCluster,
    serviceZone: opts.serviceZone,
  });

  const clusters: ClusterModel[] = [];
  // Names come from the raw resources so that a cluster with its own errors is not reported a
  // second time as an unknown cluster by every route that names it.
  const clusterNames = new Set<string>();
  for (const { resource } of bootstrap.staticClusters) {
    if (typeof resource.name === 'string') clusterNames.add(resource.name);
  }
  for (const { path, resource } of bootstrap.staticClusters) {
    const m = translateCluster(resource, path, issues, { lbPolicies: deps.registries.lbPoliciesByEnum });
    if (m !== null) clusters.push(m);
  }

  const listeners: ListenerModel[] = [];
  const listenerNames = new Set<string>();
  const bound = new Set<string>();
  for (const { path, resource } of bootstrap.staticListeners) {
    const m = translateListener(resource, path, issues, {
      httpFilters: deps.registries.httpFilters,
      routeConfig: (rc, rpath, ri) => staticRouteTable(rc, rpath, ri, clusterNames),
      accessLog: deps.accessLog,
      stats: deps.stats,
    });
    if (m === null) continue;
    if (m.name !== '' && listenerNames.has(m.name))
      issues.error(joinPath(path, 'name'), `duplicate listener name ${m.name}`);
    listenerNames.add(m.name);
    const addr = `${m.address}:${m.port}`;
    if (m.port !== 0 && bound.has(addr))
      issues.error(joinPath(path, 'address'), `another listener already uses ${addr}`);
    bound.add(addr);
    listeners.push(m);
  }
  const ads =
    bootstrap.dynamicResources === null
      ? null
      : readAdsSettings(bootstrap.dynamicResources, clusters, issues);
  const loadStats =
    bootstrap.loadStatsConfig === null
      ? null
      : readLoadStatsSettings(bootstrap.loadStatsConfig, clusters, issues);
  if (!issues.ok) return { config: null, issues };
  return { config: { bootstrap, clusters, listeners, ads, loadStats }, issues };
}

/**
 * An inline route configuration, checked against the static clusters as Envoy does for route
 * tables that are not loaded by RDS (validate_clusters defaults to true there): a typo in a
 * cluster name fails at startup instead of as 503s at run time.
 */
function staticRouteTable(
  rc: ProtoObject,
  path: string,
  issues: Issues,
  clusterNames: ReadonlySet<string>,
): RouteTable | null {
  const model = translateRouteConfiguration(rc, path, issues);
  if (model === null) return null;
  const before = issues.errorCount;
  // An explicit validate_clusters: false lets routes name clusters that arrive later over CDS.
  if (rc.validate_clusters !== false) checkClusterReferences(model, path, issues, clusterNames);
  if (issues.errorCount > before) return null;
  return compileRouteConfig(model);
}

function checkClusterReferences(
  model: RouteConfigModel,
  path: string,
  issues: Issues,
  clusterNames: ReadonlySet<string>,
): void {
  model.virtualHosts.forEach((vh, v) => {
    vh.routes.forEach((r, i) => {
      if (r.action.kind !== 'route') return;
      const at = joinPath(joinPath(joinPath(joinPath(path, 'virtual_hosts'), v), 'routes'), i);
      for (const name of referencedClusters(r.action.cluster)) {
        if (!clusterNames.has(name)) issues.error(joinPath(at, 'route'), `unknown cluster '${name}'`);
      }
    });
  });
}

function referencedClusters(spec: ClusterSpecModel): string[] {
  if (spec.kind === 'cluster') return [spec.name];
  if (spec.kind === 'weighted') return spec.clusters.map((c) => c.name);
  return [];
}

/** A fresh Issues for callers that only need to report one problem (e.g. an unreadable file). */
export function singleIssue(path: string, message: string): Issues {
  const i = new Issues();
  i.error(path, message);
  return i;
}
