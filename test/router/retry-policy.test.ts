import { describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import { parseRetryOn, RetryOn, RetryPolicy, translateRetryPolicy } from '../../proxy/router/retry-policy.js';

function policy(c: Record<string, unknown>): RetryPolicy {
  const issues = new Issues();
  const m = translateRetryPolicy(c, 'rp', issues);
  expect(issues.format()).toBe('');
  return new RetryPolicy(m);
}

describe('retry policy', () => {
  it('parses retry_on names, reporting unknown ones', () => {
    const r = parseRetryOn(' 5xx ,gateway-error,,unavailable,nope');
    expect(r.bits).toBe(RetryOn.FiveXx | RetryOn.GatewayError | RetryOn.GrpcUnavailable);
    expect(r.unknown).toEqual(['nope']);
  });

  it('decides on responses: 5xx, gateway errors, 409, status codes, headers, gRPC status, overloaded', () => {
    const fivexx = policy({ retry_on: '5xx' });
    expect(fivexx.retriableResponse(500, {})).toBe(true);
    expect(fivexx.retriableResponse(404, {})).toBe(false);
    expect(fivexx.retriableResponse(503, { 'x-envoy-overloaded': 'true' })).toBe(false);
    const gw = policy({ retry_on: 'gateway-error' });
    expect(gw.retriableResponse(502, {})).toBe(true);
    expect(gw.retriableResponse(500, {})).toBe(false);
    expect(policy({ retry_on: 'retriable-4xx' }).retriableResponse(409, {})).toBe(true);
    const codes = policy({ retry_on: 'retriable-status-codes', retriable_status_codes: [418] });
    expect(codes.retriableResponse(418, {})).toBe(true);
    expect(codes.retriableResponse(500, {})).toBe(false);
    const hdr = policy({
      retry_on: 'retriable-headers',
      retriable_headers: [{ name: 'x-retry-me', exact_match: 'yes' }],
    });
    expect(hdr.retriableResponse(200, { 'x-retry-me': 'yes' })).toBe(true);
    expect(hdr.retriableResponse(200, { 'x-retry-me': 'no' })).toBe(false);
    const grpc = policy({ retry_on: 'unavailable,resource-exhausted' });
    expect(grpc.retriableResponse(200, { 'grpc-status': '14' })).toBe(true);
    expect(grpc.retriableResponse(200, { 'grpc-status': '8' })).toBe(true);
    expect(grpc.retriableResponse(200, { 'grpc-status': '4' })).toBe(false);
    expect(grpc.retriableResponse(200, { 'grpc-status': '0' })).toBe(false);
  });

  it('decides on failures by kind', () => {
    const cf = policy({ retry_on: 'connect-failure' });
    expect(cf.retriableFailure('connect_failure')).toBe(true);
    expect(cf.retriableFailure('reset')).toBe(false);
    expect(cf.retriableFailure('per_try_timeout')).toBe(false);
    const reset = policy({ retry_on: 'reset' });
    expect(reset.retriableFailure('reset')).toBe(true);
    expect(reset.retriableFailure('per_try_timeout')).toBe(true);
    expect(policy({ retry_on: '5xx' }).retriableFailure('per_try_timeout')).toBe(true);
    expect(policy({ retry_on: 'retriable-4xx' }).retriableFailure('connect_failure')).toBe(false);
  });

  it('full-jitter backoff: [0, min(max, base × (2^n − 1)))', () => {
    const p = policy({ retry_on: '5xx', retry_back_off: { base_interval: 25 } });
    expect(p.backOffMaxMs).toBe(250);
    expect(p.backOffMs(1, 0.999)).toBeLessThan(25);
    expect(p.backOffMs(2, 0.999)).toBeLessThan(75);
    expect(p.backOffMs(2, 0.999)).toBeGreaterThan(74);
    expect(p.backOffMs(10, 0.999)).toBeLessThanOrEqual(250);
    expect(p.backOffMs(3, 0)).toBe(0);
  });

  it('defaults: one retry, 25 ms base, no per-try timeout, no predicate', () => {
    const p = policy({ retry_on: '5xx' });
    expect(p.numRetries).toBe(1);
    expect(p.backOffBaseMs).toBe(25);
    expect(p.perTryTimeoutMs).toBe(0);
    expect(p.previousHosts).toBe(false);
  });
});
