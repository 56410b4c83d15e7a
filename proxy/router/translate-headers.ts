import { headerNameProblem, headerValueProblem } from '../config/header-validation.js';
import { type Issues, joinPath } from '../config/issues.js';
import type { ProtoObject } from '../config/proto-object.js';
import {
  checkFields,
  has,
  readBool,
  readMessage,
  readMessages,
  readString,
  readStrings,
} from './proto-read.js';
import type { AppendAction, HeaderAddModel, HeaderLevelModel } from './route-model.js';

/**
 * Header add/remove lists (HeaderValueOption and *_headers_to_remove) at route configuration,
 * virtual host, route and weighted cluster level. Values are literals: Envoy's substitution
 * formatters need per-request stream info that the route table does not see, so a `%COMMAND%` is
 * rejected here (sending it literally would surprise more than an error does); `%%` is a '%'.
 */

const APPEND_ACTIONS: Record<string, AppendAction> = {
  APPEND_IF_EXISTS_OR_ADD: 'append',
  ADD_IF_ABSENT: 'add_if_absent',
  OVERWRITE_IF_EXISTS_OR_ADD: 'overwrite',
  OVERWRITE_IF_EXISTS: 'overwrite_if_exists',
};

/** Resolves `%%` and rejects formatter commands; returns null after reporting a problem. */
export function literalHeaderValue(raw: string, path: string, issues: Issues): string | null {
  if (!raw.includes('%')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    if (raw[i + 1] === '%') {
      out += '%';
      i++;
      continue;
    }
    const m = /^%([A-Z0-9_]+)(\([^)]*\))?(:\d+)?%/.exec(raw.slice(i));
    if (m !== null) {
      issues.error(
        path,
        `header value formatter %${m[1]}${m[2] ?? ''}% is not supported by remora (only literal text and %% are)`,
      );
    } else {
      issues.error(
        path,
        `invalid header value ${JSON.stringify(raw)}: unterminated or malformed % expression (use %% for a literal %)`,
      );
    }
    return null;
  }
  return out;
}

function modifiableName(
  raw: string,
  path: string,
  issues: Issues,
  verb: 'modified' | 'removed',
): string | null {
  const name = raw.toLowerCase();
  const problem = headerNameProblem(name, true);
  if (problem !== null) {
    issues.error(path, problem);
    return null;
  }
  if (name.startsWith(':') || name === 'host') {
    issues.error(path, `:-prefixed or host headers may not be ${verb}`);
    return null;
  }
  return name;
}

export function translateHeaderValueOption(
  opt: ProtoObject,
  path: string,
  issues: Issues,
): HeaderAddModel | null {
  checkFields(opt, ['header', 'append', 'append_action', 'keep_empty_value'], path, issues);
  const header = readMessage(opt, 'header', path, issues);
  if (header === null) {
    issues.error(joinPath(path, 'header'), 'is required');
    return null;
  }
  const hp = joinPath(path, 'header');
  checkFields(header, ['key', 'value'], hp, issues);
  const name = modifiableName(readString(header, 'key', hp, issues), joinPath(hp, 'key'), issues, 'modified');
  const rawValue = readString(header, 'value', hp, issues);
  const valueProblem = headerValueProblem(rawValue);
  if (valueProblem !== null) {
    issues.error(joinPath(hp, 'value'), valueProblem);
    return null;
  }
  const value = literalHeaderValue(rawValue, joinPath(hp, 'value'), issues);
  let action: AppendAction = 'append';
  const actionName = readString(opt, 'append_action', path, issues, 'APPEND_IF_EXISTS_OR_ADD');
  const mapped = APPEND_ACTIONS[actionName];
  if (mapped === undefined)
    issues.error(joinPath(path, 'append_action'), `unknown append_action ${actionName}`);
  else action = mapped;
  if (has(opt, 'append')) {
    if (actionName !== 'APPEND_IF_EXISTS_OR_ADD') {
      issues.error(path, "both append and append_action are set and it's not allowed");
    }
    action = readBool(opt, 'append', path, issues, true) ? 'append' : 'overwrite';
  }
  const keepEmpty = readBool(opt, 'keep_empty_value', path, issues, false);
  if (name === null || value === null) return null;
  // Envoy drops an addition whose value is empty unless keep_empty_value is set.
  if (value === '' && !keepEmpty) return null;
  return { name, value, action };
}

/** Reads `<prefix>_headers_to_add` / `<prefix>_headers_to_remove` of a message into one level. */
export function translateHeaderLevel(
  msg: ProtoObject,
  prefix: 'request' | 'response',
  path: string,
  issues: Issues,
): HeaderLevelModel {
  const add: HeaderAddModel[] = [];
  for (const [opt, p] of readMessages(msg, `${prefix}_headers_to_add`, path, issues)) {
    const a = translateHeaderValueOption(opt, p, issues);
    if (a !== null) add.push(a);
  }
  const remove: string[] = [];
  for (const [raw, p] of readStrings(msg, `${prefix}_headers_to_remove`, path, issues)) {
    const name = modifiableName(raw, p, issues, 'removed');
    if (name !== null) remove.push(name);
  }
  return { add, remove };
}
