/**
 * Command-line parsing for the `remora` binary. The flags are Envoy's (same names, same meaning,
 * same defaults) for the subset remora implements, so an Envoy command line runs unchanged when it
 * only uses those. Hand-rolled on purpose: the grammar is small and a dependency would bring its
 * own ideas about `--no-x`, abbreviations and positional arguments, none of which Envoy has.
 *
 * Accepted forms: `--name value`, `--name=value`, `-c value`, `-l value`. A flag given twice is an
 * error (as in Envoy), and so is anything positional.
 */

/** Envoy's log level names (spdlog); `warn` is accepted as an alias of `warning`. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warning' | 'error' | 'critical' | 'off';

export const LOG_LEVELS: readonly LogLevel[] = [
  'trace',
  'debug',
  'info',
  'warning',
  'error',
  'critical',
  'off',
];

/** pino's name for each Envoy level (pino has no `critical` and calls `off` `silent`). */
export type PinoLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export function pinoLevelOf(level: LogLevel): PinoLevel {
  switch (level) {
    case 'warning':
      return 'warn';
    case 'critical':
      return 'fatal';
    case 'off':
      return 'silent';
    default:
      return level;
  }
}

/** Parses an Envoy level name (also used by the admin `/logging?level=` endpoint). */
export function parseLogLevel(s: string): LogLevel | undefined {
  if (s === 'warn') return 'warning';
  return (LOG_LEVELS as readonly string[]).includes(s) ? (s as LogLevel) : undefined;
}

export type Mode = 'serve' | 'validate';

export interface CliOptions {
  /** `-c`/`--config-path`: the bootstrap file (.yaml, .yml or .json). */
  readonly configPath: string | undefined;
  /** `--config-yaml`: a bootstrap in YAML (or JSON); merged over the file when both are given. */
  readonly configYaml: string | undefined;
  readonly mode: Mode;
  readonly logLevel: LogLevel;
  /** `--drain-time-s`, in seconds: how long a shutdown waits for connections to finish. */
  readonly drainTimeS: number;
  /** `--parent-shutdown-time-s`: accepted for command-line compatibility; remora has no hot restart. */
  readonly parentShutdownTimeS: number;
  /** `--service-node`, `--service-cluster`, `--service-zone`: override node.id, node.cluster, node.locality.zone. */
  readonly serviceNode: string | undefined;
  readonly serviceCluster: string | undefined;
  readonly serviceZone: string | undefined;
  /** `--allow-unknown-static-fields`: unknown bootstrap fields become warnings instead of errors. */
  readonly allowUnknownStaticFields: boolean;
  /** `--admin-address-path`: where to write the admin listener's bound address once it listens. */
  readonly adminAddressPath: string | undefined;
  /**
   * `--xds-snapshot-path` (remora only, no Envoy equivalent): persist the last accepted xDS
   * resources to this file and serve them when the control plane is unreachable at startup.
   */
  readonly xdsSnapshotPath: string | undefined;
  /** `--base-id`: accepted for command-line compatibility; remora has no shared memory regions. */
  readonly baseId: number;
  /** Notes about accepted-but-inert flags, for the caller to log once logging is set up. */
  readonly warnings: readonly string[];
}

export const DEFAULT_OPTIONS: CliOptions = {
  configPath: undefined,
  configYaml: undefined,
  mode: 'serve',
  logLevel: 'info',
  drainTimeS: 600,
  parentShutdownTimeS: 900,
  serviceNode: undefined,
  serviceCluster: undefined,
  serviceZone: undefined,
  allowUnknownStaticFields: false,
  adminAddressPath: undefined,
  xdsSnapshotPath: undefined,
  baseId: 0,
  warnings: [],
};

export type ParseResult =
  | { readonly kind: 'run'; readonly options: CliOptions }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'error'; readonly message: string };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface FlagSpec {
  readonly long: string;
  readonly short?: string;
  /** A value-taking flag; the argument text is the value's name in usage. */
  readonly arg?: string;
  readonly help: string;
  readonly apply: (o: Mutable<CliOptions>, value: string) => string | undefined;
}

/** A non-negative whole number of seconds that fits Envoy's uint32. */
function parseUint32(flag: string, value: string): number | string {
  if (!/^[0-9]+$/.test(value)) return `${flag}: expected a non-negative integer, got '${value}'`;
  const n = Number(value);
  if (n > 0xffffffff) return `${flag}: ${value} is out of range (at most 4294967295)`;
  return n;
}

