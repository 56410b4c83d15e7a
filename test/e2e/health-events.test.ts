/**
 * Outlier ejections are events an operator must see: a real remora process, one upstream that
 * answers 503, outlier detection at consecutive_5xx: 2 — the ejection is logged (stderr, JSON)
 * naming the cluster and the host, and /clusters shows the host as ejected.
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, get, httpBootstrap, TempDir } from './fixtures.js';
import { integrated, startProcess, stopProcess } from './run-remora.js';

let child: ChildProcess | undefined;
let upstream: http.Server | undefined;
let dir: TempDir | undefined;

afterEach(async () => {
  await stopProcess(child);
  await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
  dir?.remove();
});

describe.skipIf(!integrated)('health events (real process)', () => {
  it('logs an outlier ejection with cluster and host, and /clusters shows it', async () => {
    upstream = http.createServer((_req, res) => res.writeHead(503).end('down'));
    await new Promise<void>((r) => upstream!.listen(0, '127.0.0.1', () => r()));
    const upstreamPort = (upstream.address() as { port: number }).port;
    const port = await freePort();
    const adminPort = await freePort();
    dir = new TempDir();
    const yaml = httpBootstrap({ listenerPort: port, upstreamPort, adminPort }).replace(
      '      lb_policy: ROUND_ROBIN\n',
      '      lb_policy: ROUND_ROBIN\n      outlier_detection: { consecutive_5xx: 2, interval: 60s, base_ejection_time: 60s, max_ejection_percent: 100 }\n',
    );
    child = startProcess(['-c', dir.write('h.yaml', yaml), '--log-level', 'info']);
    let stderr = '';
    const ejected = new Promise<void>((resolve) => {
      child!.stderr!.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (/outlier: host ejected/.test(stderr)) resolve();
      });
    });
    let started = false;
    for (let i = 0; i < 400 && !started; i++) {
      started = await get(port, '/').then(
        () => true,
        () => new Promise<boolean>((r) => setTimeout(() => r(false), 25)),
      );
    }
    expect(started).toBe(true);
    // The first request above was one 503; one more makes two in a row.
    expect((await get(port, '/')).status).toBe(503);
    await ejected;
    const line = stderr.split('\n').find((l) => l.includes('outlier: host ejected'))!;
    const event = JSON.parse(line) as { component: string; cluster: string; host?: string };
    expect(event.component).toBe('health');
    expect(event.cluster).toBe('origin');
    expect(line).toContain(`127.0.0.1:${upstreamPort}`);
    const clusters = await get(adminPort, '/clusters');
    expect(clusters.body).toContain(`origin::127.0.0.1:${upstreamPort}::health_flags::/failed_outlier_check`);
  });
});
