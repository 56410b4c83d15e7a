/**
 * The two binaries together, as an operator runs them: remora-control-plane serving a mesh file and
 * a remora sidecar whose bootstrap has only the ADS cluster (dynamic_resources). Traffic through
 * the listener the mesh declares reaches the upstream the mesh names; editing the mesh file moves it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adsBootstrap } from '../xds/ads-bootstrap.js';
import { MeshDir, proxyStatus, waitFor } from './helpers.js';

const repoRoot = join(import.meta.dirname, '..', '..');
const children: ChildProcess[] = [];
const servers: http.Server[] = [];
let mesh: MeshDir | null = null;

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
  }
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  mesh?.remove();
  mesh = null;
});

function start(script: string, args: string[]): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, [join(repoRoot, script), ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  return { child, out: () => out };
}

async function upstream(id: string): Promise<number> {
  const s = http.createServer((_req, res) => res.end(id));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function get(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve(res.statusCode === 200 ? body : null));
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => req.destroy());
  });
}

function meshFor(listenerPort: number, upstreamPort: number): string {
  return `services:
  - name: app
    endpoints: [{address: 127.0.0.1, port: ${upstreamPort}, locality: {zone: z1}}]
routes:
  - name: main
    rules: [{prefix: /, to: app}]
listeners:
  - {name: web, address: 127.0.0.1, port: ${listenerPort}, routes: main}
`;
}

function bootstrap(xdsPort: number): string {
  return adsBootstrap({
    xdsPort,
    apiType: 'DELTA_GRPC',
    adminPort: 0,
    node: '{ id: sidecar-proc, cluster: web }',
  });
}

describe('remora-control-plane driving a remora process', () => {
  it('configures the sidecar over delta ADS and moves its traffic when the mesh file changes', async () => {
    const a = await upstream('a');
    const b = await upstream('b');
    const listenerPort = await freePort();
    mesh = new MeshDir();
    mesh.write(meshFor(listenerPort, a));
    const cp = start('dist/control-plane/cli.js', [
      '--mesh',
      mesh.path,
      '--xds-port',
      '0',
      '--status-port',
      '0',
    ]);
    await waitFor('the control plane ports', () => /status listening on .*:\d+\n/.test(cp.out()), 10_000);
    const xdsPort = Number(/xds listening on .*:(\d+)/.exec(cp.out())![1]);
    const statusPort = Number(/status listening on .*:(\d+)/.exec(cp.out())![1]);
    const bootstrapPath = join(mesh.dir, 'bootstrap.yaml');
    writeFileSync(bootstrapPath, bootstrap(xdsPort));
    start('dist/proxy/cli.js', ['-c', bootstrapPath]);
    await waitFor('traffic through the sidecar', async () => (await get(listenerPort)) === 'a', 10_000);
    mesh.write(meshFor(listenerPort, b));
    await waitFor('traffic to the new endpoint', async () => (await get(listenerPort)) === 'b', 10_000);
    const st = (await proxyStatus(statusPort, 'sidecar-proc'))!;
    expect(st.protocol).toBe('delta');
    expect(Object.values(st.types).every((t) => t.last_nack === null)).toBe(true);
  });
});
