import {
  constants,
  createServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { Http2Pool, type Http2PoolOptions } from '../../proxy/upstream/http2-pool.js';
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

const OPTS: Http2PoolOptions = {
  connectTimeoutMs: 2000,
  idleTimeoutMs: 0,
  maxConcurrentStreams: 2147483647,
  initialStreamWindowSize: 65535,
  initialConnectionWindowSize: 65535,
  maxRequestsPerConnection: 0,
};

let server: Http2Server | null = null;
let sessions: Http2Session[] = [];
let pool: Http2Pool | null = null;

async function serve(
  onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void,
  settings: { maxConcurrentStreams?: number } = {},
): Promise<number> {
  server = createServer({ settings });
  server.on('session', (s) => sessions.push(s));
  server.on('stream', onStream);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return portOf(server);
}

function makePool(port: number, opts: Partial<Http2PoolOptions> = {}) {
  const { stats } = statsFor('h2');
  pool = new Http2Pool(hostFor(port), stats, { ...OPTS, ...opts });
  return { pool, stats };
}

async function get(p: Http2Pool, over: Parameters<typeof head>[0] = {}): Promise<Recorder> {
  const r = new Recorder();
  p.newStream(head(over), r);
  await r.done;
  return r;
}

afterEach(async () => {
  pool?.destroy();
  pool = null;
  for (const s of sessions) s.destroy();
  sessions = [];
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  server = null;
});

describe('HTTP/2 pool', () => {
  it('multiplexes concurrent streams on one session', async () => {
    const held: ServerHttp2Stream[] = [];
    const port = await serve((stream, headers) => {
      held.push(stream);
      if (held.length === 5) {
        for (const s of held) s.respond({ ':status': 200, 'x-path': String(headers[':path']) });
        for (const s of held.splice(0)) s.end('ok');
      }
    });
    const { pool, stats } = makePool(port);
    const rs = [0, 1, 2, 3, 4].map((i) => {
      const r = new Recorder();
      pool.newStream(head({ path: `/s${i}` }), r);
      return r;
    });
    expect(pool.activeStreams).toBe(5);
    await Promise.all(rs.map((r) => r.done));
    expect(rs.map((r) => r.body)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(rs[0].status).toBe(200);
    expect(rs[0].headers[':status']).toBeUndefined();
    expect(sessions.length).toBe(1);
    expect(stats.upstream_cx_http2_total.value).toBe(1);
    expect(pool.activeStreams).toBe(0);
  });

  it('sends pseudo-headers, drops connection-specific headers, keeps te: trailers', async () => {
    let seen: IncomingHttpHeaders = {};
    const port = await serve((stream, headers) => {
      seen = headers;
      stream.respond({ ':status': 204 });
      stream.end();
    });
    const { pool } = makePool(port);
    const r = await get(pool, {
      method: 'GET',
      path: '/x?y=1',
      authority: 'svc.local',
      headers: { te: 'trailers', connection: 'keep-alive', 'x-a': 'b' },
    });
    expect(r.status).toBe(204);
    expect(seen[':path']).toBe('/x?y=1');
    expect(seen[':authority']).toBe('svc.local');
    expect(seen[':scheme']).toBe('http');
    expect(seen.te).toBe('trailers');
    expect(seen['x-a']).toBe('b');
    expect(seen.connection).toBeUndefined();
  });

  it('carries request and response trailers (gRPC style)', async () => {
    let reqTrailers: IncomingHttpHeaders | null = null;
    let reqBody = '';
    const port = await serve((stream) => {
      stream.on('data', (d: Buffer) => {
        reqBody += d.toString();
      });
      stream.on('trailers', (t) => {
        reqTrailers = t;
      });
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'fine' }));
        stream.end('reply');
      });
    });
    const { pool } = makePool(port);
    const r = new Recorder();
    const s = pool.newStream(head({ method: 'POST', contentLength: -1 }), r);
    s.write(Buffer.from('req-'));
    s.write(Buffer.from('body'));
    s.end({ 'x-client-trailer': 'ct' });
    await r.done;
    expect(reqBody).toBe('req-body');
    expect(reqTrailers!['x-client-trailer']).toBe('ct');
    expect(r.body).toBe('reply');
    expect(r.trailers!['grpc-status']).toBe('0');
    expect(r.events).toEqual(['headers', 'trailers', 'end']);
  });

  it('ends a request body without trailers cleanly', async () => {
    const port = await serve((stream) => {
      let n = 0;
      stream.on('data', (d: Buffer) => {
        n += d.length;
      });
      stream.on('end', () => {
        stream.respond({ ':status': 200 });
        stream.end(String(n));
      });
    });
    const { pool } = makePool(port);
    const r = new Recorder();
    const s = pool.newStream(head({ method: 'POST', contentLength: 3 }), r);
    s.write(Buffer.from('abc'));
    s.end();
    await r.done;
    expect(r.body).toBe('3');
  });

  it('reports request-body backpressure when the upstream does not read', async () => {
    let upstream: ServerHttp2Stream | null = null;
    let received = 0;
    const port = await serve((stream) => {
      upstream = stream;
      stream.pause();
      stream.on('data', (c: Buffer) => {
        received += c.length;
      });
      stream.on('end', () => {
        stream.respond({ ':status': 200 });
        stream.end(String(received));
      });
    });
    const { pool } = makePool(port);
    const r = new Recorder();
    const s = pool.newStream(head({ method: 'POST', contentLength: -1 }), r);
    const chunk = Buffer.alloc(16 * 1024, 'z');
    let written = 0;
    let full = false;
    for (let i = 0; i < 1024 && !full; i++) {
      full = !s.write(chunk);
      written += chunk.length;
    }
    expect(full).toBe(true);
    expect(written).toBeLessThan(1024 * 1024);
    await until(() => upstream !== null, 'stream to arrive');
    const drained = new Promise<void>((res) => s.onDrain(res));
    upstream!.resume();
    await drained;
    s.end();
    await r.done;
    expect(r.body).toBe(String(written));
  });

  it('reports remote_reset on RST_STREAM', async () => {
    let n = 0;
    const port = await serve((stream) => {
      stream.respond({ ':status': 200 });
      stream.write('some');
      stream.on('error', () => {});
      // destroy(err) sends RST_STREAM(INTERNAL_ERROR) without ending the stream first.
      if (n++ === 0) setImmediate(() => stream.destroy(new Error('boom')));
      else stream.end();
    });
    const { pool, stats } = makePool(port);
    const r = await get(pool);
    expect(r.error?.reason).toBe('remote_reset');
    expect(r.events[0]).toBe('headers');
    // Request stats (upstream_rq_rx_reset) are the router's: the pool counts only connections.
    expect(stats.upstream_rq_rx_reset.value).toBe(0);
    // The session survives a stream reset.
    const again = new Recorder();
    pool.newStream(head(), again);
    await again.done;
    expect(sessions.length).toBe(1);
  });

  it('opens a new session after GOAWAY and lets the old one finish', async () => {
    let n = 0;
    const port = await serve((stream) => {
      n++;
      stream.respond({ ':status': 200 });
      stream.end(`r${n}`);
      if (n === 1) stream.session?.goaway(constants.NGHTTP2_NO_ERROR);
    });
    const { pool } = makePool(port);
    expect((await get(pool)).body).toBe('r1');
    await until(() => pool.connectionCount === 0, 'the GOAWAY to retire the session');
    expect((await get(pool)).body).toBe('r2');
    expect(sessions.length).toBe(2);
  });

  it('opens another session when the peer limits concurrent streams', async () => {
    const held: ServerHttp2Stream[] = [];
    const port = await serve(
      (stream) => {
        held.push(stream);
        if (held.length === 1 || held.length === 5) {
          for (const s of held.splice(0)) {
            s.respond({ ':status': 200 });
            s.end('x');
          }
        }
      },
      { maxConcurrentStreams: 2 },
    );
    const { pool } = makePool(port);
    await get(pool); // learns the peer's SETTINGS
    const rs = [0, 1, 2, 3].map(() => {
      const r = new Recorder();
      pool.newStream(head(), r);
      return r;
    });
    await Promise.all(rs.map((r) => r.done));
    expect(sessions.length).toBe(2);
  });

  it('reports connect_failure when nothing listens', async () => {
    const { pool, stats } = makePool(await deadPort());
    const r = await get(pool);
    expect(r.events).toEqual(['error:connect_failure']);
    await until(() => stats.upstream_cx_connect_fail.value === 1, 'connect_fail counted');
  });

  it('reports connect_timeout when the handshake does not finish in time', async () => {
    const port = await serve((stream) => stream.respond({ ':status': 200 }));
    const { pool, stats } = makePool(port, { connectTimeoutMs: 1 });
    const r = new Recorder();
    newStreamPastConnectDeadline(pool, r);
    await r.done;
    expect(r.events).toEqual(['error:connect_timeout']);
    expect(stats.upstream_cx_connect_timeout.value).toBe(1);
  });

  it('reports connection_termination when the session dies mid-response', async () => {
    const port = await serve((stream) => {
      stream.respond({ ':status': 200 });
      stream.write('part');
      setImmediate(() => stream.session?.socket.destroy());
    });
    const { pool } = makePool(port);
    const r = await get(pool);
    expect(r.events[0]).toBe('headers');
    expect(r.error?.reason).toBe('connection_termination');
  });

  it('applies backpressure to a paused response', async () => {
    let blocked = false;
    const total = 8 * 1024 * 1024;
    const port = await serve((stream) => {
      stream.respond({ ':status': 200 });
      const chunk = Buffer.alloc(16 * 1024, 'y');
      writeWithBackpressure(stream, chunk, total, (b) => {
        blocked = b;
      });
    });
    const { pool } = makePool(port);
    const r = new Recorder();
    const s = pool.newStream(head(), r);
    r.onHeadersHook = () => s.pause();
    await until(() => r.status === 200, 'response headers (the stream is paused from here)');
    await until(() => blocked, 'the server to be blocked by flow control');
    expect(r.bytes).toBeLessThan(2 * 1024 * 1024);
    s.resume();
    await r.done;
    expect(r.bytes).toBe(total);
  });

  it('reset sends RST_STREAM(CANCEL) and keeps the session', async () => {
    let rst = -1;
    const port = await serve((stream) => {
      stream.respond({ ':status': 200 });
      stream.write('x');
      stream.on('close', () => {
        rst = stream.rstCode ?? -1;
      });
    });
    const { pool } = makePool(port);
    const r = new Recorder();
    const s = pool.newStream(head(), r);
    await until(() => r.status === 200, 'headers');
    s.reset();
    await until(() => rst !== -1, 'server to see the reset');
    expect(rst).toBe(constants.NGHTTP2_CANCEL);
    expect(pool.activeStreams).toBe(0);
    expect(pool.connectionCount).toBe(1);
  });

  it('closes an idle session after the idle timeout', async () => {
    const port = await serve((stream) => {
      stream.respond({ ':status': 200 });
      stream.end('x');
    });
    const { pool, stats } = makePool(port, { idleTimeoutMs: 100 });
    await get(pool);
    expect(stats.upstream_cx_active.value).toBe(1);
    await until(() => stats.upstream_cx_active.value === 0, 'idle session closed');
    expect(pool.connectionCount).toBe(0);
    // The next request opens a new session.
    expect((await get(pool)).body).toBe('x');
    expect(sessions.length).toBe(2);
  });

  it('retires a session after max_requests_per_connection streams', async () => {
    const port = await serve((stream) => {
      stream.respond({ ':status': 200 });
      stream.end('m');
    });
    const { pool } = makePool(port, { maxRequestsPerConnection: 2 });
    for (let i = 0; i < 4; i++) expect((await get(pool)).body).toBe('m');
    expect(sessions.length).toBe(2);
  });

  it('drain closes the session once its streams finish', async () => {
    const held: ServerHttp2Stream[] = [];
    const port = await serve((stream) => {
      held.push(stream);
    });
    const { pool, stats } = makePool(port);
    const r = new Recorder();
    pool.newStream(head(), r);
    await until(() => held.length === 1, 'stream to arrive');
    pool.drain();
    expect(stats.upstream_cx_active.value).toBe(1);
    held[0].respond({ ':status': 200 });
    held[0].end('last');
    await r.done;
    expect(r.body).toBe('last');
    await until(() => stats.upstream_cx_active.value === 0, 'session closed');
  });
});
