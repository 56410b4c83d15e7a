import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseArgs } from '../../proxy/cli-options.js';
import { startProxy, validateConfig } from '../../proxy/main.js';
import type { RunningProxy } from '../../proxy/main-contract.js';
import { freePort } from '../e2e/fixtures.js';

// Listener fields decoded from YAML through the real decoder and translator (--mode validate's
// path): each one is either applied, accepted for a stated reason, or an error at its field path.

function options(yaml: string) {
  const parsed = parseArgs(['--config-yaml', yaml, '--drain-time-s', '0', '--log-level', 'error']);
  if (parsed.kind !== 'run') throw new Error(`bad args: ${parsed.kind}`);
  return parsed.options;
}

function bootstrap(listenerExtra: string, port = 0): string {
  return `
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
static_resources:
  listeners:
    - name: l
      address: { socket_address: { address: 127.0.0.1, port_value: ${port} } }
${listenerExtra}
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                '@type': type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ingress
                route_config:
                  virtual_hosts:
                    - name: v
                      domains: ['*']
                      routes: [{ match: { prefix: / }, direct_response: { status: 200, body: { inline_string: ok } } }]
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config: { '@type': type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
`;
}

async function validate(listenerExtra: string): Promise<string> {
  const issues = await validateConfig(options(bootstrap(listenerExtra)));
  return issues.format();
}

const L = 'static_resources.listeners[0]';

describe('listener fields through the real decoder', () => {
  it('accepts the informational and listener-filter-only fields', async () => {
    const text = await validate(`      traffic_direction: INBOUND
      metadata: { filter_metadata: { team: { owner: web } } }
      listener_filters_timeout: 5s
      continue_on_listener_filters_timeout: true
      drain_type: DEFAULT
      bind_to_port: true
      stat_prefix: web_in`);
    expect(text).toBe('');
  });

  it('rejects bind_to_port false at its path', async () => {
    const text = await validate('      bind_to_port: false');
    expect(text).toContain(`error: ${L}.bind_to_port: false is not supported by remora`);
  });

  it('rejects listener access logs at their path', async () => {
    const text = await validate(`      access_log:
        - name: envoy.access_loggers.stdout
          typed_config: { '@type': type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog }`);
    expect(text).toContain(`error: ${L}.access_log: listener access logs are not supported by remora`);
  });

  it('rejects drain_type MODIFY_ONLY at its path', async () => {
    const text = await validate('      drain_type: MODIFY_ONLY');
    expect(text).toBe(`error: ${L}.drain_type: only DEFAULT is supported by remora`);
  });
});

describe('listener stat_prefix (real sockets)', () => {
  let proxy: RunningProxy | undefined;
  afterEach(async () => {
    await proxy?.shutdown('test');
    proxy = undefined;
  });

  function get(port: number, path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
    });
  }

  it('names listener stats listener.<stat_prefix>.* instead of the address', async () => {
    const port = await freePort();
    proxy = await startProxy(options(bootstrap('      stat_prefix: web_in', port)));
    const r = await get(port, '/');
    expect(r.status).toBe(200);
    const stats = await get(proxy.adminAddress!.port, '/stats?filter=^listener\\.');
    expect(stats.body).toContain('listener.web_in.downstream_cx_total: 1');
    expect(stats.body).not.toContain(`listener.127.0.0.1_${port}.downstream_cx_total`);
  });

  it('keeps listener.<address>_<port>.* without stat_prefix', async () => {
    const port = await freePort();
    proxy = await startProxy(options(bootstrap('', port)));
    const r = await get(port, '/');
    expect(r.status).toBe(200);
    const stats = await get(proxy.adminAddress!.port, '/stats?filter=^listener\\.');
    expect(stats.body).toContain(`listener.127.0.0.1_${port}.downstream_cx_total: 1`);
  });
});
