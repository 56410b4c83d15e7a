#!/usr/bin/env node
/**
 * The `remora` binary. Parses Envoy-style flags, then either validates the config (`--mode
 * validate`: print every problem as `path: reason`, exit 0 or 1, bind nothing) or runs the proxy
 * until a signal or /quitquitquit drains it. Exit codes: 0 after a clean or deadline-bounded
 * shutdown and for a valid config, 1 for bad flags or bad config, 128+N on a second signal.
 */
import { writeFile } from 'node:fs/promises';
import { type CliOptions, parseArgs, usage } from './cli-options.js';
import { ConfigError } from './config/issues.js';
import type { RunningProxy } from './main-contract.js';
import { versionLine } from './version.js';

function fail(message: string): never {
  process.stderr.write(`remora: ${message}\n`);
  process.exit(1);
}

async function validate(opts: CliOptions): Promise<never> {
  const { validateConfig } = await import('./main.js');
  const issues = await validateConfig(opts);
  if (issues.list.length > 0) process.stderr.write(`${issues.format()}\n`);
  const what = opts.configPath !== undefined ? `'${opts.configPath}'` : '(--config-yaml)';
  if (!issues.ok) {
    process.stderr.write(`configuration ${what} is invalid: ${issues.errorCount} error(s)\n`);
    process.exit(1);
  }
  // Envoy's wording, so scripts that grep for it keep working.
  process.stdout.write(`configuration ${what} OK\n`);
  process.exit(0);
}

async function serve(opts: CliOptions): Promise<void> {
  // Loaded here, not at the top: --help and --version should not pay for the proxy's modules.
  const { startProxy } = await import('./main.js');
  let running: RunningProxy;
  try {
    running = await startProxy(opts, { exit: (code) => process.exit(code), handleSignals: true });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.issues.format()}\n`);
      fail('invalid configuration; nothing was started');
    }
    fail(err instanceof Error ? err.message : String(err));
  }
  if (opts.adminAddressPath !== undefined && running.adminAddress !== undefined) {
    const { host, port } = running.adminAddress;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    await writeFile(opts.adminAddressPath, `${hostPart}:${port}\n`);
  }
}

async function main(): Promise<void> {
  const parsed = parseArgs(process.argv.slice(2));
  switch (parsed.kind) {
    case 'help':
      process.stdout.write(usage());
      return;
    case 'version':
      process.stdout.write(`${versionLine()}\n`);
      return;
    case 'error':
      process.stderr.write(`remora: ${parsed.message}\n\n${usage()}`);
      process.exit(1);
      return;
    case 'run':
      for (const w of parsed.options.warnings) process.stderr.write(`remora: warning: ${w}\n`);
      if (parsed.options.mode === 'validate') await validate(parsed.options);
      else await serve(parsed.options);
  }
}

main().catch((err: unknown) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
