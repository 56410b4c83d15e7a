import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../proxy/network/listener.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { h2request, RecordingServer, rawExchange } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { TestCluster, TestClusters, testRouteTable } from '../helpers/test-upstream.js';

/** Each request must be refused with `status` and never reach the upstream. */
const SMUGGLING: ReadonlyArray<readonly [string, string, number]> = [
  [
    'CL + TE',
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    400,
  ],
  [
    'TE + CL',
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n',
    400,
  ],
  [
    'duplicate equal CL',
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
    400,
  ],
  [
    'conflicting CL',
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde',
    400,
  ],
  ['CL list', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc', 400],
  ['CL with sign', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc', 400],
  [
    'TE chunked, identity',
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
    400,
  ],
  ['TE xchunked', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n', 400],
  [
    'TE identity, chunked',
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n',
    400,
  ],
  [
    'TE space before colon',
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n',
    400,
  ],
  ['TE obs-fold', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n', 400],
  ['TE vertical tab', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n', 400],
  [
    'two TE headers',
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    400,
  ],
  ['TE on HTTP/1.0', 'POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
  ['two Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
  ['no Host on HTTP/1.1', 'GET / HTTP/1.1\r\nX: y\r\n\r\n', 400],
  ['bare LF in header value', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n', 400],
  [
    'bad chunk size',
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
    400,
  ],
];

describe('bad downstream input', () => {
  let upstream: RecordingServer;
  let clusters: TestClusters;
  let listener: Listener;
  let port: number;
  let stats: StatsStore;

  beforeEach(async () => {
    upstream = new RecordingServer();
    const up = await upstream.listen();
    stats = new StatsStore();
    clusters = new TestClusters().add(
      new TestCluster(stats, 'backend', [{ address: '127.0.0.1', port: up }]),
    );
    const cfg = hcmConfig(testRouteTable([{ prefix: '/', cluster: 'backend' }]), {
      maxRequestHeadersKb: 8,
      maxHeadersCount: 20,
    });
    ({ listener, port } = await startHttpListener(cfg, clusters, stats));
  });

  afterEach(async () => {
    listener.forceClose();
    clusters.destroy();
    await upstream.close();
  });

  for (const [name, raw, status] of SMUGGLING) {
    it(`rejects ${name} with ${status} and forwards nothing`, async () => {
      const out = await rawExchange(port, raw);
      expect(out.slice(0, 12)).toBe(`HTTP/1.1 ${status}`);
      // One response only, and the connection is closed after it.
      expect(out.match(/HTTP\/1\.1 /g)?.length).toBe(1);
      expect(upstream.seen.length).toBe(0);
    });
  }

  it('a request pipelined behind a refused one is not forwarded', async () => {
    const out = await rawExchange(
      port,
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1.1 400/);
    expect(out.match(/HTTP\/1\.1 /g)?.length).toBe(1);
    expect(upstream.seen.length).toBe(0);
  });

  it('a valid chunked request still passes', async () => {
    const out = await rawExchange(
      port,
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1.1 200/);
    expect(upstream.seen[0].body.toString()).toBe('abc');
    expect(upstream.seen[0].headers['transfer-encoding']).toBe('chunked');
    expect(upstream.seen[0].headers['content-length']).toBeUndefined();
  });

  it('oversized headers get 431', async () => {
    const out = await rawExchange(port, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1.1 431/);
    expect(upstream.seen.length).toBe(0);
    expect(stats.counter('http.ingress.downstream_cx_protocol_error').value).toBe(1);
  });

  it('too many headers get 431, not silent truncation', async () => {
    let h = '';
    for (let i = 0; i < 25; i++) h += `X-H${i}: v\r\n`;
    const out = await rawExchange(port, `GET / HTTP/1.1\r\nHost: a\r\n${h}\r\n`);
    expect(out).toMatch(/^HTTP\/1.1 431/);
    expect(upstream.seen.length).toBe(0);
  });

  it('exactly the limit of headers passes', async () => {
    let h = '';
    for (let i = 0; i < 18; i++) h += `X-H${i}: v\r\n`;
    const out = await rawExchange(port, `GET / HTTP/1.1\r\nHost: a\r\n${h}Connection: close\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1.1 200/);
    expect(Object.keys(upstream.seen[0].headers).filter((k) => k.startsWith('x-h')).length).toBe(18);
  });

  it('too many headers over HTTP/2 get 431', async () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 25; i++) headers[`x-h${i}`] = 'v';
    const res = await h2request(port, headers);
    expect(res.status).toBe(431);
    expect(upstream.seen.length).toBe(0);
  });

  it('garbage instead of HTTP gets 400', async () => {
    const out = await rawExchange(port, '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 hello\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1.1 400/);
  });
});
