import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { get } from './fixtures.js';
import { exited, integrated, repoRoot, startProcess, stopProcess, waitForOutput } from './run-remora.js';

let demo: ChildProcess | undefined;
afterEach(async () => {
  await stopProcess(demo);
  demo = undefined;
});

// `npm start` runs dist/examples/demo.js on fixed ports (:10000, :9901, :18001-18003).
describe.skipIf(!integrated)('npm start demo (real process)', () => {
  it('balances round robin over three upstreams, prints the admin URL and a curl line, and stops on SIGINT', async () => {
    demo = startProcess([], join(repoRoot, 'dist', 'examples', 'demo.js'));
    const banner = await waitForOutput(demo, /remora demo is running[\s\S]*Ctrl-C drains and stops\./);
    expect(banner[0]).toContain('admin  http://127.0.0.1:9901/');
    expect(banner[0]).toContain('curl -s http://127.0.0.1:10000/');

    const names = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await get(10000, `/try/${i}`);
      expect(r.status).toBe(200);
      const m = r.body.match(/^hello from (upstream-\d) /);
      expect(m).not.toBeNull();
      names.add(m?.[1] ?? '');
    }
    expect([...names].sort()).toEqual(['upstream-1', 'upstream-2', 'upstream-3']);

    const ready = await get(9901, '/ready');
    expect(ready.status).toBe(200);

    demo.kill('SIGINT');
    expect(await exited(demo)).toEqual({ code: 0, signal: null });
  });
});
