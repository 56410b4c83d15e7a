// A client that connects and sends nothing, or closes without sending a byte, must not hold a
// graceful shutdown until --drain-time-s: the connection manager closes connections that have not
// reached a codec yet when the drain starts, and ends those whose peer closed before any byte.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, get, HeldUpstream, httpBootstrap, TempDir } from './fixtures.js';
import { exited, integrated, startProcess, stopProcess } from './run-remora.js';

let child: ChildProcess | undefined;
let upstream: HeldUpstream | undefined;
let dir: TempDir | undefined;
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await stopProcess(child);
  await upstream?.close();
  dir?.remove();
});

async function start(): Promise<{ proxy: ChildProcess; port: number }> {
  upstream = new HeldUpstream();
  const upstreamPort = await upstream.listen();
  const port = await freePort();
  dir = new TempDir();
  const config = dir.write('silent.yaml', httpBootstrap({ listenerPort: port, upstreamPort }));
  child = startProcess(['-c', config, '--drain-time-s', '30']);
  const proxy = child;
  const deadline = Date.now() + 10_000;
  for (let i = 0; i < 400 && Date.now() < deadline; i++) {
    if (
      await get(port, '/up').then(
        (r) => r.status === 200,
        () => false,
      )
    )
      return { proxy, port };
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('remora did not start');
}

describe.skipIf(!integrated)('drain with silent clients', () => {
  it('a connection that never sends a byte does not hold the drain', async () => {
    const { proxy, port } = await start();
    const s = net.connect(port, '127.0.0.1');
    sockets.push(s);
    await once(s, 'connect');
    const t0 = Date.now();
    proxy.kill('SIGTERM');
    expect(await exited(proxy)).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a connection closed by the client before any byte does not hold the drain', async () => {
    const { proxy, port } = await start();
    const s = net.connect(port, '127.0.0.1');
    await once(s, 'connect');
    s.end();
    await once(s, 'close');
    const t0 = Date.now();
    proxy.kill('SIGTERM');
    expect(await exited(proxy)).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
