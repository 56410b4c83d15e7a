/**
 * Dynamic configuration over ADS: the orchestrator main.ts builds when the bootstrap has
 * dynamic_resources. It owns the XdsClient and wires the four resource types to the proxy:
 *
 *   CDS (wildcard) ─► ClusterSync ─► EDS per service name ─► ClusterManager (warming)
 *   once CDS is initialized (Envoy's order):
 *   LDS (wildcard) ─► ListenerSync ─► RDS per route_config_name ─► ListenerManager (warming)
 *
 * initState() is 'initialized' only once the first full config is applied: CDS answered and its
 * clusters warmed, then LDS answered, its listeners' routes arrived and they are bound (each step
 * also ends on its initial_fetch_timeout, so startup never hangs). Once initialized it stays so.
 *
 * Beyond Envoy, with a snapshot path: every accepted response is persisted (debounced, atomic),
 * and when the management server does not answer at startup (the first stream ends without a
 * response, or nothing arrived within restoreAfterMs) the saved resources are restored through the
 * same decode and validate, so the proxy serves its last config; when the server comes back its
 * answers replace the restored resources as any update would.
 */
import type {
  BackoffOptions,
  NodeIdentity,
  ResourceSnapshot,
  ResourceType,
} from '../../../control-client/index.js';
import { XdsClient } from '../../../control-client/index.js';
import type { ServerInitState } from '../../admin/sources.js';
import type { ProtoObject } from '../../config/proto-object.js';
import type { AccessLogTranslator } from '../../extensions/filters/network/http_connection_manager/config.js';
import { inlineRouteConfig } from '../../extensions/filters/network/http_connection_manager/config.js';
import type { HttpFilterRegistry } from '../../http/filter.js';
import type { ListenerModel } from '../../model/listener.js';
import type { ListenerManager } from '../../network/listener-manager.js';
import type { StatsStore } from '../../observability/stats.js';
import type { ClusterManager } from '../../upstream/cluster-manager.js';
import type { LbPolicyFactory } from '../../upstream/load-balancer.js';
import type { ListenerTranslateDeps } from '../listener.js';
import { RdsRouteTable, RdsTables } from '../rds-route-table.js';
import {
  CLUSTER_TYPE_URL,
  clusterType,
  ENDPOINT_TYPE_URL,
  endpointType,
  LISTENER_TYPE_URL,
  listenerType,
  ROUTE_TYPE_URL,
  routeType,
} from '../resource-types.js';
import type { AdsSettings } from './ads-bootstrap.js';
import { ClusterSync } from './cluster-sync.js';
import { ListenerSync } from './listener-sync.js';
import { readSnapshotFile, SnapshotWriter } from './snapshot-file.js';
import { XdsStats } from './xds-stats.js';

export interface DynamicConfigLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface DynamicConfigDeps {
  readonly settings: AdsSettings;
  readonly node: NodeIdentity;
  readonly clusterManager: ClusterManager;
  readonly listenerManager: ListenerManager;
  readonly httpFilters: HttpFilterRegistry;
  readonly lbPolicies: ReadonlyMap<string, LbPolicyFactory>;
  readonly accessLog?: AccessLogTranslator;
  readonly stats: StatsStore;
  /** Bootstrap static cluster names: CDS may not replace them. */
  readonly staticClusterNames: ReadonlySet<string>;
  readonly log: DynamicConfigLog;
  /** remora-only `--xds-snapshot-path`: null disables persistence. */
  readonly snapshotPath?: string | null;
  /** Restore the snapshot if no response arrived within this long (default 2 s). */
  readonly restoreAfterMs?: number;
  readonly backoff?: BackoffOptions;
  readonly version?: string;
}

/** One dynamic resource for /config_dump. */
export interface DynamicResourceInfo {
  readonly name: string;
  readonly proto: ProtoObject;
  readonly version: string;
  readonly lastUpdatedMs: number;
}

export class DynamicConfig {
  readonly client: XdsClient;
  readonly rdsTables = new RdsTables();
  private readonly clusters: ClusterSync;
  private readonly listeners: ListenerSync;
  private readonly xdsStats: XdsStats;
  private readonly writer: SnapshotWriter | null;
  private readonly saved: ResourceSnapshot[] | null;
  private restoreTimer: NodeJS.Timeout | null = null;
  private restored = false;
  private initializedFlag = false;
  private initWaiters: Array<() => void> = [];
  private closed = false;

