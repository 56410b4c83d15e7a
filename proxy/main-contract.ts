/**
 * What the composition root (proxy/main.ts) offers to its two callers, the `remora` CLI and the
 * `npm start` demo. Written down here so that both can be built and tested against it; main.ts
 * exports functions of these types.
 */
import type { CliOptions } from './cli-options.js';
import type { Issues } from './config/issues.js';
import type { Lifecycle, ShutdownOutcome } from './lifecycle.js';

export interface StartHooks {
  /**
   * Called with the exit code once a shutdown (signal or /quitquitquit) has finished, or at once
   * with 128+N on a second signal. The CLI passes process.exit; in-process tests omit it.
   */
  readonly exit?: (code: number) => void;
  /** Install SIGTERM/SIGINT handlers (the CLI and the demo do; tests do not). */
  readonly handleSignals?: boolean;
}

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
}

export interface RunningProxy {
  /** The admin listener's bound address; undefined when the bootstrap has no admin. */
  readonly adminAddress: BoundAddress | undefined;
  readonly lifecycle: Lifecycle;
  /** Starts the graceful shutdown (the same as SIGTERM); resolves when it has finished. */
  shutdown(reason: string): Promise<ShutdownOutcome>;
}

/**
 * Loads the bootstrap (file and/or --config-yaml, with the --service-* overrides), builds
 * everything, binds listeners and admin. Rejects with a ConfigError (proxy/config/issues.ts)
 * before binding anything when the config is invalid.
 */
export type StartProxy = (opts: CliOptions, hooks?: StartHooks) => Promise<RunningProxy>;

/**
 * `--mode validate`: everything startProxy does short of binding a socket or resolving DNS.
 * Returns every problem found (errors and warnings), never throws for bad config.
 */
export type ValidateConfig = (opts: CliOptions) => Promise<Issues>;

export interface MainModule {
  readonly startProxy: StartProxy;
  readonly validateConfig: ValidateConfig;
}
