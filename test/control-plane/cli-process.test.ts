/** remora-control-plane as a real process (the compiled dist/control-plane/cli.js). */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getJson, MeshDir, waitFor } from './helpers.js';

// dist/ is built before the run by test/e2e/global-setup.ts.
const repoRoot = join(import.meta.dirname, '..', '..');
const CLI = join(repoRoot, 'dist', 'control-plane', 'cli.js');
const EXAMPLE = join(repoRoot, 'examples', 'mesh.yaml');

function startProcess(args: string[], script: string): ChildProcess {
  return spawn(process.execPath, [script, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
}

function exited(child: ChildProcess): Promise<{ code: number | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code })));
}

let child: ChildProcess | null = null;
let mesh: MeshDir | null = null;

afterEach(async () => {
  if (child !== null && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited(child);
  }
  child = null;
  mesh?.remove();
  mesh = null;
});

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = startProcess(args, CLI);
  child = p;
  let stdout = '';
  let stderr = '';
  p.stdout!.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  p.stderr!.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const { code } = await exited(p);
  return { code, stdout, stderr };
}

describe('remora-control-plane (real process)', () => {
  it('serves the example mesh, prints its ports, answers /status and /snapshot, exits 0 on SIGTERM', async () => {
    const p = startProcess(['--mesh', EXAMPLE, '--xds-port', '0', '--status-port', '0'], CLI);
    child = p;
    let stdout = '';
    p.stdout!.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    await waitFor('the ports', () => /status listening on 127\.0\.0\.1:\d+\n/.test(stdout), 10_000);
    expect(stdout).toMatch(/^xds listening on 127\.0\.0\.1:\d+\n/);
    const statusPort = Number(/status listening on 127\.0\.0\.1:(\d+)/.exec(stdout)![1]);
    const status = (await getJson(statusPort, '/status')) as { proxies: object; mesh: { path: string } };
    expect(status.proxies).toEqual({});
    expect(status.mesh.path).toBe(EXAMPLE);
    const snap = (await getJson(statusPort, '/snapshot')) as {
      types: Record<string, { resources: { name: string }[] }>;
    };
    const clusters = snap.types['type.googleapis.com/envoy.config.cluster.v3.Cluster'].resources;
    expect(clusters.map((c) => c.name)).toEqual(['web', 'web-canary', 'greeter']);
    p.kill('SIGTERM');
    expect((await exited(p)).code).toBe(0);
  });

  it('exits 1 with every error of an invalid mesh file', async () => {
    mesh = new MeshDir();
    mesh.write(
      'services:\n  - name: a\n    endpoints: [{address: nowhere, port: 80}]\nlisteners: [{name: l, port: 1}]\n',
    );
    const r = await run(['--mesh', mesh.path, '--xds-port', '0', '--status-port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('services[0].endpoints[0].address: "nowhere" is not an IPv4 or IPv6 address');
    expect(r.stderr).toContain('listeners[0].routes: is required');
  });

  it('prints help and version, and rejects unknown flags and bad ports', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: remora-control-plane --mesh FILE/);
    const version = await run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^remora-control-plane remora/);
    const bad = await run(['--mesh', 'x.yaml', '--frobnicate']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Unknown option '--frobnicate'");
    const port = await run(['--mesh', 'x.yaml', '--xds-port', 'high']);
    expect(port.code).toBe(1);
    expect(port.stderr).toContain('--xds-port must be a port number');
    const missing = await run([]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--mesh FILE is required');
  });
});
