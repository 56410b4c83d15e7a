import { headerNameProblem } from '../config/header-validation.js';
import { type Issues, joinPath } from '../config/issues.js';
import type { ProtoObject } from '../config/proto-object.js';
import { re2Problem } from '../config/regex.js';
import {
  checkFields,
  has,
  readBool,
  readInt,
  readMessage,
  readMessages,
  readOneof,
  readString,
} from './proto-read.js';
import type {
  HeaderMatcherModel,
  HeaderMatchSpecModel,
  PathMatchModel,
  QueryParameterMatcherModel,
  RouteMatchModel,
  StringMatchModel,
} from './route-model.js';

/** envoy.type.matcher.v3.RegexMatcher → the validated RE2 pattern, or null. */
export function translateRegexMatcher(msg: ProtoObject, path: string, issues: Issues): string | null {
  // google_re2 is deprecated and has no effect; accepted so existing configs load.
  checkFields(msg, ['regex', 'google_re2'], path, issues);
  if (!has(msg, 'regex')) {
    issues.error(joinPath(path, 'regex'), 'is required');
    return null;
  }
  const regex = readString(msg, 'regex', path, issues);
  const problem = re2Problem(regex);
  if (problem !== null) {
    issues.error(joinPath(path, 'regex'), problem);
    return null;
  }
  return regex;
}

const STRING_KINDS = ['exact', 'prefix', 'suffix', 'contains', 'safe_regex'] as const;

/** envoy.type.matcher.v3.StringMatcher. */
export function translateStringMatcher(
  msg: ProtoObject,
  path: string,
  issues: Issues,
): StringMatchModel | null {
  checkFields(msg, [...STRING_KINDS, 'ignore_case'], path, issues);
  const kind = readOneof(
    msg,
    STRING_KINDS,
    path,
    issues,
    'one of exact, prefix, suffix, contains, safe_regex is required',
  );
  if (kind === null) return null;
  if (kind === 'safe_regex') {
    const re = readMessage(msg, kind, path, issues);
    const regex = re === null ? null : translateRegexMatcher(re, joinPath(path, kind), issues);
    return regex === null ? null : { kind: 'regex', regex };
  }
  const value = readString(msg, kind, path, issues);
  if (kind !== 'exact' && value === '') {
    issues.error(joinPath(path, kind), 'must not be empty');
    return null;
  }
  return {
    kind: kind as 'exact' | 'prefix' | 'suffix' | 'contains',
    value,
    ignoreCase: readBool(msg, 'ignore_case', path, issues, false),
  };
}

const HEADER_SPECS = [
  'exact_match',
  'safe_regex_match',
  'range_match',
  'present_match',
  'prefix_match',
  'suffix_match',
  'contains_match',
  'string_match',
] as const;

/** envoy.config.route.v3.HeaderMatcher. */
export function translateHeaderMatcher(
  msg: ProtoObject,
  path: string,
  issues: Issues,
): HeaderMatcherModel | null {
  checkFields(msg, ['name', ...HEADER_SPECS, 'invert_match', 'treat_missing_header_as_empty'], path, issues);
  const name = readString(msg, 'name', path, issues).toLowerCase();
  const nameProblem = headerNameProblem(name, true);
  if (nameProblem !== null) issues.error(joinPath(path, 'name'), nameProblem);
  const which = readOneof(msg, HEADER_SPECS, path, issues, null);
  let spec: HeaderMatchSpecModel | null;
  const p = which === null ? path : joinPath(path, which);
  switch (which) {
    case null:
      // No specifier: Envoy checks presence.
      spec = { kind: 'present', present: true };
      break;
    case 'present_match':
      spec = { kind: 'present', present: readBool(msg, which, path, issues, true) };
      break;
    case 'range_match': {
      const r = readMessage(msg, which, path, issues);
      if (r === null) {
        spec = null;
        break;
      }
      checkFields(r, ['start', 'end'], p, issues);
      const start = readInt(r, 'start', p, issues, 0);
      const end = readInt(r, 'end', p, issues, 0);
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end))
        issues.error(p, 'range bounds must be within ±2^53');
      spec = { kind: 'range', start, end };
      break;
    }
    case 'safe_regex_match': {
      const re = readMessage(msg, which, path, issues);
      const regex = re === null ? null : translateRegexMatcher(re, p, issues);
      spec = regex === null ? null : { kind: 'string', match: { kind: 'regex', regex } };
      break;
    }
    case 'string_match': {
      const sm = readMessage(msg, which, path, issues);
      const match = sm === null ? null : translateStringMatcher(sm, p, issues);
      spec = match === null ? null : { kind: 'string', match };
      break;
    }
    default: {
      const value = readString(msg, which, path, issues);
      const kind =
        which === 'exact_match'
          ? 'exact'
          : (which.slice(0, which.indexOf('_')) as 'prefix' | 'suffix' | 'contains');
      if (kind !== 'exact' && value === '') {
        issues.error(p, 'must not be empty');
        spec = null;
      } else {
        spec = { kind: 'string', match: { kind, value, ignoreCase: false } };
      }
    }
  }
  if (spec === null || nameProblem !== null) return null;
  return {
    name,
    spec,
    invert: readBool(msg, 'invert_match', path, issues, false),
    treatMissingAsEmpty: readBool(msg, 'treat_missing_header_as_empty', path, issues, false),
  };
}

