#!/usr/bin/env node
/**
 * `remora-control-plane`: serves a mesh file over ADS (state of the world and delta) and a status
 * endpoint. Prints the ports it listens on; reloads the mesh file when it changes (and on SIGHUP);
 * exits 0 on SIGINT/SIGTERM, 1 on bad flags or a mesh file that is invalid at start.
 */
import { parseArgs } from 'node:util';
import { versionLine } from '../proxy/version.js';
import { MeshFileError, startControlPlane } from './control-plane.js';

const USAGE = `Usage: remora-control-plane --mesh FILE [options]

Serves the xDS resources described by a mesh file over ADS (gRPC, state of the world and delta),
to remora and Envoy sidecars and to proxyless gRPC clients (xds:/// targets).

Options:
  --mesh FILE          the mesh file (YAML; see docs/control-plane.md); watched for changes
  --xds-port N         ADS gRPC port (default 18000; 0 picks a free port)
  --status-port N      HTTP status port: /status, /snapshot, /healthz (default 18001; 0 = free port)
  --address ADDR       address both servers bind (default 127.0.0.1)
  --lrs                load reporting and global load balancing (docs/lrs.md): serve LRS on the
                       xDS port, ask proxies for load every interval, and move each service's
                       locality weights (EDS) away from zones that fail or are overloaded
  --lrs-interval-ms N  how often proxies report and weights are decided (default 10000)
  --lrs-window-ms N    the window of reported load each decision looks at (default 30000)
  --help               print this help
  --version            print the version
`;

function fail(message: string): never {
  process.stderr.write(`remora-control-plane: ${message}\n${USAGE}`);
  process.exit(1);
}

function port(value: string | undefined, name: string, def: number): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) fail(`--${name} must be a port number (0..65535), got "${value}"`);
  return n;
}

function millis(value: string | undefined, name: string, def: number): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 86_400_000)
    fail(`--${name} must be a number of milliseconds (1..86400000), got "${value}"`);
  return n;
}

function stamp(): string {
  return new Date().toISOString();
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (e) {
    fail((e as Error).message);
  }
  const v = parsed.values;
  if (v.help === true) {
    process.stdout.write(USAGE);
    return;
  }
  if (v.version === true) {
    process.stdout.write(`remora-control-plane ${versionLine()}\n`);
    return;
  }
  if (v.mesh === undefined) fail('--mesh FILE is required');
  if (v.lrs !== true && (v['lrs-interval-ms'] !== undefined || v['lrs-window-ms'] !== undefined))
    fail('--lrs-interval-ms and --lrs-window-ms need --lrs');
  const lrs =
    v.lrs === true
      ? {
          intervalMs: millis(v['lrs-interval-ms'], 'lrs-interval-ms', 10_000),
          windowMs: millis(v['lrs-window-ms'], 'lrs-window-ms', 30_000),
        }
      : undefined;
  const log = {
    info: (m: string) => process.stderr.write(`[${stamp()}] info: ${m}\n`),
    warn: (m: string) => process.stderr.write(`[${stamp()}] warning: ${m}\n`),
  };
  let cp: Awaited<ReturnType<typeof startControlPlane>>;
  try {
    cp = await startControlPlane({
      meshPath: v.mesh,
      address: v.address ?? '127.0.0.1',
      xdsPort: port(v['xds-port'], 'xds-port', 18000),
      statusPort: port(v['status-port'], 'status-port', 18001),
      log,
      lrs,
    });
  } catch (e) {
    if (e instanceof MeshFileError) {
      process.stderr.write(
        `remora-control-plane: mesh file ${e.path} is invalid:\n  ${e.errors.join('\n  ')}\n`,
      );
    } else process.stderr.write(`remora-control-plane: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const raw = v.address ?? '127.0.0.1';
  const address = raw.includes(':') ? `[${raw}]` : raw;
  process.stdout.write(
    `xds listening on ${address}:${cp.xdsPort}\nstatus listening on ${address}:${cp.statusPort}\n`,
  );
  process.on('SIGHUP', () => void cp.watcher.reload());
  const stop = (): void => {
    void cp.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function parse() {
  return parseArgs({
    args: process.argv.slice(2),
    strict: true,
    allowPositionals: false,
    options: {
      mesh: { type: 'string' },
      'xds-port': { type: 'string' },
      'status-port': { type: 'string' },
      address: { type: 'string' },
      lrs: { type: 'boolean' },
      'lrs-interval-ms': { type: 'string' },
      'lrs-window-ms': { type: 'string' },
      help: { type: 'boolean' },
      version: { type: 'boolean' },
    },
  });
}

void main();
