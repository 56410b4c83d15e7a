import { describe, expect, it } from 'vitest';
import {
  type CliOptions,
  commandLineOptionsJson,
  DEFAULT_OPTIONS,
  type ParseResult,
  parseArgs,
  parseLogLevel,
  pinoLevelOf,
  usage,
} from '../../proxy/cli-options.js';

function run(argv: string[]): CliOptions {
  const r = parseArgs(argv);
  if (r.kind !== 'run') throw new Error(`expected run, got ${JSON.stringify(r)}`);
  return r.options;
}

function errorOf(argv: string[]): string {
  const r: ParseResult = parseArgs(argv);
  if (r.kind !== 'error') throw new Error(`expected an error, got ${JSON.stringify(r)}`);
  return r.message;
}

describe('parseArgs', () => {
  it('applies Envoy defaults when only a config is given', () => {
    const o = run(['-c', 'b.yaml']);
    expect(o).toEqual({ ...DEFAULT_OPTIONS, configPath: 'b.yaml' });
    expect(o.mode).toBe('serve');
    expect(o.logLevel).toBe('info');
    expect(o.drainTimeS).toBe(600);
    expect(o.parentShutdownTimeS).toBe(900);
    expect(o.allowUnknownStaticFields).toBe(false);
  });

  it('reads the config path from -c, --config-path and --config-path=', () => {
    expect(run(['-c', 'a.yaml']).configPath).toBe('a.yaml');
    expect(run(['--config-path', 'b.json']).configPath).toBe('b.json');
    expect(run(['--config-path=c.yaml']).configPath).toBe('c.yaml');
  });

  it('takes --config-yaml alone or together with a file', () => {
    const yaml = "node: {id: 'n1'}";
    expect(run(['--config-yaml', yaml]).configYaml).toBe(yaml);
    const both = run(['-c', 'x.yaml', '--config-yaml', yaml]);
    expect(both.configPath).toBe('x.yaml');
    expect(both.configYaml).toBe(yaml);
  });

  it('keeps = signs inside a --flag=value value', () => {
    expect(run(['--config-yaml=a: b=c']).configYaml).toBe('a: b=c');
  });

  it('requires a config unless only asking for help or version', () => {
    expect(errorOf([])).toMatch(/--config-path.*--config-yaml/);
    expect(errorOf(['-l', 'debug'])).toMatch(/required/);
    expect(parseArgs([]).kind).toBe('error');
  });

  it('accepts both modes and rejects others', () => {
    expect(run(['-c', 'f', '--mode', 'validate']).mode).toBe('validate');
    expect(run(['-c', 'f', '--mode=serve']).mode).toBe('serve');
    expect(errorOf(['-c', 'f', '--mode', 'init_only'])).toBe(
      "--mode: expected 'serve' or 'validate', got 'init_only'",
    );
  });

  it('knows every Envoy log level, with warn as an alias of warning', () => {
    for (const level of ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off']) {
      expect(run(['-c', 'f', '-l', level]).logLevel).toBe(level);
    }
    expect(run(['-c', 'f', '--log-level', 'warn']).logLevel).toBe('warning');
    expect(errorOf(['-c', 'f', '-l', 'verbose'])).toMatch(/--log-level: unknown level 'verbose'/);
    expect(errorOf(['-c', 'f', '-l', 'INFO'])).toMatch(/unknown level/);
  });

  it('maps Envoy levels onto pino levels', () => {
    expect(pinoLevelOf('warning')).toBe('warn');
    expect(pinoLevelOf('critical')).toBe('fatal');
    expect(pinoLevelOf('off')).toBe('silent');
    expect(pinoLevelOf('trace')).toBe('trace');
    expect(parseLogLevel('warn')).toBe('warning');
    expect(parseLogLevel('nope')).toBeUndefined();
  });

  it('parses --drain-time-s as a non-negative integer within uint32', () => {
    expect(run(['-c', 'f', '--drain-time-s', '0']).drainTimeS).toBe(0);
    expect(run(['-c', 'f', '--drain-time-s=45']).drainTimeS).toBe(45);
    expect(run(['-c', 'f', '--drain-time-s', '4294967295']).drainTimeS).toBe(4294967295);
    expect(errorOf(['-c', 'f', '--drain-time-s', '-1'])).toMatch(
      /--drain-time-s: expected a non-negative integer/,
    );
    expect(errorOf(['-c', 'f', '--drain-time-s', '1.5'])).toMatch(/non-negative integer/);
    expect(errorOf(['-c', 'f', '--drain-time-s', '10s'])).toMatch(/non-negative integer/);
    expect(errorOf(['-c', 'f', '--drain-time-s', ''])).toMatch(/non-negative integer/);
    expect(errorOf(['-c', 'f', '--drain-time-s', '4294967296'])).toMatch(/out of range/);
  });

  it('accepts --parent-shutdown-time-s and --base-id with a warning that they do nothing', () => {
    const o = run(['-c', 'f', '--parent-shutdown-time-s', '30', '--base-id', '7']);
    expect(o.parentShutdownTimeS).toBe(30);
    expect(o.baseId).toBe(7);
    expect(o.warnings).toHaveLength(2);
    expect(o.warnings[0]).toMatch(/--parent-shutdown-time-s has no effect/);
    expect(o.warnings[1]).toMatch(/--base-id has no effect/);
    expect(errorOf(['-c', 'f', '--base-id', 'x'])).toMatch(/--base-id/);
    expect(run(['-c', 'f']).warnings).toEqual([]);
  });

  it('reads the node overrides', () => {
    const o = run(['-c', 'f', '--service-node', 'n-1', '--service-cluster', 'c-1', '--service-zone', 'z-1']);
    expect([o.serviceNode, o.serviceCluster, o.serviceZone]).toEqual(['n-1', 'c-1', 'z-1']);
  });

  it('treats --allow-unknown-static-fields as a switch that takes no value', () => {
    expect(run(['-c', 'f', '--allow-unknown-static-fields']).allowUnknownStaticFields).toBe(true);
    expect(errorOf(['-c', 'f', '--allow-unknown-static-fields=true'])).toBe(
      '--allow-unknown-static-fields takes no value',
    );
  });

  it('reads --xds-snapshot-path (remora only) and rejects an empty one', () => {
    expect(run(['-c', 'f', '--xds-snapshot-path', '/tmp/s.json']).xdsSnapshotPath).toBe('/tmp/s.json');
    expect(run(['-c', 'f']).xdsSnapshotPath).toBeUndefined();
    expect(errorOf(['-c', 'f', '--xds-snapshot-path='])).toMatch(/must not be empty/);
  });

  it('reads --admin-address-path and rejects an empty one', () => {
    expect(run(['-c', 'f', '--admin-address-path', '/tmp/a']).adminAddressPath).toBe('/tmp/a');
    expect(errorOf(['-c', 'f', '--admin-address-path='])).toMatch(/must not be empty/);
    expect(errorOf(['-c', ''])).toMatch(/--config-path: must not be empty/);
  });

  it('rejects unknown flags, naming them', () => {
    expect(errorOf(['-c', 'f', '--concurrency', '2'])).toBe("unknown flag '--concurrency'");
    expect(errorOf(['-c', 'f', '-x'])).toBe("unknown flag '-x'");
    expect(errorOf(['-c', 'f', '-cfoo'])).toBe("unknown flag '-cfoo'");
    expect(errorOf(['-c', 'f', '-'])).toBe("unknown flag '-'");
    expect(errorOf(['--config-pathx=f'])).toBe("unknown flag '--config-pathx'");
  });

  it('rejects positional arguments', () => {
    expect(errorOf(['-c', 'f', 'serve'])).toMatch(/unexpected argument 'serve'/);
    expect(errorOf(['-c', 'f', '--', 'x'])).toMatch(/unexpected argument 'x'/);
    expect(run(['-c', 'f', '--']).configPath).toBe('f');
  });

  it('rejects a value-taking flag at the end of the line', () => {
    expect(errorOf(['-c'])).toBe('-c needs a value (FILE)');
    expect(errorOf(['-c', 'f', '--drain-time-s'])).toBe('--drain-time-s needs a value (SECONDS)');
  });

  it('rejects a flag given twice, in either spelling', () => {
    expect(errorOf(['-c', 'a', '--config-path', 'b'])).toBe('--config-path was given more than once');
    expect(errorOf(['-c', 'f', '-l', 'info', '-l', 'debug'])).toBe('--log-level was given more than once');
  });

  it('takes a value that looks like a flag as the value (the flag before it asked for one)', () => {
    expect(run(['--config-yaml', '-c']).configYaml).toBe('-c');
  });

  it('lets --help and --version win over missing or other flags', () => {
    expect(parseArgs(['--help']).kind).toBe('help');
    expect(parseArgs(['-h']).kind).toBe('help');
    expect(parseArgs(['--version']).kind).toBe('version');
    expect(parseArgs(['-c', 'f', '--version']).kind).toBe('version');
    expect(parseArgs(['--version', '--help']).kind).toBe('help');
  });

  it('still reports a bad flag next to --help', () => {
    expect(parseArgs(['--help', '--nope']).kind).toBe('error');
  });
});

