import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exited, stopProcess, waitForOutput } from '../e2e/run-remora.js';

const fixture = join(import.meta.dirname, 'fixtures', 'drain-server.mjs');
let child: ChildProcess | undefined;

afterEach(async () => {
  await stopProcess(child);
  child = undefined;
});

function start(drainTimeMs: number): ChildProcess {
  child = spawn(process.execPath, [fixture, String(drainTimeMs)], { stdio: ['pipe', 'pipe', 'pipe'] });
  return child;
}

interface Reply {
  status: number;
  connection: string | undefined;
  body: string;
}

function get(port: number, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe('lifecycle in a real process', () => {
  it('SIGTERM under load: every request in flight completes, new ones are refused, exit 0', async () => {
    const p = start(10_000);
    const port = Number((await waitForOutput(p, /listening (\d+)\n/))[1]);
    const inflight = Array.from({ length: 20 }, () => get(port, '/held'));
    await waitForOutput(p, /held 20\n/);

    p.kill('SIGTERM');
    await waitForOutput(p, /shutting down: draining listeners\n/);
    await expect(get(port, '/')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(p.exitCode).toBeNull();

    p.stdin?.write('release\n');
    const replies = await Promise.all(inflight);
    for (const r of replies) expect(r).toEqual({ status: 200, connection: 'close', body: 'released' });
    await waitForOutput(p, /after-drain step ran\n/);
    expect(await exited(p)).toEqual({ code: 0, signal: null });
  });

  it('SIGINT with nothing in flight exits 0 at once', async () => {
    const p = start(60_000);
    await waitForOutput(p, /listening (\d+)\n/);
    p.kill('SIGINT');
    expect(await exited(p)).toEqual({ code: 0, signal: null });
  });

  it('a second signal exits immediately with 128+N', async () => {
    const p = start(60_000);
    const port = Number((await waitForOutput(p, /listening (\d+)\n/))[1]);
    // The rejection is expected; catch it now so that it is never unhandled while we wait.
    const inflight = get(port, '/held').catch((e: unknown) => e);
    await waitForOutput(p, /held 1\n/);
    p.kill('SIGTERM');
    await waitForOutput(p, /shutting down/);
    p.kill('SIGTERM');
    expect(await exited(p)).toEqual({ code: 143, signal: null });
    expect(await inflight).toMatchObject({ code: 'ECONNRESET' });
  });

  it('the drain deadline closes what is left and still exits 0', async () => {
    const p = start(200);
    const port = Number((await waitForOutput(p, /listening (\d+)\n/))[1]);
    const inflight = get(port, '/held').catch((e: unknown) => e);
    await waitForOutput(p, /held 1\n/);
    p.kill('SIGTERM');
    await waitForOutput(p, /drain deadline passed/);
    expect(await exited(p)).toEqual({ code: 0, signal: null });
    expect(await inflight).toMatchObject({ code: 'ECONNRESET' });
  });
});
