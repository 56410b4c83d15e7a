import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectTcpAsync } from '../../proxy/upstream/tcp-connect.js';
import { deadPort, hostFor, portOf, statsFor, until } from './helpers.js';

let server: Server | null = null;
const open: Socket[] = [];

afterEach(async () => {
  for (const s of open.splice(0)) s.destroy();
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  server = null;
});

describe('tcp connector', () => {
  it('returns a connected socket and counts the connection', async () => {
    server = createServer((s) => {
      open.push(s);
      s.pipe(s);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const { stats } = statsFor();
    const host = hostFor(portOf(server));
    const res = await connectTcpAsync(host, stats, 1000);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    open.push(res.socket);
    const echoed = new Promise<string>((r) => res.socket.once('data', (d) => r(d.toString())));
    res.socket.write('hello');
    expect(await echoed).toBe('hello');
    expect(stats.upstream_cx_total.value).toBe(1);
    expect(stats.upstream_cx_active.value).toBe(1);
    expect(host.cxActive).toBe(1);
    res.socket.destroy();
    await until(() => stats.upstream_cx_active.value === 0, 'close counted');
    expect(stats.upstream_cx_destroy_local.value).toBe(1);
    expect(host.cxActive).toBe(0);
  });

  it('reports connect_failure for a port with nothing listening', async () => {
    const { stats } = statsFor();
    const host = hostFor(await deadPort());
    const res = await connectTcpAsync(host, stats, 1000);
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.reason).toBe('connect_failure');
    await until(() => stats.upstream_cx_connect_fail.value === 1, 'connect_fail counted');
    expect(host.cxConnectFail).toBe(1);
    expect(stats.upstream_cx_active.value).toBe(0);
  });

  it('reports connect_timeout when the handshake does not finish in time', async () => {
    server = createServer((s) => open.push(s));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const { stats } = statsFor();
    // Start the connect from a setImmediate callback and hold the loop past the 1 ms deadline: the
    // next loop iteration runs due timers before it polls for the connect completion, so the
    // timeout deterministically wins.
    const pending = new Promise<ReturnType<typeof connectTcpAsync>>((resolve) => {
      setImmediate(() => {
        const p = connectTcpAsync(hostFor(portOf(server!)), stats, 1);
        const end = Date.now() + 20;
        while (Date.now() < end) {
          /* busy wait */
        }
        resolve(p);
      });
    });
    const res = await pending;
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.reason).toBe('connect_timeout');
    expect(stats.upstream_cx_connect_timeout.value).toBe(1);
    await until(() => stats.upstream_cx_connect_fail.value === 1, 'connect_fail counted');
  });

  it('counts a remote close as destroy_remote', async () => {
    server = createServer((s) => s.end());
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const { stats } = statsFor();
    const res = await connectTcpAsync(hostFor(portOf(server)), stats, 1000);
    expect(res.ok).toBe(true);
    if (res.ok) {
      res.socket.resume();
      res.socket.on('end', () => res.socket.end());
    }
    await until(() => stats.upstream_cx_destroy.value === 1, 'close counted');
    expect(stats.upstream_cx_destroy_remote.value).toBe(1);
  });
});
