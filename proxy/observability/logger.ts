import { pino } from 'pino';

/**
 * remora's logger: pino, JSON lines on stderr, with Envoy's level names on the outside
 * (`--log-level`, `POST /logging?level=`) and pino's inside.
 *
 * Components get their own child logger (`log.component('upstream')`). pino children copy their
 * parent's level when created and are independent afterwards, so the registry keeps every child it
 * hands out and a runtime level change walks them all; otherwise `/logging?level=debug` would only
 * reach loggers created after the call.
 */

/** Envoy's level names, as `--log-level` and the admin accept them. */
export const ENVOY_LOG_LEVELS = [
  'trace',
  'debug',
  'info',
  'warning',
  'warn',
  'error',
  'critical',
  'off',
] as const;
export type EnvoyLogLevel = (typeof ENVOY_LOG_LEVELS)[number];

type PinoLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

const TO_PINO: Readonly<Record<EnvoyLogLevel, PinoLevel>> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warning: 'warn',
  warn: 'warn',
  error: 'error',
  critical: 'fatal',
  off: 'silent',
};

const FROM_PINO: Readonly<Record<PinoLevel, string>> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warning',
  error: 'error',
  fatal: 'critical',
  silent: 'off',
};

export type Logger = pino.Logger;

export function isEnvoyLogLevel(s: string): s is EnvoyLogLevel {
  return (ENVOY_LOG_LEVELS as readonly string[]).includes(s);
}

/** Envoy level name → pino level name; undefined for a name Envoy does not have. */
export function toPinoLevel(level: string): PinoLevel | undefined {
  return isEnvoyLogLevel(level) ? TO_PINO[level] : undefined;
}

/** pino level name → the Envoy name printed by /logging (`warn` → `warning`, `fatal` → `critical`). */
export function toEnvoyLevel(level: string): string {
  return FROM_PINO[level as PinoLevel] ?? level;
}

export interface LoggerOptions {
  /** Envoy level name; default `info`. */
  readonly level?: EnvoyLogLevel;
  /**
   * Where JSON lines go. Default: stderr (fd 2), written synchronously so that a crash does not
   * lose the last lines; logging on the request path happens only at debug/trace.
   */
  readonly destination?: pino.DestinationStream;
  /** Fields on every line (e.g. service node). */
  readonly base?: Readonly<Record<string, unknown>>;
}

export class LogRegistry {
  readonly root: Logger;
  private readonly components = new Map<string, Logger>();

  constructor(opts: LoggerOptions = {}) {
    const level = TO_PINO[opts.level ?? 'info'];
    this.root = pino(
      {
        level,
        base: { pid: process.pid, ...(opts.base ?? {}) },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      opts.destination ?? pino.destination({ dest: 2, sync: true }),
    );
  }

  /** The logger for one component (`admin`, `upstream`, `http`, ...), created once and kept. */
  component(name: string): Logger {
    let l = this.components.get(name);
    if (l === undefined) {
      l = this.root.child({ component: name });
      this.components.set(name, l);
    }
    return l;
  }

  /** Sets every logger (root and components) to an Envoy level; false for an unknown level name. */
  setLevel(level: string): boolean {
    const p = toPinoLevel(level);
    if (p === undefined) return false;
    this.root.level = p;
    for (const l of this.components.values()) l.level = p;
    return true;
  }

  /** Sets one component's level; false if the component or the level is unknown. */
  setComponentLevel(name: string, level: string): boolean {
    const p = toPinoLevel(level);
    const l = this.components.get(name);
    if (p === undefined || l === undefined) return false;
    l.level = p;
    return true;
  }

  /** The root level under its Envoy name. */
  get level(): string {
    return toEnvoyLevel(this.root.level);
  }

  /** `[name, Envoy level]` for every component, sorted by name, as /logging lists them. */
  levels(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [name, l] of this.components) out.push([name, toEnvoyLevel(l.level)]);
    out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return out;
  }

  /** Flushes buffered output (a no-op for the default synchronous destination). */
  flush(): void {
    this.root.flush();
  }
}

/** Convenience for callers that want one logger and no registry. */
export function createLogger(opts: LoggerOptions = {}): LogRegistry {
  return new LogRegistry(opts);
}
