/**
 * Watches the mesh file and turns each good version of it into a Snapshot. The directory is
 * watched rather than the file, because editors and `kubectl`-style tools replace a file by
 * renaming a new one over it, which ends a watch on the old inode. Bursts of events (write,
 * truncate, rename) are debounced into one reload; a file that does not parse or validate keeps
 * the last good snapshot and reports its errors.
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Mesh } from './mesh.js';
import { loadMeshFile } from './mesh-file.js';
import { buildSnapshot, type Snapshot } from './snapshot.js';

export interface MeshWatcherOptions {
  readonly debounceMs?: number;
  readonly onSnapshot: (snapshot: Snapshot, mesh: Mesh) => void;
  readonly onInvalid: (errors: readonly string[]) => void;
}

export interface MeshStatus {
  readonly path: string;
  readonly loaded_at: string;
  readonly reloads: number;
  readonly rejected: number;
  readonly last_errors: readonly string[];
}

export class MeshWatcher {
  readonly path: string;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private loading: Promise<boolean> | null = null;
  private again = false;
  private loadedAt = '';
  private reloads = 0;
  private rejected = 0;
  private lastErrors: readonly string[] = [];

  constructor(
    path: string,
    private readonly options: MeshWatcherOptions,
  ) {
    this.path = resolve(path);
  }

  /** Loads the file now; true when it was good and a snapshot was delivered. */
  reload(): Promise<boolean> {
    if (this.loading !== null) {
      // A change during a load: load once more afterwards so the last write always wins.
      this.again = true;
      return this.loading;
    }
    this.loading = this.load().finally(() => {
      this.loading = null;
      if (this.again) {
        this.again = false;
        void this.reload();
      }
    });
    return this.loading;
  }

  private async load(): Promise<boolean> {
    const result = await loadMeshFile(this.path);
    if ('errors' in result) {
      this.rejected++;
      this.lastErrors = result.errors;
      this.options.onInvalid(result.errors);
      return false;
    }
    let snapshot: Snapshot;
    try {
      snapshot = buildSnapshot(result.mesh);
    } catch (e) {
      // A validated mesh that does not encode is a bug here, but it must not take the server down.
      this.rejected++;
      this.lastErrors = [`building resources: ${(e as Error).message}`];
      this.options.onInvalid(this.lastErrors);
      return false;
    }
    this.reloads++;
    this.loadedAt = new Date().toISOString();
    this.lastErrors = [];
    this.options.onSnapshot(snapshot, result.mesh);
    return true;
  }

  /** Starts watching for changes (after the first load). */
  start(): void {
    if (this.watcher !== null) return;
    const name = basename(this.path);
    this.watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
      if (file !== null && file !== name) return;
      this.schedule();
    });
    this.watcher.on('error', (e) => this.options.onInvalid([`watching ${this.path}: ${e.message}`]));
  }

  private schedule(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.reload();
    }, this.options.debounceMs ?? 100);
  }

  status(): MeshStatus {
    return {
      path: this.path,
      loaded_at: this.loadedAt,
      reloads: this.reloads,
      rejected: this.rejected,
      last_errors: this.lastErrors,
    };
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