/** envoy.config.route.v3.QueryParameterMatcher. */
export function translateQueryParameterMatcher(
  msg: ProtoObject,
  path: string,
  issues: Issues,
): QueryParameterMatcherModel | null {
  checkFields(msg, ['name', 'string_match', 'present_match'], path, issues);
  const name = readString(msg, 'name', path, issues);
  if (name === '' || name.length > 1024) {
    issues.error(joinPath(path, 'name'), 'must be 1 to 1024 characters');
    return null;
  }
  const which = readOneof(msg, ['string_match', 'present_match'], path, issues, null);
  if (which === 'string_match') {
    const sm = readMessage(msg, which, path, issues);
    const match = sm === null ? null : translateStringMatcher(sm, joinPath(path, which), issues);
    return match === null ? null : { name, match };
  }
  if (which === 'present_match') readBool(msg, which, path, issues, true);
  return { name, match: null };
}

const PATH_SPECS = ['prefix', 'path', 'safe_regex', 'path_separated_prefix'] as const;

/** envoy.config.route.v3.RouteMatch. */
export function translateRouteMatch(msg: ProtoObject, path: string, issues: Issues): RouteMatchModel | null {
  checkFields(msg, [...PATH_SPECS, 'case_sensitive', 'headers', 'query_parameters', 'grpc'], path, issues);
  const which = readOneof(
    msg,
    PATH_SPECS,
    path,
    issues,
    'one of prefix, path, safe_regex, path_separated_prefix is required',
  );
  let pathMatch: PathMatchModel | null = null;
  if (which === 'safe_regex') {
    const re = readMessage(msg, which, path, issues);
    const regex = re === null ? null : translateRegexMatcher(re, joinPath(path, which), issues);
    if (regex !== null) pathMatch = { kind: 'regex', regex };
  } else if (which !== null) {
    const value = readString(msg, which, path, issues);
    if (which === 'path_separated_prefix' && !/^[^?#]+[^?#/]$/.test(value)) {
      issues.error(
        joinPath(path, which),
        'must not contain ? or #, must not end in /, and must be at least 2 characters',
      );
    } else if (/[\0\r\n]/.test(value)) {
      issues.error(joinPath(path, which), 'must not contain CR, LF or NUL');
    } else {
      pathMatch = { kind: which as 'prefix' | 'path' | 'path_separated_prefix', value };
    }
  }
  const headers: HeaderMatcherModel[] = [];
  for (const [h, p] of readMessages(msg, 'headers', path, issues)) {
    const m = translateHeaderMatcher(h, p, issues);
    if (m !== null) headers.push(m);
  }
  const queryParameters: QueryParameterMatcherModel[] = [];
  for (const [q, p] of readMessages(msg, 'query_parameters', path, issues)) {
    const m = translateQueryParameterMatcher(q, p, issues);
    if (m !== null) queryParameters.push(m);
  }
  const grpc = readMessage(msg, 'grpc', path, issues);
  if (grpc !== null) checkFields(grpc, [], joinPath(path, 'grpc'), issues);
  if (pathMatch === null) return null;
  return {
    path: pathMatch,
    caseSensitive: readBool(msg, 'case_sensitive', path, issues, true),
    headers,
    queryParameters,
    grpc: grpc !== null,
  };
}
