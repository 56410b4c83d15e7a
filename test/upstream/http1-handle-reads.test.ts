import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Http1Pool } from '../../proxy/upstream/http1-pool.js';
import { head, hostFor, portOf, Recorder, statsFor, until } from './helpers.js';

/**
 * The lean HTTP/1.1 pool's reads, with the parser consuming the socket's handle (the default) and
 * with the 'data'-event fallback: what that switch puts at risk, over raw loopback servers that
 * control exactly which bytes go out in which TCP write.
 */

let server: Server | null = null;
let pool: Http1Pool | null = null;
let sockets: Socket[] = [];
/** Failures of a raw server's script while its connection was still open. */
let serverErrors: unknown[] = [];

afterEach(async () => {
  const errors = serverErrors;
  serverErrors = [];
  pool?.destroy();
  pool = null;
  for (const s of sockets) s.destroy();
  sockets = [];
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  server = null;
  expect(errors).toEqual([]);
});

/** One accepted connection: the request heads it received, in order, as they complete. */
class Conn {
  heads: string[] = [];
  private buf = '';
  private waiter: (() => void) | null = null;
  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      for (let i = this.buf.indexOf('\r\n\r\n'); i >= 0; i = this.buf.indexOf('\r\n\r\n')) {
        this.heads.push(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 4);
      }
      this.waiter?.();
    });
    socket.on('error', () => {});
  }
  /** Waits until `n` request heads arrived on this connection. */
  async request(n: number): Promise<string> {
    await until(() => this.heads.length >= n || this.socket.destroyed, `request ${n}`);
    if (this.heads.length < n) throw new Error('connection closed before the request');
    return this.heads[n - 1];
  }
}

/**
 * A raw TCP server; each accepted connection is handed to `onConn`, a script that fails the test
 * if it throws while its connection is open (one closed under it just stops).
 */
async function rawServer(
  onConn: (c: Conn, index: number) => Promise<void>,
): Promise<{ port: number; conns: Conn[] }> {
  const conns: Conn[] = [];
  const s = createServer((sock) => {
    sockets.push(sock);
    const c = new Conn(sock);
    conns.push(c);
    onConn(c, conns.length - 1).catch((e: unknown) => {
      if (!sock.destroyed) serverErrors.push(e);
    });
  });
  server = s;
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: portOf(s), conns };
}

function makePool(port: number, readHandle: boolean, idleTimeoutMs = 0) {
  const { stats } = statsFor('c1');
  const p = new Http1Pool(hostFor(port), stats, {
    connectTimeoutMs: 2000,
    idleTimeoutMs,
    maxRequestsPerConnection: 0,
    readHandle,
  });
  pool = p;
  return { pool: p, stats };
}

async function get(p: Http1Pool, path = '/'): Promise<Recorder> {
  const r = new Recorder();
  p.newStream(head({ path }), r);
  await r.done;
  return r;
}

function wrote(sock: Socket, data: string | Buffer): Promise<void> {
  return new Promise((res, rej) => sock.write(data, (e) => (e ? rej(e) : res())));
}

/** One turn of the event loop after the I/O phase (reads already received are delivered). */
function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

const ok = (body: string): string => `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`;

