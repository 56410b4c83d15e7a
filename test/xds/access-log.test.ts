import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import { decodeJsonMessage } from '../../proxy/config/json-decode.js';
import { StreamInfo } from '../../proxy/http/stream-info.js';
import { AccessLogOutputs } from '../../proxy/observability/access-log/outputs.js';
import { accessLogTranslator, translateAccessLogs } from '../../proxy/xds/access-log.js';

let dir: string;
let outputs: AccessLogOutputs;
let stdout: PassThrough;
let stdoutText: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'remora-alx-'));
  stdout = new PassThrough();
  stdoutText = '';
  stdout.on('data', (c) => {
    stdoutText += String(c);
  });
  outputs = new AccessLogOutputs({ flushIntervalMs: 60_000 }, stdout, new PassThrough());
});
afterEach(async () => {
  await outputs.closeAll();
  rmSync(dir, { recursive: true, force: true });
});

const FILE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
const STDOUT = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';

/** Decodes `access_log` entries through remora's real proto schema, then translates them. */
function build(entries: unknown[]) {
  const issues = new Issues();
  const decoded = entries.map((e, i) =>
    decodeJsonMessage('envoy.config.accesslog.v3.AccessLog', e, issues, `access_log[${i}]`),
  );
  expect(issues.format()).toBe('');
  const loggers = translateAccessLogs(decoded as never, 'access_log', issues, { outputs });
  return { loggers, issues };
}

function info(): StreamInfo {
  const i = new StreamInfo();
  i.protocol = 'HTTP/2';
  i.requestMethod = 'POST';
  i.requestPath = '/svc/Method';
  i.requestHeaders = { ':authority': 'svc.local' };
  i.responseCode = 503;
  i.upstreamCluster = 'backend';
  i.endMono = i.startMono + 5;
  return i;
}

