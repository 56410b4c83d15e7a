import { isObject, rejectUnknown } from '../../../../config/fields.js';
import { type Issues, joinPath } from '../../../../config/issues.js';
import { type ProtoObject, typeNameOf, typeUrlOf } from '../../../../config/proto-object.js';
import type { HttpFilterFactory, StreamCallbacks } from '../../../../http/filter.js';
import { CookieSessionState } from './cookie-session-state.js';
import { StatefulSessionFilter } from './stateful-session-filter.js';

/** How a field remora does not implement is reported (tests match it). */
const NOT_SUPPORTED = 'field not supported by remora';

export const STATEFUL_SESSION_TYPE_URL =
  'type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSession';
const COOKIE_STATE_TYPE = 'envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState';

/** The parsed filter config: the session state, or null (no session_state: the filter does nothing). */
export interface StatefulSessionConfig {
  readonly state: CookieSessionState | null;
}

function parseCookieState(cfg: ProtoObject, path: string, issues: Issues): CookieSessionState | null {
  rejectUnknown(cfg, ['@type', 'cookie'], path, issues, NOT_SUPPORTED);
  const cookie = cfg.cookie;
  const cp = joinPath(path, 'cookie');
  if (!isObject(cookie)) {
    issues.error(cp, 'is required');
    return null;
  }
  rejectUnknown(cookie, ['name', 'ttl', 'path'], cp, issues, NOT_SUPPORTED);
  const name = cookie.name;
  if (typeof name !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    issues.error(joinPath(cp, 'name'), 'must be a non-empty cookie name (an HTTP token)');
    return null;
  }
  const ttl = cookie.ttl ?? 0;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0) {
    issues.error(joinPath(cp, 'ttl'), 'must be a non-negative duration');
    return null;
  }
  const p = cookie.path ?? '';
  if (typeof p !== 'string' || /[\0\r\n;]/.test(p)) {
    issues.error(joinPath(cp, 'path'), 'must be a string without CR, LF, NUL or ";"');
    return null;
  }
  return new CookieSessionState({ name, ttlSeconds: Math.floor(ttl / 1000), path: p });
}

export const statefulSessionFilterFactory: HttpFilterFactory<StatefulSessionConfig> = {
  name: 'envoy.filters.http.stateful_session',
  typeUrl: STATEFUL_SESSION_TYPE_URL,
  terminal: false,
  parseConfig(config: ProtoObject, path: string, issues: Issues): StatefulSessionConfig {
    rejectUnknown(config, ['@type', 'session_state', 'strict'], path, issues, NOT_SUPPORTED);
    if (config.strict === true) {
      // strict answers 503 when the pinned host is gone; remora always falls back to balancing.
      issues.error(
        joinPath(path, 'strict'),
        'strict mode is not supported by remora (it falls back to the load balancer)',
      );
    }
    const ss = config.session_state;
    if (ss === undefined || ss === null) return { state: null };
    const sp = joinPath(path, 'session_state');
    if (!isObject(ss)) {
      issues.error(sp, 'must be a message');
      return { state: null };
    }
    rejectUnknown(ss, ['name', 'typed_config'], sp, issues, NOT_SUPPORTED);
    const tc = ss.typed_config;
    const tp = joinPath(sp, 'typed_config');
    if (!isObject(tc)) {
      issues.error(tp, 'is required');
      return { state: null };
    }
    const t = typeNameOf(typeUrlOf(tc));
    if (t !== COOKIE_STATE_TYPE) {
      issues.error(
        joinPath(tp, '@type'),
        `unsupported session state ${t || '(none)'}; remora supports ${COOKIE_STATE_TYPE}`,
      );
      return { state: null };
    }
    return { state: parseCookieState(tc, tp, issues) };
  },
  create(config: StatefulSessionConfig, callbacks: StreamCallbacks): StatefulSessionFilter {
    return new StatefulSessionFilter(config.state, callbacks);
  },
};
