/**
 * The processes under test: the nginx origin and the peers from ../shared/bench-peers (used in
 * place, never copied into this repository), remora's own nginx HTTP/2 front, and remora. Every
 * proxy is started through `taskset` on the same CPU when pinning is on, so each gets at most one
 * core, as the issue's target states it ("one process on one core").
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Target {
  readonly name: string;
  readonly port: number;
  readonly proto: 'h1' | 'h2';
  /** The process whose peak RSS is reported (remora), when there is one. */
  readonly pid?: number;
}

export interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  stderr: string;
}

export class ProcessSet {
  readonly work = mkdtempSync(join(tmpdir(), 'remora-bench-'));
  private readonly started: Started[] = [];
  private readonly tempFiles: string[] = [];

  constructor(
    /** `taskset -c <cpu>` prefix for proxies, or undefined for no pinning. */
    private readonly pinCpu: number | undefined,
  ) {}

  /** Starts a long-running process; `pin` runs it under taskset when pinning is on. */
  start(name: string, cmd: string, args: readonly string[], opts: { pin: boolean; cwd?: string }): Started {
    const pinned = opts.pin && this.pinCpu !== undefined;
    const file = pinned ? 'taskset' : cmd;
    const argv = pinned ? ['-c', String(this.pinCpu), cmd, ...args] : [...args];
    const child = spawn(file, argv, { cwd: opts.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    const s: Started = { name, child, stderr: '' };
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      if (s.stderr.length < 8192) s.stderr += c;
    });
    child.on('error', (err) => {
      s.stderr += String(err);
    });
    this.started.push(s);
    return s;
  }

  /** Writes a config with __WORK__ replaced by this run's temporary directory. */
  templated(src: string, name: string): string {
    const out = join(this.work, name);
    writeFileSync(out, readFileSync(src, 'utf8').replaceAll('__WORK__', this.work));
    return out;
  }

  /**
   * Copies a node peer script next to the repository's node_modules so that it resolves the
   * devDependencies (run.sh does the same; `.bench-*` is git-ignored). Removed in stopAll().
   */
  besideNodeModules(src: string, repoRoot: string, name: string): string {
    const out = join(repoRoot, name);
    copyFileSync(src, out);
    this.tempFiles.push(out);
    return out;
  }

  async stopAll(): Promise<void> {
    for (const s of this.started.reverse()) {
      if (s.child.exitCode !== null || s.child.signalCode !== null) continue;
      const gone = new Promise<void>((r) => s.child.once('exit', () => r()));
      s.child.kill('SIGTERM');
      const timer = setTimeout(() => s.child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    }
    for (const f of this.tempFiles) rmSync(f, { force: true });
    rmSync(this.work, { recursive: true, force: true });
  }
}

/** Resolves once a TCP connect to the port succeeds, or rejects after `ms`. */
export async function waitForPort(port: number, ms: number, proc?: Started): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    if (proc !== undefined && proc.child.exitCode !== null) {
      throw new Error(`${proc.name} exited with ${proc.child.exitCode}: ${proc.stderr.trim()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on :${port} after ${ms} ms${proc ? `: ${proc.stderr.trim()}` : ''}`);
}

/** True when a program is on the PATH. */
export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Peak resident set size (VmHWM) of a live process, in KiB, or NaN when unreadable. */
export function peakRssKiB(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? Number.NaN : Number(m[1]);
  } catch {
    return Number.NaN;
  }
}

/** True when something accepts connections on the port (used to refuse to run over another bench). */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** remora's admin port in bench/bootstrap.yaml. */
export const REMORA_ADMIN_PORT = 19901;

export const PORTS = {
  origin: 18080,
  nginx: 18081,
  haproxy: 18082,
  nodeHttpProxy: 18083,
  fastify: 18084,
  remora: 18085,
  nginxH2: 18086,
} as const;

/** Where the shared peer configs live, relative to the repository root; undefined when absent. */
export function peersDir(repoRoot: string): string | undefined {
  const dir = join(repoRoot, '..', 'shared', 'bench-peers');
  return existsSync(join(dir, 'nginx-origin.conf')) ? dir : undefined;
}
