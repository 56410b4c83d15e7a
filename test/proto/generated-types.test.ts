/**
 * The committed TypeScript types under proxy/config/generated/ must be exactly what
 * `npm run gen:types` (scripts/gen-types.ts) produces from proto/ now: the generator runs as its own
 * process into a temp dir, and any difference fails with the command that fixes it.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'gen-types.ts');
const COMMITTED = join(ROOT, 'proxy', 'config', 'generated');
const STALE = 'generated types are stale: run npm run gen:types';

const run = promisify(execFile);
const temps: string[] = [];

afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'remora-gen-types-'));
  temps.push(d);
  return d;
}

function listFiles(dir: string, base = dir, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) listFiles(full, base, out);
    else out.push(relative(base, full).split(sep).join('/'));
  }
  return out.sort();
}

/** Every difference between the fresh output and the committed tree; empty when they match. */
function differences(fresh: string, committed: string): string[] {
  const a = listFiles(fresh);
  const b = listFiles(committed);
  const diffs: string[] = [];
  for (const f of a) if (!b.includes(f)) diffs.push(`missing: ${f}`);
  for (const f of b) if (!a.includes(f)) diffs.push(`not generated any more: ${f}`);
  for (const f of a) {
    if (b.includes(f) && readFileSync(join(fresh, f), 'utf8') !== readFileSync(join(committed, f), 'utf8')) {
      diffs.push(`differs: ${f}`);
    }
  }
  return diffs;
}

function assertFresh(fresh: string, committed: string): void {
  const diffs = differences(fresh, committed);
  if (diffs.length > 0) throw new Error(`${STALE}\n${diffs.join('\n')}`);
}

async function generate(dir: string): Promise<number> {
  const started = performance.now();
  const { stdout } = await run(process.execPath, [SCRIPT, dir], { cwd: ROOT, timeout: 15_000 });
  expect(stdout).toMatch(/^gen:types: \d+ files in /);
  return performance.now() - started;
}

describe('generated TypeScript types', () => {
  it('match what npm run gen:types produces from proto/ now, generated in under 5 s', async () => {
    const dir = tempDir();
    const ms = await generate(dir);
    expect(ms).toBeLessThan(5000);
    assertFresh(dir, COMMITTED);
  });

  it('are deterministic: two runs produce identical trees', async () => {
    const a = tempDir();
    const b = tempDir();
    await Promise.all([generate(a), generate(b)]);
    expect(differences(a, b)).toEqual([]);
  });

  it('follow the ProtoObject convention (snake_case, Duration in ms, enums by name, Any with @type)', () => {
    const cluster = readFileSync(join(COMMITTED, 'envoy/config/cluster/v3/cluster.ts'), 'utf8');
    expect(cluster).toContain('export interface envoy_config_cluster_v3_Cluster {');
    expect(cluster).toContain('  connect_timeout?: number; // 4, milliseconds');
    expect(cluster).toContain('  load_assignment?: envoy_config_endpoint_v3_ClusterLoadAssignment; // 33');
    expect(cluster).toMatch(/export type envoy_config_cluster_v3_Cluster_DiscoveryType =\s+\| 'STATIC'/);
    expect(cluster).toContain('  typed_extension_protocol_options?: { [key: string]: AnyMessage }; // 36');
    const index = readFileSync(join(COMMITTED, 'index.ts'), 'utf8');
    expect(index).toContain("export type * from './envoy/config/cluster/v3/cluster.js';");
    expect(readFileSync(join(COMMITTED, 'well-known.ts'), 'utf8')).toContain("'@type': string;");
  });

  it('a stale tree (edited file, stray file, missing file) fails naming npm run gen:types', async () => {
    const fresh = tempDir();
    await generate(fresh);
    const stale = tempDir();
    cpSync(fresh, stale, { recursive: true });
    writeFileSync(join(stale, 'well-known.ts'), '// edited by hand\n');
    writeFileSync(join(stale, 'stray.ts'), 'export {};\n');
    rmSync(join(stale, 'index.ts'));
    expect(() => assertFresh(fresh, stale)).toThrow(STALE);
    expect(differences(fresh, stale)).toEqual([
      'missing: index.ts',
      'not generated any more: stray.ts',
      'differs: well-known.ts',
    ]);
  });
});
