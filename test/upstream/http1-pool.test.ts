import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentHttp1Pool } from '../../proxy/upstream/http1-agent-pool.js';
import { Http1Pool, type Http1PoolOptions } from '../../proxy/upstream/http1-pool.js';
import type { ConnectionPool } from '../../proxy/upstream/upstream-stream.js';
import {
  deadPort,
  head,
  hostFor,
  newStreamPastConnectDeadline,
  portOf,
  Recorder,
  statsFor,
  until,
  writeWithBackpressure,
} from './helpers.js';

const OPTS: Http1PoolOptions = { connectTimeoutMs: 2000, idleTimeoutMs: 0, maxRequestsPerConnection: 0 };

let server: Server | null = null;
let pool: ConnectionPool | null = null;

type PoolClass = new (...args: ConstructorParameters<typeof Http1Pool>) => ConnectionPool;
let Impl: PoolClass = Http1Pool;
let sockets: Socket[] = [];

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  server = createServer(handler);
  server.on('connection', (s) => sockets.push(s));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return portOf(server);
}

function makePool(port: number, opts: Partial<Http1PoolOptions> = {}) {
  const { store, stats } = statsFor('c1');
  const host = hostFor(port);
  const p = new Impl(host, stats, { ...OPTS, ...opts });
  pool = p;
  return { pool: p, stats, store, host };
}

async function get(p: ConnectionPool, over: Parameters<typeof head>[0] = {}): Promise<Recorder> {
  const r = new Recorder();
  p.newStream(head(over), r);
  await r.done;
  return r;
}

afterEach(async () => {
  pool?.destroy();
  pool = null;
  for (const s of sockets) s.destroy();
  sockets = [];
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  server = null;
});

