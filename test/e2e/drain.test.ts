import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, get, HeldUpstream, httpBootstrap, post, TempDir } from './fixtures.js';
import { exited, integrated, startProcess, stopProcess } from './run-remora.js';

let child: ChildProcess | undefined;
let upstream: HeldUpstream | undefined;
let dir: TempDir | undefined;

afterEach(async () => {
  await stopProcess(child);
  await upstream?.close();
  dir?.remove();
  child = undefined;
  upstream = undefined;
  dir = undefined;
});

/** Polls `check` every 25 ms until it returns true, for at most `ms`. */
async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; Date.now() < deadline && i < 1000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * True when a new connection is refused. The probe is a whole request, not a bare connect: a
 * probe that lands just before the listener closes is then answered (Connection: close) and
 * closed like any request in the drain, instead of lingering as a connection that never spoke.
 */
function refused(port: number): Promise<boolean> {
  return get(port, '/probe').then(
    () => false,
    (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED',
  );
}

interface Started {
  proxy: ChildProcess;
  port: number;
  adminPort: number;
  origin: HeldUpstream;
}

async function startRemora(drainTimeS: number): Promise<Started> {
  upstream = new HeldUpstream();
  const upstreamPort = await upstream.listen();
  const port = await freePort();
  dir = new TempDir();
  const config = dir.write('drain.yaml', httpBootstrap({ listenerPort: port, upstreamPort }));
  const adminFile = join(dir.path, 'admin-address');
  child = startProcess([
    '-c',
    config,
    '--drain-time-s',
    String(drainTimeS),
    '--admin-address-path',
    adminFile,
  ]);
  const proxy = child;
  let stderr = '';
  proxy.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  await until(`remora to serve on :${port} (stderr: ${stderr})`, async () => {
    if (proxy.exitCode !== null) throw new Error(`remora exited ${proxy.exitCode}: ${stderr}`);
    return get(port, '/ready-probe').then(
      (r) => r.status === 200,
      () => false,
    );
  });
  await until('the admin address file', async () => {
    try {
      return /:\d+\n$/.test(readFileSync(adminFile, 'utf8'));
    } catch {
      return false;
    }
  });
  const adminPort = Number(readFileSync(adminFile, 'utf8').trim().split(':').pop());
  return { proxy, port, adminPort, origin: upstream };
}

describe.skipIf(!integrated)('graceful drain of the remora process', () => {
  it('SIGTERM under HTTP/1.1 load: all in-flight requests complete with Connection: close, new ones are refused, exit 0', async () => {
    const { proxy, port, origin } = await startRemora(30);
    const inflight = Array.from({ length: 24 }, (_, i) => get(port, `/held/${i}`));
    await origin.waitHeld(24);

    proxy.kill('SIGTERM');
    await until('the listener to refuse connections', () => refused(port));
    expect(proxy.exitCode).toBeNull();

    origin.release();
    const replies = await Promise.all(inflight);
    for (const r of replies) {
      expect(r.status).toBe(200);
      expect(r.body).toBe('released');
      expect(r.headers.connection).toBe('close');
    }
    // Every connection is closed now (the probes included), so the process exits well before the
    // 30 s drain deadline; were one left open, this would time out.
    expect(await exited(proxy)).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM with HTTP/2 streams in flight: the session gets GOAWAY and every stream completes', async () => {
    const { proxy, port, origin } = await startRemora(30);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      let goaway = false;
      session.on('goaway', () => {
        goaway = true;
      });
      session.on('error', () => {});
      const streams = Array.from(
        { length: 8 },
        (_, i) =>
          new Promise<{ status: number; body: string }>((resolve, reject) => {
            const s = session.request({ ':path': `/held/h2-${i}` });
            let status = 0;
            let body = '';
            s.on('response', (h) => {
              status = Number(h[':status']);
            });
            s.setEncoding('utf8');
            s.on('data', (c: string) => {
              body += c;
            });
            s.on('end', () => resolve({ status, body }));
            s.on('error', reject);
          }),
      );
      await origin.waitHeld(8);
      proxy.kill('SIGTERM');
      await until('GOAWAY on the HTTP/2 session', async () => goaway);
      origin.release();
      for (const r of await Promise.all(streams)) expect(r).toEqual({ status: 200, body: 'released' });
    } finally {
      session.close();
    }
    expect(await exited(proxy)).toEqual({ code: 0, signal: null });
  });

  it('POST /quitquitquit drains the same way', async () => {
    const { proxy, port, adminPort, origin } = await startRemora(30);
    const inflight = get(port, '/held/q');
    await origin.waitHeld(1);
    expect((await post(adminPort, '/quitquitquit')).status).toBe(200);
    await until('the listener to refuse connections', () => refused(port));
    origin.release();
    const r = await inflight;
    expect([r.status, r.headers.connection, r.body]).toEqual([200, 'close', 'released']);
    expect(await exited(proxy)).toEqual({ code: 0, signal: null });
  });

  it('the drain deadline cuts what is still open and exits 0', async () => {
    const { proxy, port, origin } = await startRemora(1);
    const inflight = get(port, '/held/stuck').catch((e: unknown) => e);
    await origin.waitHeld(1);
    const started = Date.now();
    proxy.kill('SIGTERM');
    expect(await exited(proxy)).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await inflight).toBeInstanceOf(Error);
  });

  it('a second signal exits at once with 128+N', async () => {
    const { proxy, port, origin } = await startRemora(30);
    const inflight = get(port, '/held/x').catch((e: unknown) => e);
    await origin.waitHeld(1);
    proxy.kill('SIGTERM');
    await until('the listener to refuse connections', () => refused(port));
    proxy.kill('SIGINT');
    expect(await exited(proxy)).toEqual({ code: 130, signal: null });
    expect(await inflight).toBeInstanceOf(Error);
  });
});