  constructor(private readonly deps: DynamicConfigDeps) {
    const s = deps.settings;
    const path = deps.snapshotPath ?? null;
    this.saved = path === null ? null : this.loadSaved(path);
    this.client = new XdsClient({
      target: s.target,
      node: deps.node,
      api_type: s.apiType,
      setNodeOnFirstMessageOnly: s.setNodeOnFirstMessageOnly,
      initialMetadata: s.initialMetadata,
      // One timer per client: the larger of the two sources' timeouts (0 = disabled wins only if both are).
      initialFetchTimeoutMs: Math.max(s.cdsInitialFetchTimeoutMs, s.ldsInitialFetchTimeoutMs),
      retainResourceBytes: path !== null,
      backoff: deps.backoff,
      version: deps.version,
      hooks: {
        onConnectionStateChange: (up) => {
          this.xdsStats.sync();
          deps.log.info({ target: s.target, connected: up }, up ? 'xDS stream up' : 'xDS stream down');
        },
        onResponse: (o) => {
          this.xdsStats.sync();
          if (o.accepted) this.writer?.schedule();
          else
            deps.log.warn({ type: o.typeUrl, version: o.version, errors: o.errors }, 'xDS update rejected');
        },
        onStreamClosed: (status, retryInMs) => {
          this.xdsStats.sync();
          deps.log.warn({ code: status.code, details: status.details, retryInMs }, 'xDS stream closed');
          if (this.client.controlPlane.responses_received === 0)
            this.restoreSaved('management server unreachable');
        },
        onWarning: (m) => deps.log.warn({}, m),
      },
    });
    const types = {
      cluster: clusterType({
        translate: { lbPolicies: deps.lbPolicies },
        staticClusterNames: deps.staticClusterNames,
      }),
      endpoint: endpointType(),
      listener: listenerType({
        translate: this.listenerTranslateDeps(),
        collectRdsNames: (run) => this.rdsTables.collect(run),
      }),
      route: routeType(),
    };
    this.xdsStats = new XdsStats(
      deps.stats,
      this.client,
      new Map([
        [CLUSTER_TYPE_URL, 'cluster_manager.cds'],
        [LISTENER_TYPE_URL, 'listener_manager.lds'],
      ]),
    );
    const changed = () => this.onChanged();
    const warn = (msg: string, err?: unknown) => deps.log.warn({ err }, msg);
    this.clusters = new ClusterSync({
      client: this.client,
      clusterType: types.cluster,
      endpointType: types.endpoint,
      clusterManager: deps.clusterManager,
      stats: deps.stats,
      changed,
      warn,
    });
    this.listeners = new ListenerSync({
      client: this.client,
      listenerType: types.listener,
      routeType: types.route,
      listenerManager: deps.listenerManager,
      rdsTables: this.rdsTables,
      changed,
      routeEvent: (name, accepted) => this.onRouteEvent(name, accepted),
    });
    this.types = types;
    this.writer =
      path === null
        ? null
        : new SnapshotWriter(
            path,
            () => this.collectSnapshots(),
            (err) => deps.log.warn({ err, path }, 'could not write the xDS snapshot'),
          );
  }

  private readonly types: {
    readonly cluster: ReturnType<typeof clusterType>;
    readonly endpoint: ReturnType<typeof endpointType>;
    readonly listener: ReturnType<typeof listenerType>;
    readonly route: ReturnType<typeof routeType>;
  };

  /** Subscribes (CDS first; LDS once CDS is initialized) and arms the snapshot restore. */
  start(): void {
    if (this.deps.settings.cds) {
      this.clusters.start();
      void this.client.whenInitialFetchDone(CLUSTER_TYPE_URL).then(() => this.onChanged());
    }
    if (this.saved !== null) {
      this.restoreTimer = setTimeout(() => {
        if (this.client.controlPlane.responses_received === 0) this.restoreSaved('no response yet');
      }, this.deps.restoreAfterMs ?? 2000);
      this.restoreTimer.unref();
    }
    this.onChanged();
  }

