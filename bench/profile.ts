/**
 * `npm run bench -- --profile`: remora runs with `--cpu-prof`, and this summarises the profile it
 * writes on exit as self time per function, so "where the time goes" is one table in the bench
 * output rather than a file to open in a browser.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly hitCount?: number;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples?: readonly number[];
}

export interface HotFunction {
  readonly name: string;
  readonly where: string;
  readonly selfPercent: number;
}

/** Self-time share per function (summed over all its nodes), highest first. */
export function hotFunctions(profile: CpuProfile, repoRoot: string, top: number): HotFunction[] {
  const hitsById = new Map<number, number>();
  if (profile.samples !== undefined) {
    for (const id of profile.samples) hitsById.set(id, (hitsById.get(id) ?? 0) + 1);
  }
  const byKey = new Map<string, { name: string; where: string; hits: number }>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = hitsById.get(n.id) ?? n.hitCount ?? 0;
    if (hits === 0) continue;
    total += hits;
    const f = n.callFrame;
    const file = f.url.startsWith('file://') ? relative(repoRoot, new URL(f.url).pathname) : f.url;
    const where = file === '' ? '(native)' : `${file}:${f.lineNumber + 1}`;
    const name = f.functionName === '' ? '(anonymous)' : f.functionName;
    const key = `${name}@${where}`;
    const e = byKey.get(key);
    if (e === undefined) byKey.set(key, { name, where, hits });
    else e.hits += hits;
  }
  return [...byKey.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, top)
    .map((e) => ({ name: e.name, where: e.where, selfPercent: (100 * e.hits) / Math.max(total, 1) }));
}

/** Reads the newest .cpuprofile in dir and formats its hottest functions. */
export function summariseProfileDir(dir: string, repoRoot: string, top = 25): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return [`no .cpuprofile was written in ${dir} (did remora exit cleanly?)`];
  files.sort();
  const path = join(dir, files[files.length - 1]);
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const lines = [`profile: ${relative(repoRoot, path)} (self time, top ${top})`];
  for (const h of hotFunctions(profile, repoRoot, top)) {
    lines.push(`${h.selfPercent.toFixed(1).padStart(5)}%  ${h.name}  ${h.where}`);
  }
  return lines;
}
