/**
 * Config validation results. Every translator (bootstrap or xDS) reports problems here with the
 * field path (e.g. `static_resources.clusters[2].connect_timeout`) instead of throwing on the
 * first one, so that an operator sees every mistake at once and an xDS NACK carries them all.
 */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  /** Warnings are printed but do not reject the config (e.g. unknown fields when downgraded). */
  readonly severity: 'error' | 'warning';
}

export class Issues {
  readonly list: ConfigIssue[] = [];

  error(path: string, message: string): void {
    this.list.push({ path, message, severity: 'error' });
  }

  warn(path: string, message: string): void {
    this.list.push({ path, message, severity: 'warning' });
  }

  get errorCount(): number {
    let n = 0;
    for (const i of this.list) if (i.severity === 'error') n++;
    return n;
  }

  get ok(): boolean {
    return this.errorCount === 0;
  }

  /** One line per issue, as printed by `--mode validate` and sent as an xDS NACK error_detail. */
  format(): string {
    return this.list
      .map((i) => `${i.severity === 'error' ? 'error' : 'warning'}: ${i.path}: ${i.message}`)
      .join('\n');
  }

  throwIfErrors(what: string): void {
    if (!this.ok) throw new ConfigError(what, this);
  }
}

export class ConfigError extends Error {
  constructor(
    what: string,
    readonly issues: Issues,
  ) {
    super(`${what} is invalid:\n${issues.format()}`);
    this.name = 'ConfigError';
  }
}

/** Appends a field or index to a config path: `joinPath('a', 'b')` → `a.b`, `joinPath('a', 3)` → `a[3]`. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base === '' ? key : `${base}.${key}`;
}
