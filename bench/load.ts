/**
 * The load generators: wrk for HTTP/1.1 and h2load for HTTP/2, run as child processes, their
 * output parsed into one shape. Latencies are microseconds throughout.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface LoadResult {
  readonly rps: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** Requests that failed (non-2xx, socket errors, timeouts), as the tool counts them. */
  readonly errors: number;
}

export interface CommandOutput {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion, with a hard bound so a stuck tool cannot hang the bench. */
export function runCommand(cmd: string, args: readonly string[], timeoutMs: number): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `35.00us`, `1.65ms`, `2.01s`, `3.00m` → microseconds. */
export function parseDurationUs(text: string): number {
  const m = /^([0-9.]+)(us|ms|s|m)$/.exec(text.trim());
  if (m === null) return Number.NaN;
  const v = Number(m[1]);
  switch (m[2]) {
    case 'us':
      return v;
    case 'ms':
      return v * 1e3;
    case 's':
      return v * 1e6;
    default:
      return v * 60e6;
  }
}

/** Parses `wrk --latency` output. */
export function parseWrk(out: string): LoadResult {
  const rps = Number(/Requests\/sec:\s+([0-9.]+)/.exec(out)?.[1] ?? Number.NaN);
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out);
    return m === null ? Number.NaN : parseDurationUs(m[1]);
  };
  let errors = 0;
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  if (sock !== null) errors += Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx !== null) errors += Number(non2xx[1]);
  return { rps, p50Us: pct('50'), p99Us: pct('99'), errors };
}

export async function wrk(url: string, connections: number, seconds: number): Promise<LoadResult> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url];
  const out = await runCommand('wrk', args, (seconds + 30) * 1000);
  if (out.code !== 0) throw new Error(`wrk ${args.join(' ')} failed: ${out.stderr || out.stdout}`);
  return parseWrk(out.stdout);
}

/** Exact percentile of a sorted array (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/**
 * Parses h2load's summary (rps, failures) and its --log-file (one row per request: start time,
 * status, microseconds to the end of the response) for the percentiles h2load does not print.
 */
export function parseH2load(out: string, log: string): LoadResult {
  const rps = Number(/finished in [0-9.]+\w*, ([0-9.]+) req\/s/.exec(out)?.[1] ?? Number.NaN);
  const req =
    /requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      out,
    );
  const errors = req === null ? 0 : Number(req[1]) + Number(req[2]) + Number(req[3]);
  const times: number[] = [];
  for (const line of log.split('\n')) {
    const cols = line.split('\t');
    if (cols.length < 3 || cols[1] === '-1') continue;
    const us = Number(cols[2]);
    if (Number.isFinite(us)) times.push(us);
  }
  times.sort((a, b) => a - b);
  return { rps, p50Us: percentile(times, 50), p99Us: percentile(times, 99), errors };
}

export async function h2load(
  url: string,
  clients: number,
  streamsPerClient: number,
  seconds: number,
  workDir: string,
): Promise<LoadResult> {
  const log = join(workDir, `h2load-${process.pid}-${Date.now()}.log`);
  const args = [
    '-t1',
    `-c${clients}`,
    `-m${streamsPerClient}`,
    `-D${seconds}`,
    '--warm-up-time=1',
    `--log-file=${log}`,
    url,
  ];
  try {
    const out = await runCommand('h2load', args, (seconds + 30) * 1000);
    if (out.code !== 0) throw new Error(`h2load ${args.join(' ')} failed: ${out.stderr || out.stdout}`);
    return parseH2load(out.stdout, readFileSync(log, 'utf8'));
  } finally {
    rmSync(log, { force: true });
  }
}
