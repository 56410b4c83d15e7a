import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessLogSink } from '../../proxy/http/access-log-sink.js';
import type { StreamInfo } from '../../proxy/http/stream-info.js';
import type { Listener } from '../../proxy/network/listener.js';
import { TextFormatter } from '../../proxy/observability/access-log/text-format.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { h2request, RecordingServer, rawExchange, request, waitFor } from '../helpers/http.js';
import { hcmConfig, startHttpListener } from '../helpers/proxy.js';
import { TestCluster, TestClusters, testRouteTable } from '../helpers/test-upstream.js';

/**
 * The request line as the connection manager records and checks it: method and path reach the
 * access log for HTTP/1.1 and HTTP/2 (%REQ(:METHOD)% / %REQ(:PATH)%), and Envoy's always-on path
 * checks (fragment, origin-form) apply even with every normalisation option off.
 */
describe('request line: access log fields and always-on path checks', () => {
  let upstream: RecordingServer;
  let clusters: TestClusters;
  let listener: Listener;
  let port: number;
  const logged: StreamInfo[] = [];
  const sink: AccessLogSink = { log: (i) => logged.push(i) };
  const fmt = TextFormatter.compile('%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL% %RESPONSE_CODE%');

  beforeEach(async () => {
    logged.length = 0;
    upstream = new RecordingServer();
    await upstream.listen();
    const stats = new StatsStore();
    clusters = new TestClusters().add(
      new TestCluster(stats, 'ok', [{ address: '127.0.0.1', port: upstream.port }]),
    );
    // normalize_path, merge_slashes and escaped-slash handling all off (hcmConfig's defaults).
    ({ listener, port } = await startHttpListener(
      hcmConfig(testRouteTable([{ prefix: '/', cluster: 'ok' }]), { accessLogs: [{ sink, raw: {} }] }),
      clusters,
      stats,
    ));
  });

  afterEach(async () => {
    listener.forceClose();
    clusters.destroy();
    await upstream.close();
  });

  function line(info: StreamInfo): string {
    if (typeof fmt === 'string') throw new Error(fmt);
    return fmt.format(info);
  }

  it('HTTP/1.1: %REQ(:METHOD)% and %REQ(:PATH)% print the request line, not "-"', async () => {
    const res = await request(port, { method: 'POST', path: '/items?q=1', body: 'x' });
    expect(res.status).toBe(200);
    await waitFor(() => logged.length === 1, 3000, 'access log');
    expect(logged[0].requestMethod).toBe('POST');
    expect(logged[0].requestPath).toBe('/items?q=1');
    expect(line(logged[0])).toBe('POST /items?q=1 HTTP/1.1 200');
  });

  it('HTTP/2: method and path are recorded on the stream too', async () => {
    const res = await h2request(port, { ':method': 'GET', ':path': '/h2/path' });
    expect(res.status).toBe(200);
    await waitFor(() => logged.length === 1, 3000, 'access log');
    expect(logged[0].requestMethod).toBe('GET');
    expect(logged[0].requestPath).toBe('/h2/path');
    expect(line(logged[0])).toBe('GET /h2/path HTTP/2 200');
  });

  it('a request refused before routing is still logged with its method and path', async () => {
    const out = await rawExchange(port, 'GET /a#frag HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    await waitFor(() => logged.length === 1, 3000, 'access log');
    expect(line(logged[0])).toBe('GET /a#frag HTTP/1.1 400');
    expect(logged[0].responseCodeDetails).toBe('path_normalization_failed');
    expect(upstream.seen).toHaveLength(0);
  });

  // Both codecs refuse other targets that do not start with '/' themselves, so '*' is how a
  // non-origin-form path reaches the connection manager's check.
  it('"*" is refused for GET (404 absolute_path) but passes the path check for OPTIONS', async () => {
    const get = await rawExchange(port, 'GET * HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    expect(get).toMatch(/^HTTP\/1\.1 404 /);
    await waitFor(() => logged.length === 1, 3000, 'access log');
    expect(logged[0].responseCodeDetails).toBe('absolute_path');
    const opt = await rawExchange(port, 'OPTIONS * HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    // No route has a prefix that matches '*': the path check let it through to routing.
    expect(opt).toMatch(/^HTTP\/1\.1 404 /);
    await waitFor(() => logged.length === 2, 3000, 'access log');
    expect(logged[1].responseCodeDetails).toBe('route_not_found');
    expect(upstream.seen).toHaveLength(0);
  });

  it('an HTTP/2 :path with a fragment is refused with the options off', async () => {
    const res = await h2request(port, { ':method': 'GET', ':path': '/p#x' });
    expect(res.status).toBe(400);
    expect(upstream.seen).toHaveLength(0);
  });
});
