/**
 * The composition root: CLI options → bootstrap → registries → clusters → listeners → admin →
 * lifecycle. Everything is built here and handed down as narrow dependencies; nothing below this
 * file reaches for a global.
 */

import { startAdmin } from './admin-wiring.js';
import type { CliOptions } from './cli-options.js';
import { commandLineOptionsJson } from './cli-options.js';
import { ConfigError, type Issues } from './config/issues.js';
import { buildRegistries } from './extensions.js';
import { Lifecycle } from './lifecycle.js';
import type { RunningProxy, StartHooks } from './main-contract.js';
import { Listener } from './network/listener.js';
import { AccessLogOutputs } from './observability/access-log/outputs.js';
import { LogRegistry } from './observability/logger.js';
import { StatsStore } from './observability/stats.js';
import { buildStaticConfig } from './static-config.js';
import { ClusterManager } from './upstream/cluster-manager.js';
import { versionInfo } from './version.js';
import { accessLogTranslator } from './xds/access-log.js';
import { loadStatsStoreFor, startLoadReporting } from './xds/dynamic/lrs-wiring.js';
import { startDynamicResources, xdsSnapshotPath } from './xds/dynamic/wiring.js';

export async function validateConfig(opts: CliOptions): Promise<Issues> {
  const stats = new StatsStore();
  const outputs = new AccessLogOutputs({ stats });
  try {
    const { issues } = buildStaticConfig(opts, {
      registries: buildRegistries(),
      accessLog: accessLogTranslator({ outputs }),
    });
    return issues;
  } finally {
    await outputs.closeAll();
  }
}

export async function startProxy(opts: CliOptions, hooks: StartHooks = {}): Promise<RunningProxy> {
  const startTimeMs = Date.now();
  const logs = new LogRegistry({ level: opts.logLevel === 'warning' ? 'warning' : opts.logLevel });
  const log = logs.component('main');
  for (const w of opts.warnings) log.warn(w);
  const stats = new StatsStore();
  const registries = buildRegistries();
  const outputs = new AccessLogOutputs({ stats });

  const { config, issues } = buildStaticConfig(opts, {
    registries,
    accessLog: accessLogTranslator({ outputs }),
    stats,
  });
  for (const i of issues.list) if (i.severity === 'warning') log.warn({ path: i.path }, i.message);
  if (config === null) {
    await outputs.closeAll();
    throw new ConfigError('bootstrap', issues);
  }

  // Load reporting (cluster_manager.load_stats_config): per-locality counters on every host.
  const loadStats = loadStatsStoreFor(config.loadStats);
  const clusterManager = new ClusterManager({
    stats,
    discoveries: registries.clusterDiscoveries,
    loadStats,
    healthEvents: logs.component('health'),
  });
  for (const m of config.clusters) clusterManager.addOrUpdate(m);
  // Envoy's cluster warming: listeners open only once every static cluster has its first host
  // list (a DNS cluster resolved, or its first lookup failed), so the first requests are not 503s.
  await clusterManager.initialized();

  const listeners = config.listeners.map((m) => new Listener(m, { stats, clusters: clusterManager }));

  // xDS (bootstrap dynamic_resources): CDS/EDS feed the same cluster manager; LDS listeners live
  // in their own manager. Everything dynamic is assembled in proxy/xds/dynamic/wiring.ts.
  const dynamic = startDynamicResources({
    ads: config.ads,
    node: config.bootstrap.node,
    staticClusterNames: new Set(config.clusters.map((c) => c.name)),
    clusterManager,
    registries,
    accessLog: accessLogTranslator({ outputs }),
    stats,
    log: logs.component('xds'),
    drainTimeMs: opts.drainTimeS * 1000,
    snapshotPath: xdsSnapshotPath(opts),
    version: versionInfo().version,
  });

  const lrs =
    config.loadStats === null || loadStats === null
      ? null
      : startLoadReporting({
          settings: config.loadStats,
          store: loadStats,
          node: config.bootstrap.node,
          log: logs.component('lrs'),
          version: versionInfo().version,
          stats,
        });

  let lifecycle: Lifecycle | null = null;
  const admin = await startAdmin({
    opts,
    config,
    stats,
    logs,
    startTimeMs,
    clusterManager,
    listeners,
    dynamic,
    ready: () => lifecycle?.state === 'serving',
    quit: () => void lifecycle?.shutdown('quitquitquit'),
  });

  // Envoy's init order: with dynamic_resources, static listeners open only once the first xDS
  // config is applied (or its initial_fetch_timeout passed), so their routes find the dynamic
  // clusters they name. startProxy returns at once; meanwhile /ready says INITIALIZING.
  const openStatic = async (): Promise<void> => {
    for (const l of listeners) {
      const port = await l.listen();
      log.info({ listener: l.name, address: l.model.address, port }, 'listener started');
    }
  };
  if (dynamic.config === null) {
    try {
      await openStatic();
    } catch (err) {
      for (const l of listeners) l.forceClose();
      dynamic.close();
      lrs?.close();
      await admin?.close();
      clusterManager.shutdown();
      await outputs.closeAll();
      throw err;
    }
  } else if (listeners.length > 0) {
    void dynamic.config
      .whenInitialized()
      .then(openStatic)
      .catch((err: unknown) => {
        // A static listener that cannot bind is fatal, as it is at startup without xDS.
        log.fatal({ err }, 'static listener failed to start');
        for (const l of listeners) l.forceClose();
        hooks.exit?.(1);
      });
  }

  lifecycle = new Lifecycle({
    listeners: () => [...listeners, ...dynamic.drainables()],
    afterDrain: [
      { name: 'xds', run: () => dynamic.close() },
      { name: 'load reporting', run: () => lrs?.close() },
      { name: 'admin', run: () => admin?.close() },
      { name: 'upstream', run: () => clusterManager.shutdown() },
      { name: 'access logs', run: () => outputs.closeAll() },
    ],
    drainTimeMs: opts.drainTimeS * 1000,
    log: logs.component('lifecycle'),
    exit: hooks.exit ?? (() => {}),
  });
  // While listeners drain, /ready answers DRAINING so load balancers in front stop sending.
  const lc = lifecycle;
  const shutdown = (reason: string) => {
    admin?.setHealthCheckFailed(true);
    return lc.shutdown(reason);
  };
  if (hooks.handleSignals === true) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.on(signal, () => {
        admin?.setHealthCheckFailed(true);
        lc.onSignal(signal);
      });
    }
  }

  const adminAddress = admin === null ? undefined : { host: admin.address, port: admin.port };
  log.info(
    {
      version: versionInfo().version,
      admin: adminAddress,
      listeners: listeners.length,
      clusters: config.clusters.length,
    },
    'remora started',
  );
  void commandLineOptionsJson;
  return { adminAddress, lifecycle: lc, shutdown };
}