describe('usage', () => {
  it('lists every flag the parser accepts', () => {
    const text = usage();
    for (const flag of [
      '-c, --config-path FILE',
      '--config-yaml YAML',
      '--mode serve|validate',
      '-l, --log-level LEVEL',
      '--drain-time-s SECONDS',
      '--parent-shutdown-time-s SECONDS',
      '--service-node NAME',
      '--service-cluster NAME',
      '--service-zone ZONE',
      '--allow-unknown-static-fields',
      '--admin-address-path FILE',
      '--base-id N',
      '--version',
      '-h, --help',
    ]) {
      expect(text).toContain(flag);
    }
  });
});

describe('commandLineOptionsJson', () => {
  it("renders the options in /server_info's command_line_options shape", () => {
    const j = commandLineOptionsJson(
      run([
        '-c',
        'b.yaml',
        '-l',
        'warn',
        '--drain-time-s',
        '30',
        '--service-node',
        'n',
        '--mode',
        'validate',
      ]),
    );
    expect(j).toMatchObject({
      config_path: 'b.yaml',
      config_yaml: '',
      log_level: 'warning',
      drain_time: '30s',
      parent_shutdown_time: '900s',
      service_node: 'n',
      service_cluster: '',
      mode: 'Validate',
      base_id: '0',
      allow_unknown_static_fields: false,
    });
  });
});
