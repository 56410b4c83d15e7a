/** The mesh file watcher: in-place writes and rename-over replacements reload; bad files do not. */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MeshWatcher } from '../../control-plane/mesh-watcher.js';
import type { Snapshot } from '../../control-plane/snapshot.js';
import { CLUSTER_TYPE } from '../../control-plane/type-urls.js';
import { MeshDir, waitFor } from './helpers.js';

let dir: MeshDir;
let watcher: MeshWatcher | null = null;

afterEach(() => {
  watcher?.close();
  watcher = null;
  dir?.remove();
});

function service(name: string): string {
  return `services:\n  - name: ${name}\n    endpoints: [{address: 127.0.0.1, port: 80}]\n`;
}

describe('MeshWatcher', () => {
  it('reloads on writes and on a file renamed over the mesh file, and reports bad versions', async () => {
    dir = new MeshDir();
    dir.write(service('one'));
    const snapshots: Snapshot[] = [];
    const invalid: (readonly string[])[] = [];
    watcher = new MeshWatcher(dir.path, {
      debounceMs: 20,
      onSnapshot: (s) => snapshots.push(s),
      onInvalid: (e) => invalid.push(e),
    });
    expect(await watcher.reload()).toBe(true);
    watcher.start();
    const clusters = () => [...snapshots[snapshots.length - 1].resources(CLUSTER_TYPE).keys()];
    expect(clusters()).toEqual(['one']);
    dir.write(service('two'));
    await waitFor('the in-place write', () => clusters()[0] === 'two');
    const tmp = join(dir.dir, '.mesh.yaml.tmp');
    writeFileSync(tmp, service('three'));
    renameSync(tmp, dir.path);
    await waitFor('the rename-over', () => clusters()[0] === 'three');
    const before = snapshots.length;
    dir.write('services: [oops');
    await waitFor('the rejection', () => invalid.length === 1);
    expect(invalid[0][0]).toMatch(/^\(yaml\)/);
    expect(snapshots.length).toBe(before);
    expect(watcher.status()).toMatchObject({ rejected: 1, reloads: 3, last_errors: invalid[0] });
  });

  it('reports a missing file as an error, not an exception', async () => {
    dir = new MeshDir();
    const errors: (readonly string[])[] = [];
    watcher = new MeshWatcher(join(dir.dir, 'absent.yaml'), {
      onSnapshot: () => {},
      onInvalid: (e) => errors.push(e),
    });
    expect(await watcher.reload()).toBe(false);
    expect(errors[0][0]).toContain('ENOENT');
  });
});
