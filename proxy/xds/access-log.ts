import { readFileSync } from 'node:fs';
import { isObject } from '../config/fields.js';
import { type Issues, joinPath } from '../config/issues.js';
import { type ProtoObject, type ProtoValue, typeNameOf, typeUrlOf } from '../config/proto-object.js';
import { AccessLogger, type LineFormatter } from '../observability/access-log/access-logger.js';
import type { LineSink } from '../observability/access-log/file-sink.js';
import { type AccessLogFilter, compileAccessLogFilter } from '../observability/access-log/filters.js';
import { type JsonConfigValue, JsonFormatter } from '../observability/access-log/json-format.js';
import type { AccessLogOutputs } from '../observability/access-log/outputs.js';
import { DEFAULT_FORMAT, TextFormatter } from '../observability/access-log/text-format.js';

/**
 * envoy.config.accesslog.v3.AccessLog → AccessLogger. Supported typed_config types:
 * FileAccessLog (envoy.access_loggers.file), StdoutAccessLog and StderrAccessLog
 * (envoy.access_loggers.stdout / .stderr), with the filters in access-log/filters.ts. Formats and
 * filters are compiled here, on the control path; a bad operator is an error at its field path and
 * the result is null.
 */

export const FILE_ACCESS_LOG = 'envoy.extensions.access_loggers.file.v3.FileAccessLog';
export const STDOUT_ACCESS_LOG = 'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
export const STDERR_ACCESS_LOG = 'envoy.extensions.access_loggers.stream.v3.StderrAccessLog';

export interface AccessLogTranslateDeps {
  readonly outputs: AccessLogOutputs;
}

/** `access_log: [...]` of a connection manager or tcp_proxy. Entries with errors are left out. */
export function translateAccessLogs(
  list: ProtoValue | undefined,
  path: string,
  issues: Issues,
  deps: AccessLogTranslateDeps,
): AccessLogger[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    issues.error(path, 'must be a list of AccessLog');
    return [];
  }
  const out: AccessLogger[] = [];
  for (let i = 0; i < list.length; i++) {
    const p = joinPath(path, i);
    const item = list[i];
    if (!isObject(item)) {
      issues.error(p, 'must be an AccessLog object');
      continue;
    }
    const l = translateAccessLog(item, p, issues, deps);
    if (l !== null) out.push(l);
  }
  return out;
}

export function translateAccessLog(
  obj: ProtoObject,
  path: string,
  issues: Issues,
  deps: AccessLogTranslateDeps,
): AccessLogger | null {
  const before = issues.errorCount;
  const name = typeof obj.name === 'string' ? obj.name : '';
  let filter: AccessLogFilter | null = null;
  if (obj.filter !== undefined && obj.filter !== null) {
    filter = compileAccessLogFilter(obj.filter, joinPath(path, 'filter'), issues);
  }
  const tc = obj.typed_config;
  const tcPath = joinPath(path, 'typed_config');
  if (!isObject(tc)) {
    issues.error(tcPath, 'required: the access logger configuration (typed_config)');
    return null;
  }
  const type = typeNameOf(typeUrlOf(tc));
  let formatter: LineFormatter | null = null;
  let sink: LineSink | null = null;
  switch (type) {
    case FILE_ACCESS_LOG: {
      formatter = fileFormat(tc, tcPath, issues);
      const filePath = tc.path;
      if (typeof filePath !== 'string' || filePath === '') {
        issues.error(joinPath(tcPath, 'path'), 'required: a non-empty file path');
        break;
      }
      if (issues.errorCount > before) break;
      try {
        sink = deps.outputs.files.open(filePath);
      } catch (e) {
        issues.error(joinPath(tcPath, 'path'), `cannot open "${filePath}": ${(e as Error).message}`);
      }
      break;
    }
    case STDOUT_ACCESS_LOG:
    case STDERR_ACCESS_LOG:
      formatter = substitutionFormat(tc.log_format, joinPath(tcPath, 'log_format'), issues);
      if (issues.errorCount === before)
        sink = type === STDOUT_ACCESS_LOG ? deps.outputs.stdout : deps.outputs.stderr;
      break;
    default:
      issues.error(tcPath, `unsupported access logger type "${typeUrlOf(tc)}"`);
      return null;
  }
  if (issues.errorCount > before || formatter === null || sink === null) return null;
  return new AccessLogger(name, formatter, sink, filter);
}