  /** For the admin's /ready and /server_info (Envoy's init manager state). */
  initState(): ServerInitState {
    return this.initializedFlag ? 'initialized' : 'initializing';
  }

  /** Resolves once the first full config is applied. */
  whenInitialized(): Promise<void> {
    if (this.initializedFlag) return Promise.resolve();
    return new Promise((r) => this.initWaiters.push(r));
  }

  /** Writes the snapshot file now (tests; shutdown). */
  flushSnapshot(): Promise<void> {
    return this.writer?.flush() ?? Promise.resolve();
  }

  get snapshotWrites(): number {
    return this.writer?.writes ?? 0;
  }

  /** Dynamic clusters for /config_dump (dynamic_active_clusters). */
  dumpClusters(): DynamicResourceInfo[] {
    const cache = this.client.resources(this.types.cluster);
    return [...this.clusters.active].map(([name, i]) => ({
      name,
      proto: i.resource.proto,
      version: cache.get(name)?.version ?? '',
      lastUpdatedMs: i.lastUpdatedMs,
    }));
  }

  /**
   * EDS clusters waiting for their endpoints, for /config_dump (dynamic_warming_clusters). Their
   * last_updated is the time of the last accepted CDS response: the one that brought them, unless
   * a later one arrived while they still warm.
   */
  dumpWarmingClusters(): DynamicResourceInfo[] {
    const cache = this.client.resources(this.types.cluster);
    const at = this.client.typeStats(CLUSTER_TYPE_URL)?.update_time ?? 0;
    return [...this.clusters.warming].map(([name, r]) => ({
      name,
      proto: r.proto,
      version: cache.get(name)?.version ?? '',
      lastUpdatedMs: at,
    }));
  }

  /** Listeners waiting for their routes, for /config_dump (dynamic_listeners, warming_state). */
  dumpWarmingListeners(): DynamicResourceInfo[] {
    const cache = this.client.resources(this.types.listener);
    const at = this.client.typeStats(LISTENER_TYPE_URL)?.update_time ?? 0;
    return [...this.listeners.warming].map(([name, r]) => ({
      name,
      proto: r.proto,
      version: cache.get(name)?.version ?? '',
      lastUpdatedMs: at,
    }));
  }

  /** Dynamic listeners for /config_dump (dynamic_listeners, active state). */
  dumpListeners(): DynamicResourceInfo[] {
    const cache = this.client.resources(this.types.listener);
    return [...this.listeners.active].map(([name, i]) => ({
      name,
      proto: i.resource.proto,
      version: cache.get(name)?.version ?? '',
      lastUpdatedMs: i.lastUpdatedMs,
    }));
  }

  /** RDS route configurations for /config_dump (dynamic_route_configs). */
  dumpRoutes(): DynamicResourceInfo[] {
    const cache = this.client.resources(this.types.route);
    const out: DynamicResourceInfo[] = [];
    for (const [name, info] of this.listeners.routes) {
      if (info.resource === null) continue;
      out.push({
        name,
        proto: info.resource.proto,
        version: cache.get(name)?.version ?? '',
        lastUpdatedMs: info.lastUpdatedMs,
      });
    }
    return out;
  }

  /** The last accepted version_info of CDS and LDS. */
  versionInfo(kind: 'cds' | 'lds'): string {
    return this.client.typeStats(kind === 'cds' ? CLUSTER_TYPE_URL : LISTENER_TYPE_URL)?.version_text ?? '';
  }

  /** Subscribed names, for tests and diagnostics. */
  subscriptions(): { eds: string[]; rds: string[] } {
    return { eds: this.clusters.edsServiceNames(), rds: this.listeners.rdsNames() };
  }

