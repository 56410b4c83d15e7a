import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { parseArgs } from '../../../../../proxy/cli-options.js';
import { startProxy, validateConfig } from '../../../../../proxy/main.js';
import type { RunningProxy } from '../../../../../proxy/main-contract.js';
import { freePort } from '../../../../e2e/fixtures.js';

// HttpConnectionManager fields decoded from YAML by the real decoder and translated on the
// --mode validate / start path: applied, or an error (or warning) at the field path.

function options(yaml: string) {
  const parsed = parseArgs(['--config-yaml', yaml, '--drain-time-s', '0', '--log-level', 'error']);
  if (parsed.kind !== 'run') throw new Error(`bad args: ${parsed.kind}`);
  return parsed.options;
}

const ROUTER = `
                  - name: envoy.filters.http.router
                    typed_config: { '@type': type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }`;
const FAULT_503 = `
                  - name: envoy.filters.http.fault
                    typed_config:
                      '@type': type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
                      abort: { http_status: 503, percentage: { numerator: 100 } }`;

function bootstrap(hcmExtra: string, filters: string, port = 0): string {
  return `
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
static_resources:
  listeners:
    - name: l
      address: { socket_address: { address: 127.0.0.1, port_value: ${port} } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                '@type': type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ingress
${hcmExtra}
                route_config:
                  virtual_hosts:
                    - name: v
                      domains: ['*']
                      routes: [{ match: { prefix: / }, direct_response: { status: 200, body: { inline_string: ok } } }]
                http_filters:${filters}
`;
}

async function validate(hcmExtra: string, filters = ROUTER): Promise<string> {
  return (await validateConfig(options(bootstrap(hcmExtra, filters)))).format();
}

const H = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';

describe('HCM fields through the real decoder', () => {
  it('accepts the protocol options remora applies or documents', async () => {
    const text = await validate(`                delayed_close_timeout: 1s
                http_protocol_options: { accept_http_10: true, enable_trailers: true }
                http2_protocol_options:
                  hpack_table_size: 4096
                  max_concurrent_streams: 7
                  initial_stream_window_size: 65536
                  initial_connection_window_size: 1048576`);
    expect(text).toBe('');
  });

  it('rejects what remora does not implement, each at its path', async () => {
    const text =
      await validate(`                http_protocol_options: { default_host_for_http_10: example.com }
                http2_protocol_options:
                  initial_stream_window_size: 100
                  max_concurrent_streams: 0
                  connection_keepalive: { interval: 10s }
                common_http_protocol_options: { max_connection_duration: 60s, max_requests_per_connection: 5 }`);
    expect(text.split('\n').sort()).toEqual(
      [
        `error: ${H}.http_protocol_options.default_host_for_http_10: not supported by remora`,
        `error: ${H}.http2_protocol_options.connection_keepalive: not supported by remora`,
        `error: ${H}.http2_protocol_options.max_concurrent_streams: must be in 1..2147483647`,
        `error: ${H}.http2_protocol_options.initial_stream_window_size: must be in 65535..2147483647`,
        `error: ${H}.common_http_protocol_options.max_connection_duration: not supported by remora`,
        `error: ${H}.common_http_protocol_options.max_requests_per_connection: not supported by remora`,
      ].sort(),
    );
  });

  it('skips an unknown filter marked is_optional with a warning; without it, an error', async () => {
    const unknown = (optional: boolean) => `
                  - name: acme.unknown
                    is_optional: ${optional}
                    typed_config: { '@type': type.googleapis.com/google.protobuf.Empty }${ROUTER}`;
    expect(await validate('', unknown(true))).toBe(
      `warning: ${H}.http_filters[0].typed_config: unknown optional HTTP filter type type.googleapis.com/google.protobuf.Empty: skipped`,
    );
    expect(await validate('', unknown(false))).toContain(
      `error: ${H}.http_filters[0].typed_config.@type: unknown type URL 'type.googleapis.com/google.protobuf.Empty'`,
    );
  });

  it('refuses to disable the terminal filter', async () => {
    const text = await validate(
      '',
      `
                  - name: envoy.filters.http.router
                    disabled: true
                    typed_config: { '@type': type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }`,
    );
    expect(text).toBe(`error: ${H}.http_filters[0].disabled: the terminal filter cannot be disabled`);
  });
});

describe('HCM fields over real sockets', () => {
  let proxy: RunningProxy | undefined;
  afterEach(async () => {
    await proxy?.shutdown('test');
    proxy = undefined;
  });

  function status(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
        .on('error', reject);
    });
  }

  it('a disabled filter never runs; the same filter enabled does', async () => {
    const port = await freePort();
    const disabled = FAULT_503.replace('typed_config:', 'disabled: true\n                    typed_config:');
    proxy = await startProxy(options(bootstrap('', disabled + ROUTER, port)));
    expect(await status(port)).toBe(200);
    await proxy.shutdown('test');
    proxy = undefined;
    const port2 = await freePort();
    proxy = await startProxy(options(bootstrap('', FAULT_503 + ROUTER, port2)));
    expect(await status(port2)).toBe(503);
  });

  it('advertises http2_protocol_options in the downstream SETTINGS', async () => {
    const port = await freePort();
    proxy = await startProxy(
      options(
        bootstrap(
          `                http2_protocol_options:
                  max_concurrent_streams: 7
                  initial_stream_window_size: 70000
                  initial_connection_window_size: 3000000`,
          ROUTER,
          port,
        ),
      ),
    );
    const client = http2.connect(`http://127.0.0.1:${port}`);
    try {
      client.on('error', () => {});
      await once(client, 'remoteSettings');
      expect(client.remoteSettings.maxConcurrentStreams).toBe(7);
      expect(client.remoteSettings.initialWindowSize).toBe(70000);
      // The connection window opens by WINDOW_UPDATE after the handshake: poll, bounded.
      const deadline = Date.now() + 2000;
      for (let i = 0; i < 200 && client.state.remoteWindowSize !== 3000000 && Date.now() < deadline; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(client.state.remoteWindowSize).toBe(3000000);
      const req = client.request({ ':path': '/' });
      const [headers] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
      req.resume();
      expect(headers[':status']).toBe(200);
      await once(req, 'end');
    } finally {
      client.close();
    }
  });
});
