/** Runs the compiled `remora` binary as a real process (built by test/e2e/global-setup.ts). */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const cliPath = join(repoRoot, 'dist', 'proxy', 'cli.js');

/**
 * The whole-process proxy tests need the composition root (proxy/main.ts), which the integrator
 * lands last; until then they are skipped, and they run as soon as it exists (REMORA_E2E=1 forces
 * them, for a dist/proxy/main.js built some other way).
 */
export const integrated = existsSync(join(repoRoot, 'proxy', 'main.ts')) || process.env.REMORA_E2E === '1';

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs remora to completion (bounded by timeoutMs; the process is killed past it). */
export function runRemora(args: string[], timeoutMs = 10_000): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`remora ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Starts a long-running process; the caller stops it (see stopProcess). */
export function startProcess(args: string[], script = cliPath): ChildProcess {
  return spawn(process.execPath, [script, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves with the exit code once the process has exited (already exited is fine). */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Reads a child's stdout until `pattern` matches (bounded); resolves with the match. */
export function waitForOutput(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs = 10_000,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (c: Buffer | string): void => {
      seen += c.toString();
      const m = seen.match(pattern);
      if (m !== null) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = (): void => {
      cleanup();
      reject(new Error(`process exited before printing ${pattern}; output so far:\n${seen}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} within ${timeoutMs} ms; output so far:\n${seen}`));
    }, timeoutMs);
    function cleanup(): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Kills a child that is still running (afterEach), waiting for it to be gone. */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await exited(child);
}
