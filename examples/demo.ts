/**
 * `npm start`: the proxy on an embedded default, for a first look. Starts three small upstream
 * HTTP servers on loopback (:18001-18003, each answering with its name), then remora in this same
 * process on examples/demo.yaml (listener :10000, round robin over the three, admin :9901, access
 * log to stdout), and prints what to try. Ctrl-C (or POST /quitquitquit) drains and exits.
 */
import { once } from 'node:events';
import http from 'node:http';
import { join } from 'node:path';
import { DEFAULT_OPTIONS } from '../proxy/cli-options.js';
import { ConfigError } from '../proxy/config/issues.js';
import { startProxy } from '../proxy/main.js';
import { packageRoot } from '../proxy/version.js';

/** Must match the endpoints in examples/demo.yaml. */
export const DEMO_UPSTREAM_PORTS: readonly number[] = [18001, 18002, 18003];
export const DEMO_LISTENER_PORT = 10000;

/** One demo upstream: answers every request with its name and what it was asked. */
async function startUpstream(name: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const body = `hello from ${name} (127.0.0.1:${port}): ${req.method} ${req.url}\n`;
    res.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

async function main(): Promise<void> {
  const upstreams: http.Server[] = [];
  try {
    for (let i = 0; i < DEMO_UPSTREAM_PORTS.length; i++) {
      upstreams.push(await startUpstream(`upstream-${i + 1}`, DEMO_UPSTREAM_PORTS[i]));
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    process.stderr.write(
      code === 'EADDRINUSE'
        ? `demo: a port in ${DEMO_UPSTREAM_PORTS.join(', ')} is taken; is another demo running?\n`
        : `demo: cannot start the demo upstreams: ${String(err)}\n`,
    );
    process.exit(1);
  }

  const configPath = join(packageRoot(), 'examples', 'demo.yaml');
  let adminUrl: string;
  try {
    const proxy = await startProxy(
      { ...DEFAULT_OPTIONS, configPath, drainTimeS: 5 },
      {
        handleSignals: true,
        exit: (code) => {
          for (const s of upstreams) s.close();
          process.exit(code);
        },
      },
    );
    const admin = proxy.adminAddress;
    adminUrl = admin === undefined ? '(no admin)' : `http://${admin.host}:${admin.port}/`;
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`${err.issues.format()}\n`);
    process.stderr.write(`demo: remora did not start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }

  const proxyUrl = `http://127.0.0.1:${DEMO_LISTENER_PORT}/`;
  process.stdout.write(
    [
      '',
      'remora demo is running',
      `  proxy  ${proxyUrl}  -> round robin over upstream-1..3 on 127.0.0.1:${DEMO_UPSTREAM_PORTS.join(', :')}`,
      `  admin  ${adminUrl}`,
      `  config ${configPath}`,
      '',
      'try:',
      `  curl -s ${proxyUrl}hello        # run it a few times: the answering upstream rotates`,
      `  curl -s '${adminUrl}stats?filter=demo_upstreams'`,
      '',
      'Ctrl-C drains and stops.',
      '',
    ].join('\n'),
  );
}

void main();
