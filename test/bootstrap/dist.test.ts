import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

describe('the compiled loader (dist/, built by the test global setup)', () => {
  it('finds proto/ from dist/ and loads a bootstrap in a separate process', async () => {
    const script = `
      const { loadBootstrap } = await import(${JSON.stringify(`${ROOT}dist/proxy/bootstrap/load.js`)});
      const { bootstrap, issues } = loadBootstrap({
        configPath: ${JSON.stringify(`${ROOT}examples/demo.yaml`)},
        configYaml: 'node: { id: from-flag }',
      });
      console.log(JSON.stringify({ id: bootstrap?.node.id, clusters: bootstrap?.staticClusters.length, issues: issues.format() }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: '/',
      timeout: 15_000,
    });
    expect(JSON.parse(stdout)).toEqual({ id: 'from-flag', clusters: 1, issues: '' });
  });
});
