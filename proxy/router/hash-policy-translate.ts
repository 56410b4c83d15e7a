import { headerNameProblem } from '../config/header-validation.js';
import { type Issues, joinPath } from '../config/issues.js';
import type { ProtoObject } from '../config/proto-object.js';
import type { HashPolicyModel } from './hash-policy-model.js';
import {
  checkFields,
  has,
  headerValueLike,
  readBool,
  readDurationMs,
  readMessage,
  readMessages,
  readOneof,
  readString,
} from './proto-read.js';
import { translateRegexRewrite } from './translate-action.js';

const POLICY_FIELDS = [
  'header',
  'cookie',
  'connection_properties',
  'query_parameter',
  'filter_state',
  'terminal',
];
const SPECIFIERS = ['header', 'cookie', 'connection_properties', 'query_parameter', 'filter_state'];
/** Pseudo-headers a header hash policy may name (what the router has of the request line). */
const PSEUDO = new Set([':authority', ':path', ':method', ':scheme']);

/** envoy.config.route.v3.RouteAction.hash_policy → models; bad entries are reported and dropped. */
export function translateHashPolicies(action: ProtoObject, path: string, issues: Issues): HashPolicyModel[] {
  const out: HashPolicyModel[] = [];
  for (const [msg, p] of readMessages(action, 'hash_policy', path, issues)) {
    const m = translateOne(msg, p, issues);
    if (m !== null) out.push(m);
  }
  return out;
}

function translateOne(msg: ProtoObject, path: string, issues: Issues): HashPolicyModel | null {
  checkFields(msg, POLICY_FIELDS, path, issues);
  const terminal = readBool(msg, 'terminal', path, issues, false);
  const which = readOneof(
    msg,
    SPECIFIERS,
    path,
    issues,
    'one of header, cookie, connection_properties, query_parameter, filter_state is required',
  );
  if (which === null) return null;
  const sp = joinPath(path, which);
  const body = readMessage(msg, which, path, issues);
  if (body === null) return null;
  switch (which) {
    case 'header': {
      checkFields(body, ['header_name', 'regex_rewrite'], sp, issues);
      const header = readString(body, 'header_name', sp, issues).toLowerCase();
      if (!PSEUDO.has(header)) {
        const problem = headerNameProblem(header, true);
        if (problem !== null) {
          issues.error(joinPath(sp, 'header_name'), problem);
          return null;
        }
      }
      const rr = readMessage(body, 'regex_rewrite', sp, issues);
      const regexRewrite =
        rr === null ? null : translateRegexRewrite(rr, joinPath(sp, 'regex_rewrite'), issues);
      if (rr !== null && regexRewrite === null) return null;
      return { kind: 'header', header, regexRewrite, terminal };
    }
    case 'cookie': {
      checkFields(body, ['name', 'ttl', 'path'], sp, issues);
      const name = readString(body, 'name', sp, issues);
      if (name === '' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
        issues.error(joinPath(sp, 'name'), 'must be a non-empty cookie name (an HTTP token)');
        return null;
      }
      const cookiePath = readString(body, 'path', sp, issues);
      if (!headerValueLike(cookiePath) || cookiePath.includes(';')) {
        issues.error(joinPath(sp, 'path'), 'must not contain CR, LF, NUL or ";"');
        return null;
      }
      let ttlSeconds: number | null = null;
      if (has(body, 'ttl')) {
        const ms = readDurationMs(body, 'ttl', sp, issues, 0);
        if (ms < 0) {
          issues.error(joinPath(sp, 'ttl'), 'must not be negative');
          return null;
        }
        // Max-Age is in whole seconds (Envoy truncates the duration the same way).
        ttlSeconds = Math.floor(ms / 1000);
      }
      return { kind: 'cookie', name, ttlSeconds, path: cookiePath, terminal };
    }
    case 'connection_properties': {
      checkFields(body, ['source_ip'], sp, issues);
      if (!readBool(body, 'source_ip', sp, issues, false)) {
        // Envoy builds a policy that never yields a hash; say so rather than carry a no-op.
        issues.warn(joinPath(sp, 'source_ip'), 'is false: this hash policy never produces a hash');
        return null;
      }
      return { kind: 'source_ip', terminal };
    }
    case 'query_parameter': {
      checkFields(body, ['name'], sp, issues);
      const name = readString(body, 'name', sp, issues);
      if (name === '') {
        issues.error(joinPath(sp, 'name'), 'is required');
        return null;
      }
      return { kind: 'query_parameter', name, terminal };
    }
    default:
      issues.error(sp, 'filter_state hash policies are not supported by remora');
      return null;
  }
}
