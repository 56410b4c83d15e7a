import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessLogSink } from '../../proxy/http/access-log-sink.js';
import { formatResponseFlags } from '../../proxy/http/response-flags.js';
import type { StreamInfo } from '../../proxy/http/stream-info.js';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import type { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { waitFor } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { realClusters } from '../helpers/real-clusters.js';
import { testRouteTable } from '../helpers/test-upstream.js';
import { RawClient } from './h1-raw-client.js';

const CHUNK = Buffer.alloc(64 * 1024, 0x62);
/** Well past what loopback socket buffers on two hops can hold (a few MB each). */
const BIG = 48 * 1024 * 1024;

/**
 * remora's own HTTP/1.1 server codec (proxy/http/h1/) over real loopback sockets with a raw
 * client: ordering of pipelined requests, framing both ways, HTTP/1.0, HEAD, 100-continue,
 * malformed input, disconnects and idle handling.
 */
describe('HTTP/1 server codec', () => {
  let upstream: http.Server;
  let clusters: ClusterManager;
  let listener: Listener;
  let port: number;
  let stats: StatsStore;
  /** Upstream requests as they arrive (before their bodies), in order. */
  let arrived: string[];
  let held: Array<() => void>;
  /** /big: bytes the upstream handed to its socket, and whether a write was refused. */
  let bigWritten = 0;
  let bigBlocked = false;
  /** /stall: bytes the upstream has read of a request body it reads only when told. */
  let stallRead = 0;
  let stallReq: http.IncomingMessage | null = null;
  const logged: StreamInfo[] = [];
  const sink: AccessLogSink = { log: (i) => logged.push(i) };
  const clients: RawClient[] = [];
  const sockets: net.Socket[] = [];

  function client(): RawClient {
    const c = new RawClient(port);
    clients.push(c);
    return c;
  }

  beforeEach(async () => {
    arrived = [];
    held = [];
    logged.length = 0;
    bigWritten = 0;
    bigBlocked = false;
    stallRead = 0;
    stallReq = null;
    upstream = http.createServer((req, res) => {
      arrived.push(req.url ?? '');
      if (req.url === '/stall') {
        // Reads nothing until the test resumes it.
        stallReq = req;
        req.pause();
        req.on('data', (c: Buffer) => {
          stallRead += c.length;
        });
        req.on('end', () => res.end(String(stallRead)));
        return;
      }
      if (req.url === '/big') {
        res.writeHead(200, { 'content-length': BIG });
        const pump = (): void => {
          while (bigWritten < BIG) {
            bigWritten += CHUNK.length;
            if (!res.write(CHUNK)) {
              bigBlocked = true;
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
        return;
      }
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const body = Buffer.concat(parts).toString();
        switch (req.url) {
          case '/slow':
            held.push(() => res.end('slow'));
            return;
          case '/chunked':
            res.write('ab');
            setTimeout(() => res.end('cd'), 5);
            return;
          case '/trailers':
            res.setHeader('trailer', 'x-t');
            res.write('x');
            res.addTrailers({ 'x-t': 'v' });
            res.end();
            return;
          case '/h':
            // A HEAD answer describes the GET's body: its Content-Length, no bytes.
            res.writeHead(200, { 'content-length': 5 }).end();
            return;
          case '/nocontent':
            res.writeHead(204).end();
            return;
          case '/notmodified':
            res.writeHead(304, { etag: '"e"' }).end();
            return;
          case '/forever': {
            res.writeHead(200, { 'content-type': 'text/plain' });
            const t = setInterval(() => res.write('tick'), 5);
            res.on('close', () => clearInterval(t));
            return;
          }
          default:
            res.setHeader('content-type', 'application/json');
            res.end(
              JSON.stringify({
                url: req.url,
                host: req.headers.host,
                body,
                te: req.headers['transfer-encoding'] ?? null,
                expect: req.headers.expect ?? null,
                fields: Object.keys(req.headers).filter((k) => k.startsWith('x-field-')).length,
              }),
            );
        }
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    stats = new StatsStore();
    clusters = realClusters(stats, [{ name: 'b', ports: [(upstream.address() as AddressInfo).port] }]);
    ({ listener, port } = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'b', timeoutMs: 0 }]), {
        maxRequestHeadersKb: 8,
        idleTimeoutMs: 300,
        accessLogs: [{ sink, raw: {} }],
      }),
      clusters,
      stats,
    ));
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    for (const c of sockets.splice(0)) c.destroy();
    listener.forceClose();
    clusters.shutdown();
    upstream.closeAllConnections();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  it('answers pipelined requests in order and starts each only after the previous response', async () => {
    const c = client();
    c.write(
      'GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    await waitFor(() => held.length === 1, 3000, 'held request');
    // The later requests wait behind the unanswered one: none has reached the upstream.
    expect(arrived).toEqual(['/slow']);
    held[0]();
    const [a, b, d] = await c.responses(3);
    expect(a.body).toBe('slow');
    expect(JSON.parse(b.body).url).toBe('/one');
    expect(JSON.parse(d.body).url).toBe('/two');
    expect(arrived).toEqual(['/slow', '/one', '/two']);
    expect(c.isClosed).toBe(false);
  });

  it('pipelined requests with bodies wait their turn and keep their bodies', async () => {
    const c = client();
    c.write(
      'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n' +
        'POST /p1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello' +
        'POST /p2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    );
    await waitFor(() => held.length === 1, 3000, 'held request');
    expect(arrived).toEqual(['/slow']);
    held[0]();
    const [, p1, p2] = await c.responses(3);
    expect(JSON.parse(p1.body).body).toBe('hello');
    expect(JSON.parse(p2.body).body).toBe('abc');
  });

  it('a head of more than 32 fields and a long target (parser flushes them in batches)', async () => {
    const c = client();
    let h = '';
    for (let i = 0; i < 70; i++) h += `X-Field-${i}: value-${i}\r\n`;
    const target = `/long/${'p'.repeat(3000)}?q=1`;
    c.write(`GET ${target} HTTP/1.1\r\nHost: a\r\n${h}\r\n`);
    const [r] = await c.responses(1);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).url).toBe(target);
    expect(JSON.parse(r.body).fields).toBe(70);
    expect(arrived).toEqual([target]);
  });

  it('lowercase headers, a Date, and keep-alive on HTTP/1.1', async () => {
    const c = client();
    c.write('GET /a HTTP/1.1\r\nHost: a\r\n\r\n');
    const [r] = await c.responses(1);
    expect(r.status).toBe(200);
    expect(r.rawHead).toMatch(/\r\ndate: /);
    expect(r.headers.connection).toBeUndefined();
    c.write('GET /b HTTP/1.1\r\nHost: a\r\n\r\n');
    const rs = await c.responses(2);
    expect(JSON.parse(rs[1].body).url).toBe('/b');
  });

  it('HTTP/1.0: closes after the response unless keep-alive is asked, and never sends chunked', async () => {
    const plain = client();
    plain.write('GET /chunked HTTP/1.0\r\n\r\n');
    await plain.closed;
    const [r] = await plain.responses(1);
    expect(r.status).toBe(200);
    expect(r.headers['transfer-encoding']).toBeUndefined();
    expect(r.headers.connection).toBe('close');
    expect(r.body).toBe('abcd');

    const ka = client();
    ka.write('GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const [k] = await ka.responses(1);
    expect(k.headers.connection).toBe('keep-alive');
    ka.write('GET /y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const two = await ka.responses(2);
    expect(JSON.parse(two[1].body).url).toBe('/y');
  });

  it('chunked request body reaches the upstream; chunked response with trailers comes back', async () => {
    const c = client();
    c.write(
      'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
    );
    const [r] = await c.responses(1);
    const seen = JSON.parse(r.body);
    expect(seen.body).toBe('abcde');
    expect(seen.te).toBe('chunked');
    c.write('GET /trailers HTTP/1.1\r\nHost: a\r\n\r\n');
    const rs = await c.responses(2);
    expect(rs[1].headers['transfer-encoding']).toBe('chunked');
    expect(rs[1].body).toBe('x');
    expect(rs[1].trailers.toLowerCase()).toBe('x-t: v');
  });

  it('Content-Length request body, and an empty response body gets content-length: 0', async () => {
    const c = client();
    c.write('PUT /put HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
    const [r] = await c.responses(1);
    expect(JSON.parse(r.body).body).toBe('hello');
  });

  it('HEAD, 204 and 304 carry no body and keep the connection usable', async () => {
    const c = client();
    c.headRequests.push(true, false, false, false);
    c.write(
      'HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /nocontent HTTP/1.1\r\nHost: a\r\n\r\nGET /notmodified HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    const [h, n, m, after] = await c.responses(4);
    expect(h.status).toBe(200);
    expect(h.headers['content-length']).toBe('5');
    expect(n.status).toBe(204);
    expect(n.headers['transfer-encoding']).toBeUndefined();
    expect(m.status).toBe(304);
    expect(m.headers.etag).toBe('"e"');
    // Had any of them carried body bytes, this response would not parse as /after.
    expect(JSON.parse(after.body).url).toBe('/after');
  });

  it('answers Expect: 100-continue before the body is sent and does not forward Expect', async () => {
    const c = client();
    c.write('POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n');
    const [cont] = await c.responses(1);
    expect(cont.status).toBe(100);
    c.write('abc');
    const [, r] = await c.responses(2);
    const seen = JSON.parse(r.body);
    expect(seen.body).toBe('abc');
    expect(seen.expect).toBeNull();
  });

  it('absolute-form target: the authority replaces Host', async () => {
    const c = client();
    c.write('GET http://example.com/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n');
    const [r] = await c.responses(1);
    const seen = JSON.parse(r.body);
    expect(seen.url).toBe('/p?q=1');
    expect(seen.host).toBe('example.com');
  });

  it('HTTP/1.1 without Host is refused; HTTP/1.0 without Host passes', async () => {
    const c = client();
    c.write('GET / HTTP/1.1\r\n\r\n');
    const [r] = await c.responses(1);
    expect(r.status).toBe(400);
    expect(r.headers.connection).toBe('close');
    await c.closed;
    const old = client();
    old.write('GET /old HTTP/1.0\r\n\r\n');
    const [o] = await old.responses(1);
    expect(o.status).toBe(200);
  });

  it('a bad chunk size part way through the body: 400, connection closed, nothing more read', async () => {
    const c = client();
    c.write('POST /bad HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n');
    await c.closed;
    expect(c.rest.startsWith('HTTP/1.1 400') || (await c.responses(1))[0].status === 400).toBe(true);
    expect(stats.counter('http.ingress.downstream_cx_protocol_error').value).toBe(1);
  });

  it('an obs-fold header line is refused and the request after it never acted upon', async () => {
    const c = client();
    c.write(
      'GET /fold HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    await c.closed;
    const [r] = await c.responses(1);
    expect(r.status).toBe(400);
    expect(c.count).toBe(1);
    expect(arrived).toEqual([]);
  });

  it('oversized head: 431, downstream_rq_too_large, connection closed', async () => {
    const c = client();
    c.write(`GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`);
    await c.closed;
    const [r] = await c.responses(1);
    expect(r.status).toBe(431);
    expect(stats.counter('http.ingress.downstream_rq_too_large').value).toBe(1);
    expect(arrived).toEqual([]);
  });

  it('a client that disconnects mid-response: DC, rx_reset, the upstream request is reset', async () => {
    const c = client();
    c.write('GET /forever HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => c.rest.includes('tick'), 3000, 'response bytes');
    c.destroy();
    await waitFor(() => logged.length === 1, 3000, 'access log');
    expect(formatResponseFlags(logged[0].responseFlags)).toContain('DC');
    expect(logged[0].protocol).toBe('HTTP/1.1');
    expect(logged[0].bytesSent).toBeGreaterThan(0);
    expect(stats.counter('http.ingress.downstream_rq_rx_reset').value).toBe(1);
    await waitFor(() => stats.gauge('cluster.b.upstream_rq_active').value === 0, 3000, 'upstream reset');
  });

  it('download to a client that does not read: the upstream is held back, then all arrives', async () => {
    const sock = net.connect(port, '127.0.0.1');
    sockets.push(sock);
    sock.on('error', () => {});
    sock.pause();
    sock.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => bigBlocked, 5000, 'upstream write refused');
    // Settled: a proxy that buffered would let the upstream write the whole body by now.
    const before = bigWritten;
    await new Promise((r) => setTimeout(r, 100));
    expect(bigWritten).toBeLessThan(BIG);
    expect(bigWritten - before).toBeLessThan(BIG / 2);
    let received = 0;
    let head = '';
    sock.on('data', (c: Buffer) => {
      if (head === '') {
        const text = c.toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        head = text.slice(0, end);
        received += c.length - end - 4;
      } else received += c.length;
    });
    sock.resume();
    await waitFor(() => received >= BIG, 10_000, 'whole body');
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toBe(BIG);
  });

  it('upload to an upstream that does not read: the client is held back, then all arrives', async () => {
    const c = client();
    c.write(`POST /stall HTTP/1.1\r\nHost: a\r\nContent-Length: ${BIG}\r\n\r\n`);
    let sent = 0;
    // Writes until the kernel and the proxy refuse more (bounded by the body size).
    while (sent < BIG && c.sock.writableLength < 4 * CHUNK.length) {
      c.write(CHUNK);
      sent += CHUNK.length;
      if (c.sock.writableLength > 0) await new Promise((r) => setTimeout(r, 1));
    }
    expect(sent).toBeLessThan(BIG);
    await waitFor(() => stallReq !== null, 3000, 'upstream request');
    stallReq?.resume();
    while (sent < BIG) {
      if (!c.sock.write(CHUNK)) await new Promise((r) => c.sock.once('drain', r));
      sent += CHUNK.length;
    }
    const [r] = await c.responses(1, 10_000);
    expect(Number(r.body)).toBe(BIG);
  });

  it('closes a keep-alive connection idle past idle_timeout and counts it', async () => {
    const c = client();
    c.write('GET /i HTTP/1.1\r\nHost: a\r\n\r\n');
    await c.responses(1);
    await c.closed;
    expect(stats.counter('http.ingress.downstream_cx_idle_timeout').value).toBe(1);
  });

  it('access log: protocol, bytes and response code of an HTTP/1.0 request', async () => {
    const c = client();
    c.write('POST /log HTTP/1.0\r\nContent-Length: 4\r\n\r\nbody');
    await c.closed;
    await waitFor(() => logged.length === 1, 3000, 'access log');
    expect(logged[0].protocol).toBe('HTTP/1.0');
    expect(logged[0].bytesReceived).toBe(4);
    expect(logged[0].bytesSent).toBeGreaterThan(0);
    expect(logged[0].responseCode).toBe(200);
    expect(logged[0].durationMs()).toBeGreaterThanOrEqual(0);
  });
});
