/**
 * remora beyond Envoy: the last accepted xDS resources persisted to a local file
 * (`--xds-snapshot-path`), so a proxy that starts while its control plane is unreachable can serve
 * the config it last had. Written atomically (a temporary file in the same directory, then
 * rename) so a crash mid-write leaves the previous file intact; writes are debounced so a burst of
 * responses costs one write.
 */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { type ResourceSnapshot, snapshotsFromJson, snapshotsToJson } from '../../../control-client/index.js';

/** Reads a snapshot file; null when there is none. Throws with a reason when it is unreadable. */
export function readSnapshotFile(path: string): ResourceSnapshot[] | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return snapshotsFromJson(text);
}

export class SnapshotWriter {
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private seq = 0;
  writes = 0;

  constructor(
    private readonly path: string,
    private readonly collect: () => ResourceSnapshot[],
    private readonly onError: (err: unknown) => void,
    private readonly debounceMs = 100,
  ) {}

  /** Asks for a write within debounceMs. */
  schedule(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.debounceMs);
    this.timer.unref();
  }

  /** Writes now (after any write in progress); resolves when the file is in place. */
  flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  private async write(): Promise<void> {
    const tmp = `${this.path}.tmp-${process.pid}-${this.seq++}`;
    try {
      await writeFile(tmp, snapshotsToJson(this.collect()), { mode: 0o600 });
      await rename(tmp, this.path);
      this.writes++;
    } catch (err) {
      this.onError(err);
    }
  }

  /** Stops pending timers (a final flush() is the caller's choice). */
  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
