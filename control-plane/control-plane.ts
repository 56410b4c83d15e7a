/**
 * The control plane assembled: the mesh watcher feeds snapshots to the ADS server; the status
 * server reports on both. This is what the CLI runs and what tests start in-process.
 */
import { versionInfo } from '../proxy/version.js';
import { AdsServer } from './ads-server.js';
import { GlobalBalancing, type GlobalBalancingOptions } from './global-balancing.js';
import { MeshWatcher } from './mesh-watcher.js';
import type { NackRecord } from './session.js';
import type { Snapshot } from './snapshot.js';
import { StatusServer } from './status-server.js';
import { TYPE_SHORT_NAMES } from './type-urls.js';

export interface ControlPlaneLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface ControlPlaneOptions {
  readonly meshPath: string;
  readonly address?: string;
  /** 0 picks a free port. */
  readonly xdsPort?: number;
  readonly statusPort?: number;
  readonly debounceMs?: number;
  readonly stageTimeoutMs?: number;
  readonly log?: ControlPlaneLog;
  /**
   * Load reporting and global load balancing (docs/lrs.md): LRS on the ADS port, clusters served
   * with lrs_server self and locality-weighted balancing, locality weights from reported load.
   * Off when absent.
   */
  readonly lrs?: GlobalBalancingOptions;
}

export class MeshFileError extends Error {
  constructor(
    readonly path: string,
    readonly errors: readonly string[],
  ) {
    super(`mesh file ${path} is invalid:\n${errors.join('\n')}`);
    this.name = 'MeshFileError';
  }
}

export interface RunningControlPlane {
  readonly ads: AdsServer;
  readonly watcher: MeshWatcher;
  /** Load reporting and global balancing; null when options.lrs was not given. */
  readonly balancing: GlobalBalancing | null;
  readonly xdsPort: number;
  readonly statusPort: number;
  close(): Promise<void>;
}

const SILENT: ControlPlaneLog = { info() {}, warn() {} };

/** Loads the mesh (throwing MeshFileError when the first load is bad), then serves ADS and status. */
export async function startControlPlane(options: ControlPlaneOptions): Promise<RunningControlPlane> {
  const log = options.log ?? SILENT;
  const address = options.address ?? '127.0.0.1';
  let first: Snapshot | null = null;
  let firstErrors: readonly string[] = [];
  let ads: AdsServer | null = null;
  const balancing =
    options.lrs === undefined
      ? null
      : new GlobalBalancing({
          ...options.lrs,
          onWeights: (cluster, weights, decisions) => {
            const shown = [...weights].map(([k, w]) => `${k}=${w}`).join(' ');
            log.info(`global balancing: ${cluster} locality weights ${shown}`);
            options.lrs?.onWeights?.(cluster, weights, decisions);
          },
          onError: (err) => log.warn(`global balancing round failed: ${(err as Error).message}`),
        });
  const watcher = new MeshWatcher(options.meshPath, {
    debounceMs: options.debounceMs,
    onSnapshot(built, mesh) {
      // With global balancing the snapshot carries the decided locality weights.
      const snapshot = balancing === null ? built : balancing.setMesh(mesh);
      if (ads === null) first = snapshot;
      else {
        ads.setSnapshot(snapshot);
        log.info(`mesh reloaded from ${watcher.path}: ${describe(snapshot)}`);
      }
    },
    onInvalid(errors) {
      if (ads === null) firstErrors = errors;
      else
        log.warn(
          `mesh file ${watcher.path} rejected, keeping the last good snapshot:\n  ${errors.join('\n  ')}`,
        );
    },
  });
  await watcher.reload();
  if (first === null) throw new MeshFileError(watcher.path, firstErrors);
  const server = new AdsServer(first, {
    stageTimeoutMs: options.stageTimeoutMs,
    onNack: (node: string, typeUrl: string, nack: NackRecord) =>
      log.warn(
        `${node} NACKed ${TYPE_SHORT_NAMES[typeUrl] ?? typeUrl} version ${nack.version}: ${nack.message}`,
      ),
    extraServices: balancing === null ? [] : [balancing.service()],
  });
  ads = server;
  const status = new StatusServer({
    ads: server,
    mesh: () => watcher.status(),
    version: versionInfo().version,
    lrs: balancing === null ? undefined : () => balancing.status(),
  });
  let xdsPort: number;
  let statusPort: number;
  try {
    xdsPort = await server.listen(address, options.xdsPort ?? 18000);
    statusPort = await status.listen(address, options.statusPort ?? 18001);
  } catch (e) {
    balancing?.close();
    await server.close();
    await status.close();
    throw e;
  }
  balancing?.start((snapshot) => server.setSnapshot(snapshot));
  watcher.start();
  log.info(`serving ${describe(first)}`);
  return {
    ads: server,
    watcher,
    balancing,
    xdsPort,
    statusPort,
    async close() {
      watcher.close();
      balancing?.close();
      await status.close();
      await server.close();
    },
  };
}

function describe(s: Snapshot): string {
  return Object.entries(TYPE_SHORT_NAMES)
    .map(([t, short]) => `${s.resources(t).size} ${short}`)
    .join(', ');
}
