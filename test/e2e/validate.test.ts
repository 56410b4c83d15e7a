import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, httpBootstrap, TempDir } from './fixtures.js';
import { integrated, repoRoot, runRemora } from './run-remora.js';

const dirs: TempDir[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) d.remove();
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

function tmp(): TempDir {
  const d = new TempDir();
  dirs.push(d);
  return d;
}

// Every bootstrap example must validate; mesh*.yaml are control-plane mesh files, not bootstraps.
const examples = readdirSync(join(repoRoot, 'examples')).filter(
  (f) => f.endsWith('.yaml') && !f.startsWith('mesh'),
);

describe.skipIf(!integrated)('remora --mode validate (real process)', () => {
  it.each(examples)('accepts examples/%s', async (name) => {
    const r = await runRemora(['--mode', 'validate', '-c', join('examples', name)]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`configuration '${join('examples', name)}' OK\n`);
    expect(r.code).toBe(0);
  });

  it('binds nothing: the listener port of the config may be taken by someone else', async () => {
    const holder = net.createServer();
    servers.push(holder);
    holder.listen(0, '127.0.0.1');
    await once(holder, 'listening');
    const port = (holder.address() as AddressInfo).port;
    const file = tmp().write(
      'taken.yaml',
      httpBootstrap({ listenerPort: port, upstreamPort: 1, adminPort: port }),
    );
    const r = await runRemora(['--mode', 'validate', '-c', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/OK\n$/);
  });

  it('validates --config-yaml without a file', async () => {
    const r = await runRemora([
      '--mode',
      'validate',
      '--config-yaml',
      httpBootstrap({ listenerPort: 1, upstreamPort: 2 }),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('configuration (--config-yaml) OK\n');
  });

  it('reports every problem with its field path and exits 1', async () => {
    // Two mistakes in two resources, both found by the translators: all are reported at once.
    const bad = httpBootstrap({ listenerPort: 70000, upstreamPort: 2 }).replace(
      'connect_timeout: 1s',
      'connect_timeout: -1s',
    );
    const file = tmp().write('bad.yaml', bad);
    const r = await runRemora(['--mode', 'validate', '-c', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: static_resources\.clusters\[0\]\.connect_timeout: /m);
    expect(r.stderr).toMatch(
      /^error: static_resources\.listeners\[0\]\.address\.socket_address\.port_value: /m,
    );
    expect(r.stderr).toMatch(/is invalid: 2 error\(s\)/);
  });

  it('rejects a field remora does not know, naming its path', async () => {
    const bad = httpBootstrap({ listenerPort: 1, upstreamPort: 2 }).replace(
      'lb_policy: ROUND_ROBIN',
      'lb_policy: ROUND_ROBIN\n      no_such_field: 1',
    );
    const file = tmp().write('unknown-field.yaml', bad);
    const r = await runRemora(['--mode', 'validate', '-c', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: static_resources\.clusters\[0\]\.no_such_field: /m);
  });

  it('downgrades unknown fields to warnings with --allow-unknown-static-fields', async () => {
    const file = tmp().write(
      'unknown.yaml',
      httpBootstrap({ listenerPort: 1, upstreamPort: 2 }).replace(
        'lb_policy: ROUND_ROBIN',
        'lb_policy: ROUND_ROBIN\n      no_such_field: 1',
      ),
    );
    const r = await runRemora(['--mode', 'validate', '--allow-unknown-static-fields', '-c', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: static_resources\.clusters\[0\]\.no_such_field/);
  });

  it('fails on a missing file and on YAML that does not parse', async () => {
    const missing = await runRemora(['--mode', 'validate', '-c', '/nonexistent/remora.yaml']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('/nonexistent/remora.yaml');
    const broken = tmp().write('broken.yaml', 'static_resources: [ {');
    const r = await runRemora(['--mode', 'validate', '-c', broken]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
  });

  it('serve mode refuses a bad config before binding', async () => {
    const holderPort = await freePort();
    const bad = httpBootstrap({ listenerPort: holderPort, upstreamPort: 2 }).replace(
      'connect_timeout: 1s',
      'connect_timeout: -1s',
    );
    const file = tmp().write('bad-serve.yaml', bad);
    const r = await runRemora(['-c', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('static_resources.clusters[0].connect_timeout');
    expect(r.stderr).toContain('nothing was started');
  });
});
