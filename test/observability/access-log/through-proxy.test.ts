import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Issues } from '../../../proxy/config/issues.js';
import type { AccessLogEntry } from '../../../proxy/model/listener.js';
import type { Listener } from '../../../proxy/network/listener.js';
import { AccessLogOutputs } from '../../../proxy/observability/access-log/outputs.js';
import { StatsStore } from '../../../proxy/observability/stats.js';
import { translateAccessLog } from '../../../proxy/xds/access-log.js';
import { h2request, RecordingServer, request } from '../../helpers/http.js';
import { hcmConfig, startHttpListener } from '../../helpers/proxy.js';
import { TestCluster, TestClusters, testRouteTable } from '../../helpers/test-upstream.js';

/**
 * Access logs written by the real connection manager for real requests on loopback: the
 * translator builds the logger, the HCM calls it when a stream ends, the file sink writes it.
 */
const FILE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';

let dir: string;
let outputs: AccessLogOutputs;
let upstream: RecordingServer;
let clusters: TestClusters;
let listener: Listener;
let port: number;
let upPort: number;
let logPath: string;
let jsonPath: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'remora-al-hcm-'));
  logPath = join(dir, 'access.log');
  jsonPath = join(dir, 'access.json');
  outputs = new AccessLogOutputs({ flushIntervalMs: 60_000 }, new PassThrough(), new PassThrough());
  upstream = new RecordingServer();
  upPort = await upstream.listen();
  const stats = new StatsStore();
  clusters = new TestClusters()
    .add(new TestCluster(stats, 'backend', [{ address: '127.0.0.1', port: upPort }]))
    .add(new TestCluster(stats, 'down', [{ address: '127.0.0.1', port: 1 }]));
  const routes = testRouteTable([
    { prefix: '/down', cluster: 'down' },
    { prefix: '/', cluster: 'backend', name: 'default' },
  ]);
  const issues = new Issues();
  const text = translateAccessLog(
    {
      name: 'envoy.access_loggers.file',
      typed_config: {
        '@type': FILE,
        path: logPath,
        log_format: {
          text_format:
            '%PROTOCOL% %RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_CLUSTER% %UPSTREAM_HOST% %REQ(USER-AGENT)%\n',
        },
      },
    },
    'access_log[0]',
    issues,
    { outputs },
  );
  const json = translateAccessLog(
    {
      name: 'json',
      typed_config: {
        '@type': FILE,
        path: jsonPath,
        log_format: {
          json_format: {
            code: '%RESPONSE_CODE%',
            bytes_sent: '%BYTES_SENT%',
            duration: '%DURATION%',
            downstream: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%',
            route: '%ROUTE_NAME%',
            id: '%REQ(X-REQUEST-ID)%',
            line: '%REQ(:METHOD)% %REQ(:PATH)%',
          },
        },
      },
    },
    'access_log[1]',
    issues,
    { outputs },
  );
  expect(issues.format()).toBe('');
  const accessLogs: AccessLogEntry[] = [
    { sink: text, raw: null },
    { sink: json, raw: null },
  ];
  ({ listener, port } = await startHttpListener(hcmConfig(routes, { accessLogs }), clusters, stats));
});

afterEach(async () => {
  listener.forceClose();
  clusters.destroy();
  await upstream.close();
  await outputs.closeAll();
  rmSync(dir, { recursive: true, force: true });
});

async function lines(path: string, n: number): Promise<string[]> {
  // The HCM logs when the stream is done, which may be just after the client saw the end.
  let got: string[] = [];
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    await outputs.flushAll();
    got = readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    if (got.length >= n) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return got;
}

describe('access logs through the connection manager', () => {
  it('logs an HTTP/1.1 request in text and JSON', async () => {
    const res = await request(port, { path: '/hello', headers: { 'user-agent': 'al-test/1' } });
    expect(res.status).toBe(200);
    const [line] = await lines(logPath, 1);
    expect(line).toBe(`HTTP/1.1 200 - backend 127.0.0.1:${upPort} al-test/1`);
    const [j] = await lines(jsonPath, 1);
    const rec = JSON.parse(j) as Record<string, unknown>;
    expect(rec.code).toBe(200);
    expect(rec.bytes_sent).toBe(res.body.length);
    expect(typeof rec.duration).toBe('number');
    expect(rec.downstream).toBe('127.0.0.1');
    expect(rec.route).toBe('default');
    expect(rec.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs an HTTP/2 request', async () => {
    const res = await h2request(port, { ':path': '/h2', 'user-agent': 'h2-client' });
    expect(res.status).toBe(200);
    const [line] = await lines(logPath, 1);
    expect(line).toBe(`HTTP/2 200 - backend 127.0.0.1:${upPort} h2-client`);
    const [j] = await lines(jsonPath, 1);
    expect((JSON.parse(j) as { line: string }).line).toBe('GET /h2');
  });

  it('logs a failed upstream connection with its response flag', async () => {
    const res = await request(port, { path: '/down' });
    expect(res.status).toBe(503);
    const [line] = await lines(logPath, 1);
    expect(line).toMatch(/^HTTP\/1\.1 503 UF down 127\.0\.0\.1:1 -$/);
  });
});
