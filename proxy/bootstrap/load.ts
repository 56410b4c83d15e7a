/**
 * loadBootstrap: from `-c/--config-path` and/or `--config-yaml` to a Bootstrap, or to the complete
 * list of what is wrong. Steps: read and parse each source, decode each strictly as
 * envoy.config.bootstrap.v3.Bootstrap (proto3 JSON rules, remora's protos), merge --config-yaml
 * over the file (protobuf MergeFrom semantics, see merge.ts), then build the model.
 *
 * Nothing here binds, resolves or opens anything but the config file, so `--mode validate` and
 * startup share it, and bad config is reported before any port is bound.
 */
import { Issues } from '../config/issues.js';
import { decodeJsonMessage } from '../config/json-decode.js';
import type { ProtoObject } from '../config/proto-object.js';
import { lookupType } from '../config/schema.js';
import { type Bootstrap, buildBootstrap } from './bootstrap.js';
import { mergeProto } from './merge.js';
import { parseConfigText, readConfigFile } from './source.js';

export const BOOTSTRAP_TYPE = 'envoy.config.bootstrap.v3.Bootstrap';

export interface LoadBootstrapOptions {
  /** `-c` / `--config-path`: a .yaml/.yml (YAML), .json (JSON) or other (JSON, else YAML) file. */
  readonly configPath?: string;
  /** `--config-yaml`: YAML (or JSON) merged over the file. */
  readonly configYaml?: string;
  /** `--allow-unknown-static-fields`: fields remora does not know become warnings. */
  readonly allowUnknownFields?: boolean;
}

export interface LoadedBootstrap {
  /** null when there is any error; `issues` then says everything that is wrong. */
  readonly bootstrap: Bootstrap | null;
  /** Errors and warnings; warnings (e.g. downgraded unknown fields) do not stop the load. */
  readonly issues: Issues;
}

/** Label used in locations and messages for the --config-yaml source. */
export const CONFIG_YAML_SOURCE = '--config-yaml';

export function loadBootstrap(opts: LoadBootstrapOptions): LoadedBootstrap {
  const issues = new Issues();
  if (opts.configPath === undefined && opts.configYaml === undefined) {
    issues.error('', 'no bootstrap given: set --config-path (-c) or --config-yaml');
    return { bootstrap: null, issues };
  }
  const decodeOptions = { allowUnknownFields: opts.allowUnknownFields === true };
  let merged: ProtoObject | undefined;
  let failed = false;

  if (opts.configPath !== undefined) {
    const raw = readConfigFile(opts.configPath, issues);
    if (raw === undefined) failed = true;
    else {
      const before = issues.errorCount;
      merged = decodeJsonMessage(BOOTSTRAP_TYPE, raw, issues, '', decodeOptions) ?? undefined;
      failed ||= issues.errorCount > before;
    }
  }

  if (opts.configYaml !== undefined) {
    // Decoded into its own collector so every issue can say it came from the flag, not the file.
    const own = new Issues();
    const raw = parseConfigText(opts.configYaml, CONFIG_YAML_SOURCE, 'yaml', own);
    const over = raw === undefined ? null : decodeJsonMessage(BOOTSTRAP_TYPE, raw, own, '', decodeOptions);
    for (const i of own.list) {
      const message = i.path.startsWith(CONFIG_YAML_SOURCE)
        ? i.message
        : `${i.message} (in ${CONFIG_YAML_SOURCE})`;
      if (i.severity === 'error') issues.error(i.path, message);
      else issues.warn(i.path, message);
    }
    if (!own.ok || over === null) failed = true;
    else merged = merged === undefined ? over : mergeProto(lookupType(BOOTSTRAP_TYPE), merged, over);
  }

  if (failed || merged === undefined) return { bootstrap: null, issues };
  const bootstrap = buildBootstrap(merged, issues);
  return { bootstrap: issues.ok ? bootstrap : null, issues };
}