const FLAGS: readonly FlagSpec[] = [
  {
    long: 'config-path',
    short: 'c',
    arg: 'FILE',
    help: 'Path to the v3 bootstrap file (YAML or JSON).',
    apply: (o, v) => {
      if (v === '') return '--config-path: must not be empty';
      o.configPath = v;
      return undefined;
    },
  },
  {
    long: 'config-yaml',
    arg: 'YAML',
    help: 'A v3 bootstrap as a YAML (or JSON) string; merged over --config-path when both are set.',
    apply: (o, v) => {
      o.configYaml = v;
      return undefined;
    },
  },
  {
    long: 'mode',
    arg: 'serve|validate',
    help: 'serve (default): run the proxy. validate: check the config, print every problem, exit 0 or 1.',
    apply: (o, v) => {
      if (v !== 'serve' && v !== 'validate') return `--mode: expected 'serve' or 'validate', got '${v}'`;
      o.mode = v;
      return undefined;
    },
  },
  {
    long: 'log-level',
    short: 'l',
    arg: 'LEVEL',
    help: 'trace, debug, info (default), warning (or warn), error, critical, off.',
    apply: (o, v) => {
      const level = parseLogLevel(v);
      if (level === undefined)
        return `--log-level: unknown level '${v}' (expected one of ${LOG_LEVELS.join(', ')})`;
      o.logLevel = level;
      return undefined;
    },
  },
  {
    long: 'drain-time-s',
    arg: 'SECONDS',
    help: 'On SIGTERM/SIGINT or /quitquitquit, how long to wait for connections to finish (default 600).',
    apply: (o, v) => {
      const n = parseUint32('--drain-time-s', v);
      if (typeof n === 'string') return n;
      o.drainTimeS = n;
      return undefined;
    },
  },
  {
    long: 'parent-shutdown-time-s',
    arg: 'SECONDS',
    help: 'Accepted for compatibility; remora has no hot restart, so it has no effect.',
    apply: (o, v) => {
      const n = parseUint32('--parent-shutdown-time-s', v);
      if (typeof n === 'string') return n;
      o.parentShutdownTimeS = n;
      o.warnings = [...o.warnings, '--parent-shutdown-time-s has no effect: remora has no hot restart'];
      return undefined;
    },
  },
  {
    long: 'service-node',
    arg: 'NAME',
    help: 'Overrides node.id from the bootstrap.',
    apply: (o, v) => {
      o.serviceNode = v;
      return undefined;
    },
  },
  {
    long: 'service-cluster',
    arg: 'NAME',
    help: 'Overrides node.cluster from the bootstrap.',
    apply: (o, v) => {
      o.serviceCluster = v;
      return undefined;
    },
  },
  {
    long: 'service-zone',
    arg: 'ZONE',
    help: 'Overrides node.locality.zone from the bootstrap.',
    apply: (o, v) => {
      o.serviceZone = v;
      return undefined;
    },
  },
  {
    long: 'allow-unknown-static-fields',
    help: 'Unknown fields in the bootstrap are warnings instead of errors.',
    apply: (o) => {
      o.allowUnknownStaticFields = true;
      return undefined;
    },
  },
  {
    long: 'admin-address-path',
    arg: 'FILE',
    help: "Write the admin listener's bound address (host:port) to FILE once it listens.",
    apply: (o, v) => {
      if (v === '') return '--admin-address-path: must not be empty';
      o.adminAddressPath = v;
      return undefined;
    },
  },
  {
    long: 'xds-snapshot-path',
    arg: 'FILE',
    help: 'remora only: persist the last accepted xDS resources to FILE and serve them when the control plane is unreachable at startup.',
    apply: (o, v) => {
      if (v === '') return '--xds-snapshot-path: must not be empty';
      o.xdsSnapshotPath = v;
      return undefined;
    },
  },
  {
    long: 'base-id',
    arg: 'N',
    help: 'Accepted for compatibility; remora has no shared memory, so it has no effect.',
    apply: (o, v) => {
      const n = parseUint32('--base-id', v);
      if (typeof n === 'string') return n;
      o.baseId = n;
      o.warnings = [...o.warnings, '--base-id has no effect: remora has no hot restart shared memory'];
      return undefined;
    },
  },
];

const BY_LONG = new Map(FLAGS.map((f) => [f.long, f]));
const BY_SHORT = new Map(FLAGS.filter((f) => f.short !== undefined).map((f) => [f.short as string, f]));