/** Writes `total` bytes of body on `sock` until the kernel buffers are full; resolves with what went. */
function fillUntilBlocked(sock: Socket, total: number): { sent: () => number; blocked: Promise<void> } {
  const chunk = Buffer.alloc(64 * 1024, 'b');
  let sent = 0;
  const blocked = new Promise<void>((res) => {
    const pump = (): void => {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!sock.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          res();
          sock.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  return { sent: () => sent, blocked };
}

describe.each([
  ['parser consumes the socket handle', true],
  ['data events (fallback)', false],
])('HTTP/1.1 upstream reads: %s', (_name, readHandle) => {
  it('reads through the handle only when asked to, and reuses the connection', async () => {
    const { port, conns } = await rawServer(async (c) => {
      for (let n = 1; n <= 3; n++) {
        await c.request(n);
        c.socket.write(ok(`r${n}`));
      }
    });
    const { pool } = makePool(port, readHandle);
    for (let n = 1; n <= 3; n++) expect((await get(pool)).body).toBe(`r${n}`);
    expect(conns.length).toBe(1);
    expect(pool.handleReadingCount).toBe(readHandle ? 1 : 0);
  });

  it('a slow downstream holds the upstream back: paused mid-body, the server stalls; resumed, all arrives', async () => {
    const total = 24 * 1024 * 1024;
    let fill: ReturnType<typeof fillUntilBlocked> | null = null;
    const { port, conns } = await rawServer(async (c) => {
      await c.request(1);
      c.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${total}\r\n\r\n`);
      fill = fillUntilBlocked(c.socket, total);
      await c.request(2);
      c.socket.write(ok('after'));
    });
    const { pool } = makePool(port, readHandle);
    const r = new Recorder();
    const s = pool.newStream(head(), r);
    // Paused from inside a body callback, as the router does when the downstream is full.
    r.onDataHook = () => {
      if (r.bytes >= 256 * 1024) {
        s.pause();
        r.onDataHook = null;
      }
    };
    await until(() => fill !== null, 'response under way');
    await fill!.blocked;
    await until(() => r.onDataHook === null, 'stream paused');
    const atPause = r.bytes;
    // Nothing more is delivered while paused, however many turns pass.
    for (let i = 0; i < 20; i++) await turn();
    expect(r.bytes).toBe(atPause);
    expect(atPause).toBeLessThan(2 * 1024 * 1024);
    expect(fill!.sent()).toBeLessThan(total);
    s.resume();
    await r.done;
    expect(r.bytes).toBe(total);
    expect(fill!.sent()).toBe(total);
    // The pause did not outlive the response: the connection's next response is read.
    expect((await get(pool)).body).toBe('after');
    expect(conns.length).toBe(1);
  });

  it('a stream paused before its connection is up gets no body until it resumes', async () => {
    const total = 16 * 1024 * 1024;
    let fill: ReturnType<typeof fillUntilBlocked> | null = null;
    const { port } = await rawServer(async (c) => {
      await c.request(1);
      c.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${total}\r\n\r\n`);
      fill = fillUntilBlocked(c.socket, total);
    });
    const { pool } = makePool(port, readHandle);
    const r = new Recorder();
    const s = pool.newStream(head(), r);
    s.pause();
    await until(() => fill !== null, 'response under way');
    await fill!.blocked;
    for (let i = 0; i < 20; i++) await turn();
    expect(r.status).toBe(0);
    expect(r.bytes).toBe(0);
    s.resume();
    await r.done;
    expect(r.bytes).toBe(total);
  });

  it('hands a reused connection over on a 101, with the bytes that came in the same write', async () => {
    const { port, conns } = await rawServer(async (c) => {
      await c.request(1);
      c.socket.write(ok('plain'));
      await c.request(2);
      c.socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\nearly');
      c.socket.on('data', (d: Buffer) => {
        const t = d.toString();
        if (!t.includes('\r\n\r\n')) c.socket.write(`echo:${t}`);
      });
    });
    const { pool } = makePool(port, readHandle);
    expect((await get(pool)).body).toBe('plain');
    const r = new Recorder();
    pool.newStream(head({ upgrade: 'echo', headers: { connection: 'upgrade', upgrade: 'echo' } }), r);
    await r.done;
    expect(r.error).toBeNull();
    expect(r.upgraded).not.toBeNull();
    expect(r.upgraded!.headers.upgrade).toBe('echo');
    expect(r.upgraded!.head.toString()).toBe('early');
    expect(conns.length).toBe(1);
    // The pool let go of it; the socket is the upgrade's now, and reads both ways.
    expect(pool.connectionCount).toBe(0);
    const sock = r.upgraded!.socket;
    const got = new Promise<string>((res) => sock.once('data', (d: Buffer) => res(d.toString())));
    sock.write('ping');
    expect(await got).toBe('echo:ping');
    sock.destroy();
  });

  it('sees the server close an idle keep-alive connection, and the next request takes a new one', async () => {
    const { port, conns } = await rawServer(async (c, i) => {
      await c.request(1);
      await wrote(c.socket, ok(`c${i}`));
      if (i === 0) c.socket.end();
    });
    const { pool, stats } = makePool(port, readHandle);
    expect((await get(pool)).body).toBe('c0');
    await until(() => pool.connectionCount === 0, 'idle connection closed by the server noticed');
    expect(stats.upstream_cx_destroy_remote.value).toBe(1);
    const r = await get(pool);
    expect(r.error).toBeNull();
    expect(r.body).toBe('c1');
    expect(conns.length).toBe(2);
  });

  it('replays a body-less request the server closed a reused connection under, before answering', async () => {
    const { port, conns } = await rawServer(async (c, i) => {
      await c.request(1);
      await wrote(c.socket, ok(`c${i}r1`));
      if (i > 0) return;
      // Second request on the first connection: closed without an answer (the keep-alive race).
      await c.request(2);
      c.socket.end();
    });
    const { pool } = makePool(port, readHandle);
    expect((await get(pool)).body).toBe('c0r1');
    const r = await get(pool);
    expect(r.error).toBeNull();
    expect(r.body).toBe('c1r1');
    expect(conns.length).toBe(2);
  });

  it('parses a response split across many small TCP writes, trailers included', async () => {
    const body = 'abcdefghij'.repeat(12);
    const wire = `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-a: 1\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\nx-trailer: t\r\n\r\n`;
    const { port, conns } = await rawServer(async (c) => {
      await c.request(1);
      for (let i = 0; i < wire.length; i += 3) {
        await wrote(c.socket, wire.slice(i, i + 3));
        await turn();
      }
      await c.request(2);
      c.socket.write(ok('next'));
    });
    const { pool, stats } = makePool(port, readHandle);
    const r = await get(pool);
    expect(r.error).toBeNull();
    expect(r.headers['x-a']).toBe('1');
    expect(r.body).toBe(body);
    expect(r.trailers).toEqual({ 'x-trailer': 't' });
    expect(r.chunks.length).toBeGreaterThan(1);
    expect((await get(pool)).body).toBe('next');
    expect(conns.length).toBe(1);
    expect(stats.upstream_cx_protocol_error.value).toBe(0);
  });

  it.each([
    ['a whole second response', ok('stray')],
    ['a whole bodyless response', 'HTTP/1.1 204 No Content\r\n\r\n'],
    ['part of a second response', 'HTTP/1.1 200 O'],
  ])(
    'bytes after the response in the same write (%s) are a protocol error; the connection is not reused',
    async (_what, extra) => {
      const { port, conns } = await rawServer(async (c, i) => {
        await c.request(1);
        c.socket.write(i === 0 ? ok('first') + extra : ok(`fresh${i}`));
      });
      const { pool, stats } = makePool(port, readHandle);
      const r1 = await get(pool);
      expect(r1.error).toBeNull();
      expect(r1.body).toBe('first');
      expect(stats.upstream_cx_protocol_error.value).toBe(1);
      const r2 = await get(pool);
      expect(r2.body).toBe('fresh1');
      expect(conns.length).toBe(2);
    },
  );

  it('bytes arriving on an idle connection are a protocol error and close it', async () => {
    const { port, conns } = await rawServer(async (c, i) => {
      await c.request(1);
      await wrote(c.socket, ok(`c${i}`));
      if (i === 0) c.socket.write(ok('unasked'));
    });
    const { pool, stats } = makePool(port, readHandle);
    expect((await get(pool)).body).toBe('c0');
    await until(() => pool.connectionCount === 0, 'out-of-step connection closed');
    expect(stats.upstream_cx_protocol_error.value).toBe(1);
    expect((await get(pool)).body).toBe('c1');
    expect(conns.length).toBe(2);
  });

  it('counts the bytes read and written on the connection', async () => {
    const wire = ok('y'.repeat(1000));
    let received = 0;
    const { port } = await rawServer(async (c) => {
      c.socket.on('data', (d: Buffer) => {
        received += d.length;
      });
      await c.request(1);
      c.socket.write(wire);
    });
    const { pool, stats } = makePool(port, readHandle);
    expect((await get(pool)).body).toBe('y'.repeat(1000));
    pool.drain();
    await until(() => stats.upstream_cx_active.value === 0, 'connection closed');
    expect(stats.upstream_cx_rx_bytes_total.value).toBe(wire.length);
    expect(stats.upstream_cx_tx_bytes_total.value).toBe(received);
    expect(received).toBeGreaterThan(0);
  });

  it('fails the stream with protocol_error on a malformed response and closes the connection', async () => {
    const { port, conns } = await rawServer(async (c) => {
      await c.request(1);
      c.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello');
    });
    const { pool, stats } = makePool(port, readHandle);
    const r = await get(pool);
    expect(r.error?.reason).toBe('protocol_error');
    expect(stats.upstream_cx_protocol_error.value).toBe(1);
    await until(() => conns[0].socket.destroyed || conns[0].socket.readableEnded, 'connection closed');
    expect(pool.connectionCount).toBe(0);
  });
});

describe('HTTP/1.1 upstream idle timeout', () => {
  it('counts from the last time the connection went idle, across reuse', async () => {
    const { port, conns } = await rawServer(async (c) => {
      for (let n = 1; n <= 100; n++) {
        await c.request(n);
        c.socket.write(ok(`r${n}`));
      }
    });
    const idleMs = 120;
    const { pool, stats } = makePool(port, true, idleMs);
    // Requests 20 ms apart for over three idle timeouts: the connection is never idle for long.
    const start = Date.now();
    let n = 0;
    while (Date.now() - start < 3.5 * idleMs && n < 60) {
      n++;
      expect((await get(pool)).body).toBe(`r${n}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(conns.length).toBe(1);
    const idleFrom = Date.now();
    await until(() => pool.connectionCount === 0, 'idle connection closed');
    expect(Date.now() - idleFrom).toBeGreaterThanOrEqual(idleMs - 30);
    expect(stats.upstream_cx_destroy_local.value).toBe(1);
  });
});
