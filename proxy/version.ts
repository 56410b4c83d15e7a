/**
 * remora's version and build identity, for `--version` and the admin `/server_info`. Read once from
 * the package root at start-up (never on a request path). The commit comes from the git checkout
 * when there is one; an installed package has none and says `unknown`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface VersionInfo {
  readonly version: string;
  /** Full commit hash, or `unknown`. */
  readonly commit: string;
  readonly node: string;
}

/** The directory holding remora's package.json, found by walking up from this file (src or dist). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name;
        if (name === 'remora') return dir;
      } catch {
        // Not ours or unreadable: keep walking.
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dirname(fileURLToPath(import.meta.url));
}

function readCommit(root: string): string {
  try {
    const gitDir = join(root, '.git');
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return /^[0-9a-f]{40}$/.test(head) ? head : 'unknown';
    const ref = head.slice(5);
    const loose = join(gitDir, ref);
    if (existsSync(loose)) return readFileSync(loose, 'utf8').trim();
    // A ref packed by `git gc` lives in packed-refs as `<sha> <ref>`.
    const packed = readFileSync(join(gitDir, 'packed-refs'), 'utf8');
    for (const line of packed.split('\n')) {
      const [sha, name] = line.split(' ');
      if (name === ref && /^[0-9a-f]{40}$/.test(sha)) return sha;
    }
  } catch {
    // No checkout (installed from a registry): the commit is not known.
  }
  return 'unknown';
}

let cached: VersionInfo | undefined;

export function versionInfo(): VersionInfo {
  if (cached !== undefined) return cached;
  const root = packageRoot();
  let version = '0.0.0';
  try {
    const v = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown }).version;
    if (typeof v === 'string') version = v;
  } catch {
    // Leave the placeholder: a missing package.json must not stop the proxy.
  }
  const commit = readCommit(root);
  cached = { version, commit, node: process.version };
  return cached;
}

/**
 * Envoy prints `envoy  version: <sha>/<version>/<status>/<build type>/<TLS library>`; remora keeps
 * the shape with its own fields: `remora  version: <sha>/<version>/RELEASE/node-<node version>`.
 */
export function versionLine(): string {
  const v = versionInfo();
  return `remora  version: ${v.commit}/${v.version}/RELEASE/node-${v.node}`;
}
