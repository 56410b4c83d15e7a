/**
 * Builds dist/ once before the test run when it is older than the sources, because the process-
 * level tests (test/cli/*-process, test/e2e/) run the compiled `remora` binary as a real process.
 * `npm ci` has already built it (prepare); this keeps a developer's edit-and-test loop honest.
 * Type errors do not stop the run here (tsc still emits, and the type check is its own step); a
 * missing binary does.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const sourceDirs = ['proxy', 'control-client', 'control-plane', 'examples', 'bench'];
const buildInfo = join(root, 'dist', '.tsbuildinfo');

function newestSource(dir: string, depth = 0): number {
  let newest = 0;
  if (depth > 12 || !existsSync(dir)) return newest;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p, depth + 1));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const sources = Math.max(
    ...sourceDirs.map((d) => newestSource(join(root, d))),
    statSync(join(root, 'tsconfig.json')).mtimeMs,
  );
  const cli = join(root, 'dist', 'proxy', 'cli.js');
  // `npm ci` builds without --incremental (no .tsbuildinfo): then the binary's own age decides.
  const built = existsSync(buildInfo)
    ? statSync(buildInfo).mtimeMs
    : existsSync(cli)
      ? statSync(cli).mtimeMs
      : 0;
  if (built >= sources && existsSync(cli)) return;
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(
    process.execPath,
    [tsc, '-p', 'tsconfig.json', '--incremental', '--tsBuildInfoFile', buildInfo],
    { cwd: root, encoding: 'utf8', timeout: 120_000 },
  );
  if (r.status !== 0)
    process.stderr.write(`global-setup: tsc reported errors (building anyway):\n${r.stdout}${r.stderr}\n`);
  if (!existsSync(join(root, 'dist', 'proxy', 'cli.js')))
    throw new Error('global-setup: dist/proxy/cli.js was not built');
}