  /** Stops the stream and every timer; persists the snapshot one last time. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.restoreTimer !== null) clearTimeout(this.restoreTimer);
    this.clusters.stop();
    this.listeners.stop();
    this.client.close();
    this.writer?.close();
    this.xdsStats.sync();
  }

  private listenerTranslateDeps(): ListenerTranslateDeps {
    const cm = this.deps.clusterManager;
    const deps: ListenerTranslateDeps & { readonly rds: RdsTables['translate'] } = {
      httpFilters: this.deps.httpFilters,
      stats: this.deps.stats,
      // Inline route configurations in an LDS listener are checked against known clusters, as
      // Envoy does for route tables not loaded by RDS (validate_clusters defaults to true there).
      // Warming clusters count: they are known, only waiting for endpoints.
      routeConfig: inlineRouteConfig({
        clusterExists: (name) => cm.get(name) !== undefined || this.clusters.warming.has(name),
      }),
      accessLog: this.deps.accessLog,
      rds: this.rdsTables.translate,
    };
    return deps;
  }

  private onChanged(): void {
    if (this.closed) return;
    this.xdsStats.sync();
    this.deps.stats.gauge('cluster_manager.warming_clusters').set(this.clusters.warming.size);
    this.deps.stats.gauge('listener_manager.total_listeners_warming').set(this.listeners.warming.size);
    const s = this.deps.settings;
    const cdsReady = !s.cds || this.clusters.initialized;
    if (cdsReady && s.lds && !this.listeners.isStarted) {
      this.listeners.start();
      if (this.restored) this.restoreTypes([this.types.listener, this.types.route]);
      void this.client.whenInitialFetchDone(LISTENER_TYPE_URL).then(() => this.onChanged());
    }
    const ldsReady = !s.lds || this.listeners.initialized;
    if (cdsReady && ldsReady && !this.initializedFlag) {
      this.initializedFlag = true;
      this.deps.log.info(
        { cds: this.versionInfo('cds'), lds: this.versionInfo('lds') },
        'initial xDS config applied',
      );
      const w = this.initWaiters;
      this.initWaiters = [];
      for (const f of w) f();
    }
  }

  private onRouteEvent(name: string | null, accepted: boolean): void {
    const prefixes = new Map<string, Set<string>>();
    const add = (model: ListenerModel) => {
      for (const fc of model.filterChains) {
        if (fc.filter.kind !== 'http_connection_manager') continue;
        const t = fc.filter.config.routeTable;
        if (!(t instanceof RdsRouteTable) || (name !== null && t.name !== name)) continue;
        let set = prefixes.get(t.name);
        if (set === undefined) {
          set = new Set();
          prefixes.set(t.name, set);
        }
        set.add(fc.filter.config.statPrefix);
      }
    };
    for (const i of this.listeners.active.values()) add(i.resource.model);
    for (const v of this.listeners.warming.values()) add(v.model);
    for (const [n, set] of prefixes) this.xdsStats.rdsUpdate(set, n, accepted);
  }

  private loadSaved(path: string): ResourceSnapshot[] | null {
    try {
      return readSnapshotFile(path);
    } catch (err) {
      this.deps.log.warn({ err, path }, 'ignoring an unreadable xDS snapshot file');
      return null;
    }
  }

  /** Restores the persisted resources once, for the types the server has not answered yet. */
  private restoreSaved(reason: string): void {
    if (this.restored || this.saved === null || this.closed) return;
    this.restored = true;
    if (this.restoreTimer !== null) clearTimeout(this.restoreTimer);
    this.deps.log.warn({ reason, path: this.deps.snapshotPath }, 'serving the persisted xDS snapshot');
    // CDS first: its batch subscribes the EDS names the endpoint snapshot then satisfies. LDS and
    // RDS follow when CDS is initialized (onChanged), in the same turn as their watches.
    this.clusters.applyAtOnce(() => this.restoreTypes([this.types.cluster, this.types.endpoint]));
    if (this.listeners.isStarted) this.restoreTypes([this.types.listener, this.types.route]);
    this.onChanged();
  }

  private restoreTypes(types: ReadonlyArray<ResourceType<unknown, unknown>>): void {
    for (const t of types) {
      const snap = this.saved?.find((s) => s.typeUrl === t.typeUrl);
      if (snap === undefined) continue;
      const errors = this.client.restore(t, snap);
      if (errors.length > 0) this.deps.log.warn({ type: t.typeUrl, errors }, 'xDS snapshot not restored');
    }
  }

  private collectSnapshots(): ResourceSnapshot[] {
    const out: ResourceSnapshot[] = [];
    for (const url of [CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL]) {
      const s = this.client.snapshot(url);
      if (s !== undefined) out.push(s);
    }
    return out;
  }
}
