/** A watcher that records what it heard, for assertions. */
import type { ResourceWatcher } from '../../control-client/index.js';

export class Recorder<T> implements ResourceWatcher<T> {
  readonly events: string[] = [];
  readonly values = new Map<string, T>();
  readonly absent = new Set<string>();
  readonly errors: string[][] = [];
  /** onBatchEnd calls (kept out of `events` so event lists stay about resources). */
  batches = 0;

  onUpdate(name: string, value: T): void {
    this.events.push(`update ${name}`);
    this.values.set(name, value);
    this.absent.delete(name);
  }

  onDoesNotExist(name: string): void {
    this.events.push(`absent ${name}`);
    this.values.delete(name);
    this.absent.add(name);
  }

  onBatchEnd(): void {
    this.batches++;
  }

  onError(errors: readonly string[]): void {
    this.events.push('error');
    this.errors.push([...errors]);
  }
}
