import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdminServer } from '../../proxy/admin/admin-server.js';
import { type Harness, startAdmin } from './fixtures.js';

let h: Harness;
beforeEach(async () => {
  h = await startAdmin();
});
afterEach(async () => {
  await h.admin.close();
});

async function get(path: string, method = 'GET'): Promise<{ status: number; body: string; type: string }> {
  const r = await fetch(h.base + path, { method });
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') ?? '' };
}

describe('admin: index and routing', () => {
  it('lists the endpoints at / and 404s an unknown path with the list', async () => {
    const r = await get('/');
    expect(r.status).toBe(200);
    for (const p of [
      '/ready',
      '/server_info',
      '/stats',
      '/stats/prometheus',
      '/clusters',
      '/config_dump',
      '/quitquitquit',
    ]) {
      expect(r.body).toContain(`  ${p}: `);
    }
    const nf = await get('/nope');
    expect(nf.status).toBe(404);
    expect(nf.body).toMatch(/^invalid path\. admin commands are:/);
  });

  it('refuses GET on endpoints that change state', async () => {
    for (const p of [
      '/healthcheck/fail',
      '/healthcheck/ok',
      '/drain_listeners',
      '/quitquitquit',
      '/logging?level=debug',
      '/reset_counters',
    ]) {
      const r = await get(p);
      expect(r.status, p).toBe(405);
      expect(r.body).toBe('Method GET not allowed, POST required.\n');
    }
    expect(h.calls.quit).toBe(0);
    expect(h.calls.drain).toEqual([]);
    expect(h.admin.healthCheckFailed).toBe(false);
  });

  it('matches paths exactly and survives odd request targets', async () => {
    const raw = async (target: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: h.admin.port, path: target, method: 'GET' }, (res) => {
          let body = '';
          res.on('data', (c) => {
            body += String(c);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    expect((await raw('//stats')).status).toBe(404);
    expect((await raw('/stats/')).status).toBe(404);
    expect((await raw('/stats?filter=%zz')).status).toBe(200);
    expect((await raw('/ready?x=1&x=2')).body).toBe('LIVE\n');
    expect((await raw('/clusters?format=json&format=text')).status).toBe(200);
  });

  it('sets Envoy admin response headers', async () => {
    const r = await fetch(`${h.base}/ready`);
    expect(r.headers.get('cache-control')).toBe('no-cache, max-age=0');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    await r.text();
  });
});

describe('admin: readiness and health checks', () => {
  it('reports each server state on /ready', async () => {
    expect(await get('/ready')).toMatchObject({ status: 200, body: 'LIVE\n' });
    h.state.init = 'pre_initializing';
    expect(await get('/ready')).toMatchObject({ status: 503, body: 'PRE_INITIALIZING\n' });
    h.state.init = 'initializing';
    expect(await get('/ready')).toMatchObject({ status: 503, body: 'INITIALIZING\n' });
  });

  it('fails and restores health checks; /ready says DRAINING meanwhile', async () => {
    expect(await get('/healthcheck/fail', 'POST')).toMatchObject({ status: 200, body: 'OK\n' });
    expect(h.admin.healthCheckFailed).toBe(true);
    expect(await get('/ready')).toMatchObject({ status: 503, body: 'DRAINING\n' });
    const info = JSON.parse((await get('/server_info')).body) as { state: string };
    expect(info.state).toBe('DRAINING');
    expect(await get('/healthcheck/ok', 'POST')).toMatchObject({ status: 200, body: 'OK\n' });
    expect(await get('/ready')).toMatchObject({ status: 200, body: 'LIVE\n' });
    expect(h.calls.health).toEqual([true, false]);
  });
});

describe('admin: server_info, memory, listeners', () => {
  it('returns Envoy ServerInfo JSON', async () => {
    const r = await get('/server_info');
    expect(r.type).toBe('application/json');
    const info = JSON.parse(r.body) as Record<string, unknown>;
    expect(Object.keys(info)).toEqual([
      'version',
      'state',
      'uptime_current_epoch',
      'uptime_all_epochs',
      'hot_restart_version',
      'command_line_options',
      'node',
    ]);
    expect(info.version).toBe('remora/0.1.0');
    expect(info.state).toBe('LIVE');
    expect(info.uptime_current_epoch).toMatch(/^1[2-9]s$/);
    expect(info.node).toEqual({ id: 'node-1', cluster: 'svc' });
    expect(info.command_line_options).toMatchObject({ drain_time: '600s', mode: 'Serve' });
  });

  it('returns memory figures as strings', async () => {
    const m = JSON.parse((await get('/memory')).body) as Record<string, string>;
    expect(Number(m.allocated)).toBeGreaterThan(0);
    expect(Number(m.total_physical_bytes)).toBeGreaterThan(0);
    expect(typeof m.heap_size).toBe('string');
  });

  it('lists listeners as text and JSON', async () => {
    expect((await get('/listeners')).body).toBe('ingress::127.0.0.1:10000\nv6::[::1]:10001\n');
    const j = JSON.parse((await get('/listeners?format=json')).body);
    expect(j.listener_statuses[0]).toEqual({
      name: 'ingress',
      local_address: { socket_address: { address: '127.0.0.1', port_value: 10000 } },
    });
  });
});

describe('admin: lifecycle', () => {
  it('drains listeners with the options given', async () => {
    expect(await get('/drain_listeners', 'POST')).toMatchObject({ status: 200, body: 'OK\n' });
    expect(await get('/drain_listeners?graceful&inboundonly', 'POST')).toMatchObject({ status: 200 });
    expect(h.calls.drain).toEqual([
      { graceful: false, inboundOnly: false },
      { graceful: true, inboundOnly: true },
    ]);
  });

  it('answers quitquitquit before calling quit', async () => {
    const r = await get('/quitquitquit', 'POST');
    expect(r).toMatchObject({ status: 200, body: 'OK\n' });
    const deadline = Date.now() + 2000;
    while (h.calls.quit === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
    expect(h.calls.quit).toBe(1);
  });

  it('changes log levels and lists loggers', async () => {
    const list = await get('/logging', 'POST');
    expect(list.body).toBe('active loggers:\n  admin: info\n  upstream: info\n');
    const all = await get('/logging?level=debug', 'POST');
    expect(all.status).toBe(200);
    expect(all.body).toBe('active loggers:\n  admin: debug\n  upstream: debug\n');
    expect(h.logs.root.level).toBe('debug');
    const one = await get('/logging?upstream=warning', 'POST');
    expect(one.body).toContain('  upstream: warning\n');
    expect(h.logs.component('upstream').level).toBe('warn');
    const bad = await get('/logging?level=loud', 'POST');
    expect(bad.status).toBe(404);
    expect(bad.body).toContain('usage: /logging?level=<level>');
    expect((await get('/logging?nosuch=info', 'POST')).status).toBe(404);
  });
});

describe('admin: server lifecycle', () => {
  it('binds the configured address and reports the port; a busy port is an error', async () => {
    expect(h.admin.address).toBe('127.0.0.1');
    const clash = new AdminServer(h.admin.context.sources, { address: '127.0.0.1', port: h.admin.port });
    await expect(clash.listen()).rejects.toThrow(/EADDRINUSE/);
  });

  it('handles HEAD and a POST body without breaking keep-alive', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${h.base}/healthcheck/fail`, { method: 'POST' }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end('some body');
    });
    expect(status).toBe(200);
    const head = await fetch(`${h.base}/stats`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});
