/** remora-control-plane --lrs as a real process (the compiled dist/control-plane/cli.js). */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getJson, waitFor } from './helpers.js';

// dist/ is built before the run by test/e2e/global-setup.ts.
const repoRoot = join(import.meta.dirname, '..', '..');
const CLI = join(repoRoot, 'dist', 'control-plane', 'cli.js');
const EXAMPLE = join(repoRoot, 'examples', 'mesh.yaml');

let child: ChildProcess | null = null;

function exited(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((resolve) => p.once('exit', (code) => resolve(code)));
}

afterEach(async () => {
  const p = child;
  child = null;
  if (p !== null && p.exitCode === null && p.signalCode === null) {
    p.kill('SIGKILL');
    await exited(p);
  }
});

function start(args: string[]): { p: ChildProcess; out: { stdout: string; stderr: string } } {
  const p = spawn(process.execPath, [CLI, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  child = p;
  const out = { stdout: '', stderr: '' };
  p.stdout!.setEncoding('utf8').on('data', (c: string) => {
    out.stdout += c;
  });
  p.stderr!.setEncoding('utf8').on('data', (c: string) => {
    out.stderr += c;
  });
  return { p, out };
}

describe('remora-control-plane --lrs (real process)', () => {
  it('serves load reporting with the interval given and shows it at /status', async () => {
    const { out } = start([
      '--mesh',
      EXAMPLE,
      '--xds-port',
      '0',
      '--status-port',
      '0',
      '--lrs',
      '--lrs-interval-ms',
      '250',
      '--lrs-window-ms',
      '5000',
    ]);
    await waitFor('the ports', () => /status listening on 127\.0\.0\.1:\d+\n/.test(out.stdout), 10_000);
    const statusPort = Number(/status listening on 127\.0\.0\.1:(\d+)/.exec(out.stdout)![1]);
    const status = (await getJson(statusPort, '/status')) as {
      load_reporting: {
        policy: { clusters: string; interval_ms: number };
        window_ms: number;
        weights: object;
      };
    };
    expect(status.load_reporting.policy).toMatchObject({ clusters: '*', interval_ms: 250 });
    expect(status.load_reporting.window_ms).toBe(5000);
    // Every service of the mesh has its first decision (the configured split) at once.
    expect(Object.keys(status.load_reporting.weights).length).toBeGreaterThan(0);
    const snapshot = (await getJson(statusPort, '/snapshot')) as {
      types: Record<string, { resources: Array<{ resource: { lrs_server?: object } }> }>;
    };
    const clusters = snapshot.types['type.googleapis.com/envoy.config.cluster.v3.Cluster'].resources;
    expect(clusters.length).toBeGreaterThan(0);
    for (const c of clusters) expect(c.resource.lrs_server).toEqual({ self: {} });
  });

  it('without --lrs there is no load reporting; its interval flags alone are refused', async () => {
    const { out } = start(['--mesh', EXAMPLE, '--xds-port', '0', '--status-port', '0']);
    await waitFor('the ports', () => /status listening on 127\.0\.0\.1:\d+\n/.test(out.stdout), 10_000);
    const statusPort = Number(/status listening on 127\.0\.0\.1:(\d+)/.exec(out.stdout)![1]);
    expect((await getJson(statusPort, '/status')).load_reporting).toBeNull();
    child!.kill('SIGKILL');
    await exited(child!);

    const bad = start(['--mesh', EXAMPLE, '--lrs-interval-ms', '100']);
    expect(await exited(bad.p)).toBe(1);
    expect(bad.out.stderr).toMatch(/--lrs-interval-ms and --lrs-window-ms need --lrs/);
    const zero = start(['--mesh', EXAMPLE, '--lrs', '--lrs-interval-ms', '0']);
    expect(await exited(zero.p)).toBe(1);
    expect(zero.out.stderr).toMatch(/--lrs-interval-ms must be a number of milliseconds/);
  });
});
