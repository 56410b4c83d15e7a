import { type Issues, joinPath } from '../config/issues.js';
import { type ProtoObject, typeNameOf, typeUrlOf } from '../config/proto-object.js';
import { isMessage } from './proto-read.js';

const FILTER_CONFIG = 'envoy.config.route.v3.FilterConfig';

/**
 * typed_per_filter_config (route configuration, virtual host, route, weighted cluster). No HTTP
 * filter takes per-route config yet, so every entry is an error, except a FilterConfig wrapper
 * marked is_optional, which Envoy itself ignores when the filter cannot use it (a warning here).
 * When a filter gains per-route config, its parser belongs here.
 */
export function translateTypedPerFilterConfig(msg: ProtoObject, path: string, issues: Issues): void {
  const map = msg.typed_per_filter_config;
  if (map === undefined || map === null) return;
  const mp = joinPath(path, 'typed_per_filter_config');
  if (!isMessage(map)) {
    issues.error(mp, 'must be a map of filter name to Any');
    return;
  }
  for (const name of Object.keys(map)) {
    const v = map[name];
    const p = `${mp}[${JSON.stringify(name)}]`;
    if (isMessage(v) && typeNameOf(typeUrlOf(v)) === FILTER_CONFIG && v.is_optional === true) {
      issues.warn(p, `optional per-route config for filter '${name}' ignored: not supported by remora`);
      continue;
    }
    issues.error(p, `per-route config for filter '${name}' is not supported by remora`);
  }
}
