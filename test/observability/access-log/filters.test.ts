import { describe, expect, it } from 'vitest';
import { Issues } from '../../../proxy/config/issues.js';
import { decodeJsonMessage } from '../../../proxy/config/json-decode.js';
import { ResponseFlag } from '../../../proxy/http/response-flags.js';
import { StreamInfo } from '../../../proxy/http/stream-info.js';
import {
  type AccessLogFilter,
  compileAccessLogFilter,
} from '../../../proxy/observability/access-log/filters.js';

/** Decodes the filter with remora's schema (as the bootstrap would) and compiles it. */
function compile(json: unknown): { filter: AccessLogFilter | null; issues: Issues } {
  const issues = new Issues();
  const decoded = decodeJsonMessage('envoy.config.accesslog.v3.AccessLogFilter', json, issues, 'filter');
  expect(issues.format()).toBe('');
  const filter = compileAccessLogFilter(decoded ?? undefined, 'filter', issues);
  return { filter, issues };
}

function must(json: unknown): AccessLogFilter {
  const { filter, issues } = compile(json);
  expect(issues.format()).toBe('');
  expect(filter).not.toBeNull();
  return filter!;
}

function stream(code: number, durationMs = 10, flags = 0): StreamInfo {
  const i = new StreamInfo();
  i.responseCode = code;
  i.endMono = i.startMono + durationMs;
  i.responseFlags = flags;
  return i;
}

describe('access log filters', () => {
  it('status_code_filter compares with EQ / GE / LE', () => {
    const ge = must({
      status_code_filter: { comparison: { op: 'GE', value: { default_value: 500, runtime_key: 'k' } } },
    });
    expect(ge.evaluate(stream(503))).toBe(true);
    expect(ge.evaluate(stream(500))).toBe(true);
    expect(ge.evaluate(stream(404))).toBe(false);
    const eq = must({
      status_code_filter: { comparison: { value: { default_value: 404, runtime_key: 'k' } } },
    });
    expect(eq.evaluate(stream(404))).toBe(true);
    expect(eq.evaluate(stream(200))).toBe(false);
    const le = must({
      status_code_filter: { comparison: { op: 'LE', value: { default_value: 299, runtime_key: 'k' } } },
    });
    expect(le.evaluate(stream(200))).toBe(true);
    expect(le.evaluate(stream(300))).toBe(false);
  });

  it('duration_filter needs a finished stream', () => {
    const f = must({
      duration_filter: { comparison: { op: 'GE', value: { default_value: 100, runtime_key: 'k' } } },
    });
    expect(f.evaluate(stream(200, 150))).toBe(true);
    expect(f.evaluate(stream(200, 99))).toBe(false);
    expect(f.evaluate(new StreamInfo())).toBe(false);
  });

  it('response_flag_filter matches named flags, or any flag when none named', () => {
    const named = must({ response_flag_filter: { flags: ['UF', 'UH'] } });
    expect(named.evaluate(stream(503, 1, ResponseFlag.UpstreamConnectionFailure))).toBe(true);
    expect(named.evaluate(stream(504, 1, ResponseFlag.UpstreamRequestTimeout))).toBe(false);
    const any = must({ response_flag_filter: {} });
    expect(any.evaluate(stream(504, 1, ResponseFlag.UpstreamRequestTimeout))).toBe(true);
    expect(any.evaluate(stream(200))).toBe(false);
  });

  it('grpc_status_filter reads grpc-status from trailers, headers, or maps the HTTP status', () => {
    const f = must({ grpc_status_filter: { statuses: ['UNAVAILABLE', 'INTERNAL'] } });
    const t = stream(200);
    t.responseTrailers = { 'grpc-status': '14' };
    expect(f.evaluate(t)).toBe(true);
    const h = stream(200);
    h.responseHeaders = { 'grpc-status': '0' };
    expect(f.evaluate(h)).toBe(false);
    expect(f.evaluate(stream(503))).toBe(true);
    const ex = must({ grpc_status_filter: { statuses: ['OK'], exclude: true } });
    expect(ex.evaluate(h)).toBe(false);
    expect(ex.evaluate(t)).toBe(true);
  });

  it('and / or combine, not_health_check passes', () => {
    const f = must({
      or_filter: {
        filters: [
          {
            status_code_filter: { comparison: { op: 'GE', value: { default_value: 500, runtime_key: 'k' } } },
          },
          {
            and_filter: {
              filters: [
                { not_health_check_filter: {} },
                {
                  duration_filter: {
                    comparison: { op: 'GE', value: { default_value: 1000, runtime_key: 'k' } },
                  },
                },
              ],
            },
          },
        ],
      },
    });
    expect(f.evaluate(stream(502, 1))).toBe(true);
    expect(f.evaluate(stream(200, 2000))).toBe(true);
    expect(f.evaluate(stream(200, 5))).toBe(false);
  });

  it('rejects bad and unsupported filters with paths', () => {
    const flag = compile({ response_flag_filter: { flags: ['UF', 'BOGUS'] } });
    expect(flag.filter).toBeNull();
    expect(flag.issues.format()).toBe(
      'error: filter.response_flag_filter.flags[1]: unknown response flag "BOGUS"',
    );
    const one = compile({ and_filter: { filters: [{ not_health_check_filter: {} }] } });
    expect(one.issues.format()).toBe('error: filter.and_filter.filters: needs at least two filters');
    const header = compile({ header_filter: { header: { name: 'x', present_match: true } } });
    expect(header.issues.format()).toBe(
      'error: filter.header_filter: this access log filter is not supported yet',
    );
    const empty = compile({});
    expect(empty.issues.format()).toBe('error: filter: one filter type is required');
  });
});