describe.each([
  ['lean (llhttp)', Http1Pool as PoolClass],
  ['node:http agent', AgentHttp1Pool as PoolClass],
])('HTTP/1.1 pool: %s', (_name, cls) => {
  beforeEach(() => {
    Impl = cls;
  });

  it('reuses one keep-alive connection for sequential requests', async () => {
    const port = await serve((req, res) => res.end(`hi ${req.url} ${req.headers.host}`));
    const { pool, stats, host } = makePool(port);
    for (let i = 0; i < 5; i++) {
      const r = await get(pool, { path: `/p${i}` });
      expect(r.status).toBe(200);
      expect(r.body).toBe(`hi /p${i} example.test`);
    }
    expect(sockets.length).toBe(1);
    expect(stats.upstream_cx_total.value).toBe(1);
    expect(stats.upstream_cx_http1_total.value).toBe(1);
    expect(stats.upstream_cx_active.value).toBe(1);
    expect(host.cxTotal).toBe(1);
    expect(host.cxActive).toBe(1);
    expect(pool.activeStreams).toBe(0);
  });

  it('opens more connections for concurrent requests, then reuses them', async () => {
    const waiting: ServerResponse[] = [];
    const port = await serve((_req, res) => {
      waiting.push(res);
      if (waiting.length === 4) for (const w of waiting.splice(0)) w.end('ok');
    });
    const { pool, stats } = makePool(port);
    const rs = [0, 1, 2, 3].map(() => {
      const r = new Recorder();
      pool.newStream(head(), r);
      return r;
    });
    expect(pool.pendingStreams + pool.activeStreams).toBe(4);
    await Promise.all(rs.map((r) => r.done));
    expect(rs.every((r) => r.body === 'ok')).toBe(true);
    expect(sockets.length).toBe(4);
    // The next four reuse the idle connections.
    await Promise.all([0, 1, 2, 3].map(() => get(pool)));
    expect(stats.upstream_cx_total.value).toBe(4);
    expect(sockets.length).toBe(4);
  });

  it('streams a chunked request body and a chunked response, with trailers both ways', async () => {
    let seen: { te?: string; cl?: string; body: string; trailer?: string } | null = null;
    const port = await serve((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        seen = {
          te: req.headers['transfer-encoding'],
          cl: req.headers['content-length'],
          body: Buffer.concat(parts).toString(),
          trailer: req.trailers['x-req-trailer'],
        };
        res.writeHead(200, { Trailer: 'x-resp-trailer' });
        res.write('part1-');
        res.write('part2');
        res.addTrailers({ 'x-resp-trailer': 'done' });
        res.end();
      });
    });
    const { pool } = makePool(port);
    const r = new Recorder();
    const s = pool.newStream(head({ method: 'POST', contentLength: -1 }), r);
    s.write(Buffer.from('abc'));
    s.write(Buffer.from('def'));
    s.end({ 'x-req-trailer': 'yes' });
    await r.done;
    expect(seen).toEqual({ te: 'chunked', cl: undefined, body: 'abcdef', trailer: 'yes' });
    expect(r.body).toBe('part1-part2');
    expect(r.trailers).toEqual({ 'x-resp-trailer': 'done' });
    expect(r.events).toEqual(['headers', 'trailers', 'end']);
    // Framing is the codec's: no transfer-encoding or connection header reaches the handler.
    expect(r.headers['transfer-encoding']).toBeUndefined();
    expect(r.headers.connection).toBeUndefined();
  });

  it('sends Content-Length when the length is known', async () => {
    let cl: string | undefined;
    let te: string | undefined;
    const port = await serve((req, res) => {
      cl = req.headers['content-length'];
      te = req.headers['transfer-encoding'];
      req.resume();
      req.on('end', () => res.end());
    });
    const { pool } = makePool(port);
    const r = new Recorder();
    const s = pool.newStream(head({ method: 'PUT', contentLength: 5 }), r);
    s.write(Buffer.from('hello'));
    s.end();
    await r.done;
    expect(cl).toBe('5');
    expect(te).toBeUndefined();
  });

  it('pauses a large response for a slow reader instead of buffering it', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const total = 32 * 1024 * 1024;
    let blocked = false;
    const port = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': total });
      writeWithBackpressure(res, chunk, total, (b) => {
        blocked = b;
      });
    });
    const { pool } = makePool(port);
    const r = new Recorder();
    const s = pool.newStream(head(), r);
    r.onHeadersHook = () => s.pause();
    await until(() => r.status === 200, 'response headers (the stream is paused from here)');
    await until(() => blocked, 'the server to be blocked by backpressure');
    // Give the pipeline a moment to fill, then check that only a bounded amount was delivered.
    await new Promise((res) => setImmediate(res));
    const atPause = r.bytes;
    expect(atPause).toBeLessThan(8 * 1024 * 1024);
    s.resume();
    await r.done;
    expect(r.bytes).toBe(total);
  });

  it('reports request-body backpressure to the writer when the upstream reads slowly', async () => {
    let upstreamReq: IncomingMessage | null = null;
    let received = 0;
    const port = await serve((req, res) => {
      upstreamReq = req;
      req.pause();
      req.on('data', (c: Buffer) => {
        received += c.length;
      });
      req.on('end', () => res.end(String(received)));
    });
    const { pool } = makePool(port);
    const r = new Recorder();
    const s = pool.newStream(head({ method: 'POST', contentLength: -1 }), r);
    const chunk = Buffer.alloc(64 * 1024, 'z');
    let written = 0;
    let full = false;
    await until(() => upstreamReq !== null, 'request head to arrive');
    for (let i = 0; i < 1024 && !full; i++) {
      full = !s.write(chunk);
      written += chunk.length;
      if (i % 16 === 15) await new Promise((res) => setImmediate(res));
    }
    expect(full).toBe(true);
    expect(written).toBeLessThan(48 * 1024 * 1024);
    const drained = new Promise<void>((res) => s.onDrain(res));
    upstreamReq!.resume();
    await drained;
    s.end();
    await r.done;
    expect(r.body).toBe(String(written));
  });

  it('delivers no body for HEAD, 204 and 304', async () => {
    const port = await serve((req, res) => {
      if (req.url === '/204') res.writeHead(204).end();
      else if (req.url === '/304') res.writeHead(304, { etag: 'x' }).end();
      else
        res.writeHead(200, { 'content-length': 11 }).end(req.method === 'HEAD' ? undefined : 'hello world');
    });
    const { pool } = makePool(port);
    const h = await get(pool, { method: 'HEAD' });
    expect(h.headers['content-length']).toBe('11');
    expect(h.bytes).toBe(0);
    expect(h.ended).toBe(true);
    expect((await get(pool, { path: '/204' })).status).toBe(204);
    expect((await get(pool, { path: '/304' })).status).toBe(304);
    const full = await get(pool);
    expect(full.body).toBe('hello world');
    expect(sockets.length).toBe(1);
  });

  it('does not reuse a connection the upstream closes with Connection: close', async () => {
    const port = await serve((_req, res) => res.writeHead(200, { connection: 'close' }).end('bye'));
    const { pool, stats } = makePool(port);
    expect((await get(pool)).body).toBe('bye');
    expect((await get(pool)).body).toBe('bye');
    expect(sockets.length).toBe(2);
    await until(() => stats.upstream_cx_active.value === 0, 'connections closed');
    expect(stats.upstream_cx_destroy.value).toBe(2);
  });

  it('reports connect_failure when nothing listens', async () => {
    const port = await deadPort();
    const { pool, stats, host } = makePool(port);
    const r = await get(pool);
    expect(r.error?.reason).toBe('connect_failure');
    expect(r.events).toEqual(['error:connect_failure']);
    await until(() => stats.upstream_cx_connect_fail.value === 1, 'connect_fail counted');
    expect(host.cxConnectFail).toBe(1);
    expect(stats.upstream_cx_active.value).toBe(0);
    expect(pool.pendingStreams).toBe(0);
  });

  it('reports connect_timeout when the handshake does not finish in time', async () => {
    const port = await serve((_req, res) => res.end());
    const { pool, stats } = makePool(port, { connectTimeoutMs: 1 });
    const r = new Recorder();
    newStreamPastConnectDeadline(pool, r);
    await r.done;
    expect(r.events).toEqual(['error:connect_timeout']);
    expect(stats.upstream_cx_connect_timeout.value).toBe(1);
  });

  it('reports connection_termination when the upstream drops mid-response', async () => {
    const port = await serve((req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write('partial');
      setImmediate(() => req.socket.destroy());
    });
    const { pool } = makePool(port);
    const r = await get(pool);
    expect(r.status).toBe(200);
    expect(r.error?.reason).toBe('connection_termination');
    expect(r.events[0]).toBe('headers');
    expect(r.events.at(-1)).toBe('error:connection_termination');
    expect(r.ended).toBe(false);
  });

  it('reports connection_termination when the upstream closes before responding', async () => {
    const port = await serve((req) => req.socket.destroy());
    const { pool } = makePool(port);
    const r = await get(pool);
    expect(r.events).toEqual(['error:connection_termination']);
  });

  it('reports protocol_error for a response that is not HTTP', async () => {
    const { createServer: raw } = await import('node:net');
    const s = raw((c) => {
      sockets.push(c);
      c.once('data', () => c.write('NOT HTTP AT ALL\r\n\r\n'));
    });
    server = s as unknown as Server;
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const { pool, stats } = makePool(portOf(s));
    const r = await get(pool);
    expect(r.error?.reason).toBe('protocol_error');
    expect(stats.upstream_cx_protocol_error.value).toBe(1);
  });

  it('hands over the raw socket on a 101 upgrade', async () => {
    server = createServer((_req, res) => res.end());
    server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
      sockets.push(socket);
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\n\r\n`,
      );
      socket.on('data', (d) => socket.write(`echo:${d}`));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const { pool } = makePool(portOf(server));
    const r = await get(pool, { upgrade: 'websocket' });
    expect(r.upgraded).not.toBeNull();
    expect(r.upgraded!.headers.upgrade).toBe('websocket');
    const sock = r.upgraded!.socket;
    const got = new Promise<string>((res) => sock.once('data', (d: Buffer) => res(d.toString())));
    sock.write('ping');
    expect(await got).toBe('echo:ping');
    sock.destroy();
  });

  it('closes idle connections after the idle timeout', async () => {
    const port = await serve((_req, res) => res.end('x'));
    const { pool, stats } = makePool(port, { idleTimeoutMs: 100 });
    await get(pool);
    expect(stats.upstream_cx_active.value).toBe(1);
    await until(() => stats.upstream_cx_active.value === 0, 'idle connection closed');
    expect(stats.upstream_cx_destroy_local.value).toBe(1);
  });

  it('honours max_requests_per_connection', async () => {
    const port = await serve((_req, res) => res.end('x'));
    const { pool } = makePool(port, { maxRequestsPerConnection: 2 });
    for (let i = 0; i < 4; i++) await get(pool);
    expect(sockets.length).toBe(2);
  });

  it('drain closes idle connections and lets active ones finish', async () => {
    let held: ServerResponse | null = null;
    const port = await serve((req, res) => {
      if (req.url === '/slow') held = res;
      else res.end('fast');
    });
    const { pool, stats } = makePool(port);
    await Promise.all([get(pool), get(pool)]);
    const slow = new Recorder();
    pool.newStream(head({ path: '/slow' }), slow);
    await until(() => held !== null, 'slow request to arrive');
    const before = stats.upstream_cx_active.value;
    pool.drain();
    await until(() => stats.upstream_cx_active.value === before - 1, 'idle connection closed');
    held!.end('slow done');
    await slow.done;
    expect(slow.body).toBe('slow done');
    await until(() => stats.upstream_cx_active.value === 0, 'drained connection closed');
  });

  it('skips 100 Continue and delivers the final response', async () => {
    const port = await serve((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => res.end(`got ${body}`));
    });
    const { pool } = makePool(port);
    const r = new Recorder();
    const s = pool.newStream(
      head({ method: 'POST', contentLength: 3, headers: { expect: '100-continue' } }),
      r,
    );
    s.write(Buffer.from('abc'));
    s.end();
    await r.done;
    expect(r.status).toBe(200);
    expect(r.body).toBe('got abc');
    expect(r.events).toEqual(['headers', 'end']);
  });

  it('reads a long header block (many header lines)', async () => {
    const port = await serve((_req, res) => {
      for (let i = 0; i < 60; i++) res.setHeader(`x-h-${i}`, `v${i}`);
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.end('ok');
    });
    const { pool } = makePool(port);
    const r = await get(pool);
    for (let i = 0; i < 60; i++) expect(r.headers[`x-h-${i}`]).toBe(`v${i}`);
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('reads a body delimited by the connection closing', async () => {
    const { createServer: raw } = await import('node:net');
    const s = raw((c) => {
      sockets.push(c);
      c.once('data', () => c.end('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end'));
    });
    server = s as unknown as Server;
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const { pool } = makePool(portOf(s));
    const r = await get(pool);
    expect(r.error).toBeNull();
    expect(r.body).toBe('until the end');
  });

  it('a reset from inside onHeaders closes that connection and the next request gets a fresh one', async () => {
    const port = await serve((_req, res) => res.end('body'));
    const { pool } = makePool(port);
    await get(pool);
    const r = new Recorder();
    const s = pool.newStream(head(), r);
    let idleAfterReset = -1;
    r.onHeadersHook = () => {
      s.reset();
      // Runs once the parser finished the chunk, before the socket's close event.
      queueMicrotask(() => {
        if (pool instanceof Http1Pool) idleAfterReset = pool.idleConnectionCount;
      });
    };
    await until(() => r.status === 200, 'headers');
    if (pool instanceof Http1Pool) expect(idleAfterReset).toBe(0);
    const next = await get(pool);
    expect(next.body).toBe('body');
    expect(r.ended).toBe(false);
    expect(sockets.length).toBe(2);
  });

  it('reset abandons the request and closes its connection', async () => {
    let arrived = false;
    const port = await serve(() => {
      arrived = true;
    });
    const { pool, stats } = makePool(port);
    const r = new Recorder();
    const s = pool.newStream(head(), r);
    await until(() => arrived, 'request to arrive');
    s.reset();
    await until(() => stats.upstream_cx_active.value === 0, 'connection closed');
    expect(r.events).toEqual([]);
    expect(pool.activeStreams).toBe(0);
  });
});

describe('HTTP/1.1 lean pool only', () => {
  beforeEach(() => {
    Impl = Http1Pool;
  });

  it('replays a body-less request once when a reused connection closes before answering', async () => {
    let n = 0;
    const port = await serve((req, res) => {
      n++;
      // The second request on the first connection meets a connection the server just closed.
      if (n === 2) req.socket.destroy();
      else res.end(`r${n}`);
    });
    const { pool } = makePool(port);
    expect((await get(pool)).body).toBe('r1');
    const r = await get(pool);
    expect(r.error).toBeNull();
    expect(r.body).toBe('r3');
    expect(sockets.length).toBe(2);
  });

  it('does not replay a request with a body', async () => {
    let n = 0;
    const port = await serve((req, res) => {
      n++;
      if (n === 2) req.socket.destroy();
      else {
        req.resume();
        req.on('end', () => res.end('ok'));
      }
    });
    const { pool } = makePool(port);
    await get(pool);
    const r = new Recorder();
    const s = pool.newStream(head({ method: 'POST', contentLength: 2 }), r);
    s.write(Buffer.from('hi'));
    s.end();
    await r.done;
    expect(r.error?.reason).toBe('connection_termination');
  });

  it('refuses to send a head carrying CR/LF', async () => {
    let arrived = 0;
    const port = await serve((_req, res) => {
      arrived++;
      res.end();
    });
    const { pool } = makePool(port);
    const r = await get(pool, { headers: { 'x-evil': 'a\r\nx-injected: 1' } });
    expect(r.error?.reason).toBe('protocol_error');
    const ok = await get(pool);
    expect(ok.status).toBe(200);
    expect(arrived).toBe(1);
  });

  it('holds the body of a queued stream until it gets a connection', async () => {
    let release: (() => void) | null = null;
    const port = await serve((req, res) => {
      if (req.url === '/first') {
        release = () => res.end('first');
        return;
      }
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => res.end(`${body}|${req.trailers['x-t'] ?? ''}`));
    });
    const { pool } = makePool(port, { maxConnections: 1 });
    const first = new Recorder();
    pool.newStream(head({ path: '/first' }), first);
    await until(() => release !== null, 'first request to occupy the only connection');
    const r = new Recorder();
    const s = pool.newStream(head({ method: 'POST', contentLength: -1 }), r);
    expect(s.write(Buffer.from('queued-'))).toBe(false);
    const drained = new Promise<void>((res) => s.onDrain(res));
    s.write(Buffer.from('body'));
    s.end({ 'x-t': 'late' });
    release!();
    await drained;
    await r.done;
    expect(r.body).toBe('queued-body|late');
    expect(sockets.length).toBe(1);
  });

  it('never sends more body bytes than the declared Content-Length', async () => {
    const seen: string[] = [];
    const port = await serve((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`);
        res.end('ok');
      });
    });
    const { pool } = makePool(port);
    const r = new Recorder();
    const s = pool.newStream(head({ method: 'POST', path: '/a', contentLength: 3 }), r);
    s.write(Buffer.from('abcGET /smuggled HTTP/1.1\r\nhost: x\r\n\r\n'));
    s.end();
    await r.done;
    await get(pool, { path: '/b' });
    expect(seen).toEqual(['POST /a abc', 'GET /b ']);
  });

  it('queues streams beyond maxConnections and serves them as connections free up', async () => {
    const port = await serve((_req, res) => res.end('q'));
    const { pool } = makePool(port, { maxConnections: 2 });
    const rs = [0, 1, 2, 3, 4].map(() => {
      const r = new Recorder();
      pool.newStream(head(), r);
      return r;
    });
    expect(pool.pendingStreams).toBe(5);
    await Promise.all(rs.map((r) => r.done));
    expect(rs.every((r) => r.body === 'q')).toBe(true);
    expect(sockets.length).toBe(2);
    expect(pool.pendingStreams).toBe(0);
    expect(pool.activeStreams).toBe(0);
  });
});