describe('access log translator', () => {
  it('builds a file logger with log_format.text_format and writes real lines', async () => {
    const path = join(dir, 'access.log');
    const { loggers } = build([
      {
        name: 'envoy.access_loggers.file',
        typed_config: {
          '@type': FILE,
          path,
          log_format: { text_format: '%REQ(:METHOD)% %RESPONSE_CODE% %UPSTREAM_CLUSTER%\n' },
        },
      },
    ]);
    expect(loggers).toHaveLength(1);
    expect(loggers[0].name).toBe('envoy.access_loggers.file');
    loggers[0].log(info());
    loggers[0].log(info());
    await loggers[0].flush();
    expect(readFileSync(path, 'utf8')).toBe('POST 503 backend\nPOST 503 backend\n');
  });

  it('uses Envoy default format when none is given', async () => {
    const path = join(dir, 'default.log');
    const { loggers } = build([{ name: 'f', typed_config: { '@type': FILE, path } }]);
    loggers[0].log(info());
    await loggers[0].flush();
    expect(readFileSync(path, 'utf8')).toMatch(
      /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] "POST \/svc\/Method HTTP\/2" 503 - 0 0 5 - "-" "-" "-" "svc.local" "-"\n$/,
    );
  });

  it('supports json_format with omit_empty_values, and the deprecated format fields', async () => {
    const a = join(dir, 'a.log');
    const b = join(dir, 'b.log');
    const c = join(dir, 'c.log');
    const { loggers } = build([
      {
        name: 'json',
        typed_config: {
          '@type': FILE,
          path: a,
          log_format: {
            json_format: { code: '%RESPONSE_CODE%', host: '%UPSTREAM_HOST%', m: { p: '%PROTOCOL%' } },
            omit_empty_values: true,
          },
        },
      },
      { name: 'old-text', typed_config: { '@type': FILE, path: b, format: '%PROTOCOL%\n' } },
      {
        name: 'old-json',
        typed_config: { '@type': FILE, path: c, json_format: { code: '%RESPONSE_CODE%' } },
      },
    ]);
    for (const l of loggers) l.log(info());
    await outputs.flushAll();
    expect(JSON.parse(readFileSync(a, 'utf8'))).toEqual({ code: 503, m: { p: 'HTTP/2' } });
    expect(readFileSync(b, 'utf8')).toBe('HTTP/2\n');
    expect(JSON.parse(readFileSync(c, 'utf8'))).toEqual({ code: 503 });
  });

  it('reads text_format_source inline and from a file', async () => {
    const fmtFile = join(dir, 'fmt.txt');
    writeFileSync(fmtFile, 'from-file %RESPONSE_CODE%\n');
    const p1 = join(dir, 's1.log');
    const p2 = join(dir, 's2.log');
    const { loggers } = build([
      {
        name: 'a',
        typed_config: {
          '@type': FILE,
          path: p1,
          log_format: { text_format_source: { inline_string: 'inline %PROTOCOL%\n' } },
        },
      },
      {
        name: 'b',
        typed_config: { '@type': FILE, path: p2, log_format: { text_format_source: { filename: fmtFile } } },
      },
    ]);
    for (const l of loggers) l.log(info());
    await outputs.flushAll();
    expect(readFileSync(p1, 'utf8')).toBe('inline HTTP/2\n');
    expect(readFileSync(p2, 'utf8')).toBe('from-file 503\n');
  });

  it('logs only what the filter lets through', async () => {
    const path = join(dir, 'errors.log');
    const { loggers } = build([
      {
        name: 'errors',
        filter: {
          status_code_filter: { comparison: { op: 'GE', value: { default_value: 500, runtime_key: 'k' } } },
        },
        typed_config: { '@type': FILE, path, log_format: { text_format: '%RESPONSE_CODE%\n' } },
      },
    ]);
    const ok = info();
    ok.responseCode = 200;
    loggers[0].log(ok);
    loggers[0].log(info());
    await loggers[0].flush();
    expect(readFileSync(path, 'utf8')).toBe('503\n');
  });

  it('writes to stdout', async () => {
    const { loggers } = build([
      {
        name: 'envoy.access_loggers.stdout',
        typed_config: { '@type': STDOUT, log_format: { text_format: 'out %RESPONSE_CODE%\n' } },
      },
    ]);
    loggers[0].log(info());
    await loggers[0].flush();
    expect(stdoutText).toBe('out 503\n');
  });

  it('reports errors with field paths', () => {
    const { loggers, issues } = build([
      {
        name: 'a',
        typed_config: { '@type': FILE, path: join(dir, 'x.log'), log_format: { text_format: '%BOGUS%' } },
      },
      {
        name: 'b',
        typed_config: {
          '@type': FILE,
          path: join(dir, 'y.log'),
          log_format: { json_format: { k: { j: '%REQ()%' } } },
        },
      },
      { name: 'c', typed_config: { '@type': FILE, path: join(dir, 'missing-dir', 'z.log') } },
      { name: 'd', typed_config: { '@type': FILE } },
      {
        name: 'e',
        filter: { header_filter: { header: { name: 'x', present_match: true } } },
        typed_config: { '@type': STDOUT },
      },
      { name: 'f' },
    ]);
    expect(loggers).toHaveLength(0);
    const text = issues.format();
    expect(text).toContain(
      'error: access_log[0].typed_config.log_format.text_format: unknown command operator %BOGUS%',
    );
    expect(text).toContain(
      'error: access_log[1].typed_config.log_format.json_format.k.j: REQ requires a header name',
    );
    expect(text).toMatch(/error: access_log\[2\]\.typed_config\.path: cannot open ".*z\.log"/);
    expect(text).toContain('error: access_log[3].typed_config.path: required');
    expect(text).toContain(
      'error: access_log[4].filter.header_filter: this access log filter is not supported yet',
    );
    expect(text).toContain('error: access_log[5].typed_config: required');
  });

  it('rejects an unsupported logger type', () => {
    const issues = new Issues();
    const out = translateAccessLogs(
      [
        {
          name: 'x',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig',
          },
        },
      ],
      'access_log',
      issues,
      { outputs },
    );
    expect(out).toEqual([]);
    expect(issues.format()).toContain('access_log[0].typed_config: unsupported access logger type');
  });

  it('fits the connection manager translator shape', async () => {
    const path = join(dir, 'hcm.log');
    const t = accessLogTranslator({ outputs });
    const issues = new Issues();
    const sink = t(
      { name: 'x', typed_config: { '@type': FILE, path, log_format: { text_format: 'hi\n' } } },
      'al[0]',
      issues,
    );
    expect(issues.ok).toBe(true);
    sink!.log(info());
    await outputs.flushAll();
    expect(readFileSync(path, 'utf8')).toBe('hi\n');
  });
});
