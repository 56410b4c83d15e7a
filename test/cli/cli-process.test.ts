import { describe, expect, it } from 'vitest';
import { runRemora } from '../e2e/run-remora.js';

describe('remora binary (real process)', () => {
  it("prints the version in Envoy's shape and exits 0", async () => {
    const r = await runRemora(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^remora {2}version: ([0-9a-f]{40}|unknown)\/\d+\.\d+\.\d+\/RELEASE\/node-v\d+\.\d+\.\d+\n$/,
    );
    expect(r.stderr).toBe('');
  });

  it('prints usage for --help and exits 0', async () => {
    const r = await runRemora(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: remora/);
    expect(r.stdout).toContain('--drain-time-s SECONDS');
  });

  it('rejects an unknown flag with the usage and exit code 1', async () => {
    const r = await runRemora(['-c', 'x.yaml', '--no-such-flag']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^remora: unknown flag '--no-such-flag'\n/);
    expect(r.stderr).toContain('Usage: remora');
  });

  it('rejects a bad value, naming the flag', async () => {
    const r = await runRemora(['-c', 'x.yaml', '--drain-time-s', 'soon']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--drain-time-s: expected a non-negative integer, got 'soon'/);
  });

  it('exits 1 when no config is given', async () => {
    const r = await runRemora([]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--config-path/);
  });
});