/** Parses `argv` (without the node binary and script path). Never throws. */
export function parseArgs(argv: readonly string[]): ParseResult {
  const o: Mutable<CliOptions> = { ...DEFAULT_OPTIONS, warnings: [] };
  const seen = new Set<string>();
  let help = false;
  let version = false;

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      help = true;
      continue;
    }
    if (a === '--version') {
      version = true;
      continue;
    }

    let spec: FlagSpec | undefined;
    let inline: string | undefined;
    let shown: string;
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
      spec = BY_LONG.get(name);
      shown = `--${name}`;
    } else if (a.length === 2 && a[0] === '-' && a[1] !== '-') {
      spec = BY_SHORT.get(a[1]);
      shown = a;
    } else if (a === '--') {
      return argv.length > i + 1
        ? {
            kind: 'error',
            message: `unexpected argument '${argv[i + 1]}': remora takes no positional arguments`,
          }
        : finish(o, help, version);
    } else if (a.startsWith('-')) {
      return { kind: 'error', message: `unknown flag '${a}'` };
    } else {
      return { kind: 'error', message: `unexpected argument '${a}': remora takes no positional arguments` };
    }
    if (spec === undefined) return { kind: 'error', message: `unknown flag '${shown}'` };
    if (seen.has(spec.long)) return { kind: 'error', message: `--${spec.long} was given more than once` };
    seen.add(spec.long);

    let value = '';
    if (spec.arg !== undefined) {
      if (inline !== undefined) {
        value = inline;
      } else {
        if (i + 1 >= argv.length) return { kind: 'error', message: `${shown} needs a value (${spec.arg})` };
        value = argv[++i];
      }
    } else if (inline !== undefined) {
      return { kind: 'error', message: `--${spec.long} takes no value` };
    }
    const problem = spec.apply(o, value);
    if (problem !== undefined) return { kind: 'error', message: problem };
  }
  return finish(o, help, version);
}

function finish(o: Mutable<CliOptions>, help: boolean, version: boolean): ParseResult {
  // As in Envoy, --help and --version win over everything else (including a missing config).
  if (help) return { kind: 'help' };
  if (version) return { kind: 'version' };
  if (o.configPath === undefined && o.configYaml === undefined) {
    return { kind: 'error', message: 'at least one of --config-path (-c) or --config-yaml is required' };
  }
  return { kind: 'run', options: o };
}

/** The `--help` text: one line per flag, built from the same table the parser uses. */
export function usage(): string {
  const rows: [string, string][] = [];
  for (const f of FLAGS) {
    const names = f.short !== undefined ? `-${f.short}, --${f.long}` : `    --${f.long}`;
    rows.push([f.arg !== undefined ? `${names} ${f.arg}` : names, f.help]);
  }
  rows.push(['    --version', 'Print the version and exit.']);
  rows.push(['-h, --help', 'Print this help and exit.']);
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  const lines = rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`);
  return ['Usage: remora (-c FILE | --config-yaml YAML) [options]', '', 'Options:', ...lines, ''].join('\n');
}

/** A JSON value, as the admin's /server_info prints it. */
type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/**
 * The options as Envoy's admin `/server_info` shows them (`command_line_options`, the
 * envoy.admin.v3.CommandLineOptions message in proto3 JSON with proto field names: durations as
 * "600s", uint64 as strings, enums by name). Fields remora has no equivalent for carry Envoy's
 * defaults so that tools reading them find the shape they expect.
 */
export function commandLineOptionsJson(o: CliOptions): { [k: string]: Json } {
  return {
    base_id: String(o.baseId),
    use_dynamic_base_id: false,
    concurrency: 1,
    config_path: o.configPath ?? '',
    config_yaml: o.configYaml ?? '',
    allow_unknown_static_fields: o.allowUnknownStaticFields,
    reject_unknown_dynamic_fields: false,
    admin_address_path: o.adminAddressPath ?? '',
    xds_snapshot_path: o.xdsSnapshotPath ?? '',
    local_address_ip_version: 'v4',
    log_level: o.logLevel,
    component_log_level: '',
    log_format: '',
    log_path: '',
    service_cluster: o.serviceCluster ?? '',
    service_node: o.serviceNode ?? '',
    service_zone: o.serviceZone ?? '',
    drain_strategy: 'Immediate',
    drain_time: `${o.drainTimeS}s`,
    parent_shutdown_time: `${o.parentShutdownTimeS}s`,
    mode: o.mode === 'validate' ? 'Validate' : 'Serve',
    disable_hot_restart: true,
    restart_epoch: 0,
  };
}