/** FileAccessLog: log_format, or the deprecated format / json_format / typed_json_format fields. */
function fileFormat(tc: ProtoObject, path: string, issues: Issues): LineFormatter | null {
  const given = ['format', 'json_format', 'typed_json_format', 'log_format'].filter(
    (k) => tc[k] !== undefined,
  );
  if (given.length > 1) {
    issues.error(path, `only one of ${given.join(', ')} may be set`);
    return null;
  }
  if (typeof tc.format === 'string') return textFormat(tc.format, joinPath(path, 'format'), false, issues);
  if (tc.json_format !== undefined)
    return jsonFormat(tc.json_format, joinPath(path, 'json_format'), false, issues);
  if (tc.typed_json_format !== undefined) {
    return jsonFormat(tc.typed_json_format, joinPath(path, 'typed_json_format'), false, issues);
  }
  return substitutionFormat(tc.log_format, joinPath(path, 'log_format'), issues);
}

/** envoy.config.core.v3.SubstitutionFormatString; absent means Envoy's default text format. */
function substitutionFormat(v: ProtoValue | undefined, path: string, issues: Issues): LineFormatter | null {
  if (v === undefined || v === null) return textFormat(DEFAULT_FORMAT, path, false, issues);
  if (!isObject(v)) {
    issues.error(path, 'must be a SubstitutionFormatString');
    return null;
  }
  const omit = v.omit_empty_values === true;
  if (v.formatters !== undefined) {
    issues.error(joinPath(path, 'formatters'), 'formatter extensions are not supported yet');
    return null;
  }
  const given = ['text_format', 'json_format', 'text_format_source'].filter((k) => v[k] !== undefined);
  if (given.length > 1) {
    issues.error(path, `only one of ${given.join(', ')} may be set`);
    return null;
  }
  if (typeof v.text_format === 'string')
    return textFormat(v.text_format, joinPath(path, 'text_format'), omit, issues);
  if (v.json_format !== undefined)
    return jsonFormat(v.json_format, joinPath(path, 'json_format'), omit, issues);
  if (v.text_format_source !== undefined) {
    const p = joinPath(path, 'text_format_source');
    const text = dataSource(v.text_format_source, p, issues);
    return text === null ? null : textFormat(text, p, omit, issues);
  }
  return textFormat(DEFAULT_FORMAT, path, omit, issues);
}

function textFormat(fmt: string, path: string, omit: boolean, issues: Issues): LineFormatter | null {
  const f = TextFormatter.compile(fmt, omit);
  if (typeof f === 'string') {
    issues.error(path, f);
    return null;
  }
  return f;
}

function jsonFormat(v: ProtoValue, path: string, omit: boolean, issues: Issues): LineFormatter | null {
  if (!isObject(v)) {
    issues.error(path, 'must be an object (google.protobuf.Struct)');
    return null;
  }
  const f = JsonFormatter.compile(v as { [k: string]: JsonConfigValue }, omit);
  if (!(f instanceof JsonFormatter)) {
    issues.error(`${path}.${f.key}`, f.message);
    return null;
  }
  return f;
}

/** envoy.config.core.v3.DataSource, read now (control path). */
function dataSource(v: ProtoValue, path: string, issues: Issues): string | null {
  if (!isObject(v)) {
    issues.error(path, 'must be a DataSource');
    return null;
  }
  if (typeof v.inline_string === 'string') return v.inline_string;
  if (Buffer.isBuffer(v.inline_bytes)) return v.inline_bytes.toString('utf8');
  if (typeof v.filename === 'string') {
    try {
      return readFileSync(v.filename, 'utf8');
    } catch (e) {
      issues.error(joinPath(path, 'filename'), `cannot read "${v.filename}": ${(e as Error).message}`);
      return null;
    }
  }
  if (typeof v.environment_variable === 'string') {
    const e = process.env[v.environment_variable];
    if (e === undefined) {
      issues.error(
        joinPath(path, 'environment_variable'),
        `environment variable "${v.environment_variable}" is not set`,
      );
      return null;
    }
    return e;
  }
  issues.error(path, 'one of inline_string, inline_bytes, filename, environment_variable is required');
  return null;
}

/**
 * The `(config, path, issues) => sink` shape the connection manager and tcp_proxy translators take
 * (AccessLogTranslator in extensions/filters/network/http_connection_manager/config.ts).
 */
export function accessLogTranslator(
  deps: AccessLogTranslateDeps,
): (config: ProtoObject, path: string, issues: Issues) => AccessLogger | null {
  return (config, path, issues) => translateAccessLog(config, path, issues, deps);
}
