import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ResponseFlag } from '../../../proxy/http/response-flags.js';
import { StreamInfo } from '../../../proxy/http/stream-info.js';
import { JsonFormatter } from '../../../proxy/observability/access-log/json-format.js';
import { StartTimeFormat } from '../../../proxy/observability/access-log/start-time.js';
import { DEFAULT_FORMAT, TextFormatter } from '../../../proxy/observability/access-log/text-format.js';

// 2024-03-05T07:08:09.123Z
const START = Date.UTC(2024, 2, 5, 7, 8, 9, 123);

/** A finished HTTP/1.1 request as the connection manager would leave it. */
function httpInfo(): StreamInfo {
  const info = new StreamInfo();
  (info as { startTime: number }).startTime = START;
  info.protocol = 'HTTP/1.1';
  info.requestMethod = 'GET';
  info.requestPath = '/api/v1?x=1';
  info.requestHeaders = {
    host: 'example.com',
    'user-agent': 'curl/8.0',
    'x-request-id': 'req-1',
    'x-forwarded-for': '10.0.0.9',
    'x-multi': ['a', 'b'],
  };
  info.responseHeaders = { 'content-type': 'text/plain', 'x-envoy-upstream-service-time': 7 };
  info.responseTrailers = { 'grpc-status': '0' };
  info.responseCode = 200;
  info.responseCodeDetails = 'via_upstream';
  info.bytesReceived = 12;
  info.bytesSent = 345;
  info.endMono = info.startMono + 42.7;
  info.firstUpstreamRxMono = info.startMono + 30.2;
  info.lastDownstreamRxMono = info.startMono + 1.9;
  info.upstreamHost = '127.0.0.1:8080';
  info.upstreamCluster = 'backend';
  info.upstreamLocalAddress = '127.0.0.1:50000';
  info.downstreamRemoteAddress = '192.168.1.5:40000';
  info.downstreamLocalAddress = '10.1.1.1:10000';
  info.routeName = 'r1';
  info.requestId = 'req-1';
  info.attemptCount = 2;
  return info;
}

function fmt(format: string, info: StreamInfo = httpInfo(), omit = false): string {
  const f = TextFormatter.compile(format, omit);
  if (typeof f === 'string') throw new Error(f);
  return f.format(info);
}

describe('text format operators', () => {
  it.each([
    ['%START_TIME%', '2024-03-05T07:08:09.123Z'],
    ['%START_TIME(%Y/%m/%d %H:%M:%S)%', '2024/03/05 07:08:09'],
    ['%START_TIME(%s.%3f)%', '1709622489.123'],
    ['%START_TIME(%f)%', '123000000'],
    ['%START_TIME(%Y-%m-%dT%H:%M:%E3SZ%z)%', '2024-03-05T07:08:09.123Z+0000'],
    ['%START_TIME(%F %T %a %b %j)%', '2024-03-05 07:08:09 Tue Mar 065'],
    ['%REQ(:METHOD)%', 'GET'],
    ['%REQ(:PATH)%', '/api/v1?x=1'],
    ['%REQ(:AUTHORITY)%', 'example.com'],
    ['%REQ(USER-AGENT)%', 'curl/8.0'],
    ['%REQUEST_HEADER(User-Agent)%', 'curl/8.0'],
    ['%REQ(X-MISSING?USER-AGENT)%', 'curl/8.0'],
    ['%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%', '/api/v1?x=1'],
    ['%REQ(USER-AGENT):4%', 'curl'],
    ['%REQ(X-MULTI)%', 'a,b'],
    ['%REQ(X-MISSING)%', '-'],
    ['%RESP(CONTENT-TYPE)%', 'text/plain'],
    ['%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%', '7'],
    ['%RESPONSE_HEADER(content-type):4%', 'text'],
    ['%TRAILER(GRPC-STATUS)%', '0'],
    ['%RESPONSE_TRAILER(grpc-message)%', '-'],
    ['%PROTOCOL%', 'HTTP/1.1'],
    ['%RESPONSE_CODE%', '200'],
    ['%RESPONSE_CODE_DETAILS%', 'via_upstream'],
    ['%RESPONSE_FLAGS%', '-'],
    ['%BYTES_RECEIVED%', '12'],
    ['%BYTES_SENT%', '345'],
    ['%DURATION%', '42'],
    ['%RESPONSE_DURATION%', '30'],
    ['%REQUEST_DURATION%', '1'],
    ['%UPSTREAM_HOST%', '127.0.0.1:8080'],
    ['%UPSTREAM_CLUSTER%', 'backend'],
    ['%UPSTREAM_LOCAL_ADDRESS%', '127.0.0.1:50000'],
    ['%DOWNSTREAM_REMOTE_ADDRESS%', '192.168.1.5:40000'],
    ['%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', '192.168.1.5'],
    ['%DOWNSTREAM_REMOTE_PORT%', '40000'],
    ['%DOWNSTREAM_LOCAL_ADDRESS%', '10.1.1.1:10000'],
    ['%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%', '10.1.1.1'],
    ['%DOWNSTREAM_LOCAL_PORT%', '10000'],
    ['%ROUTE_NAME%', 'r1'],
    ['%UPSTREAM_REQUEST_ATTEMPT_COUNT%', '2'],
    ['%STREAM_ID%', 'req-1'],
    ['%HOSTNAME%', hostname()],
    ['100%% done %%%PROTOCOL%%%', '100% done %HTTP/1.1%'],
    ['plain text', 'plain text'],
  ])('%s', (format, expected) => {
    expect(fmt(format)).toBe(expected);
  });

  it('prints response flags by their short names', () => {
    const info = httpInfo();
    info.setFlag(ResponseFlag.UpstreamConnectionFailure);
    info.setFlag(ResponseFlag.NoHealthyUpstream);
    expect(fmt('%RESPONSE_FLAGS%', info)).toBe('UH,UF');
  });

  it('falls back to the stream for what HTTP/1 headers lack (generated request id, Host as authority)', () => {
    const info = new StreamInfo();
    info.requestHeaders = { host: 'h.example' };
    info.requestId = 'generated-id';
    info.requestMethod = 'PUT';
    info.requestPath = '/p';
    expect(fmt('%REQ(X-REQUEST-ID)% %REQ(:AUTHORITY)% %REQ(:METHOD)% %REQ(:PATH)%', info)).toBe(
      'generated-id h.example PUT /p',
    );
    info.requestHeaders = {
      ':authority': 'h2.example',
      ':method': 'GET',
      ':path': '/h2',
      'x-request-id': 'from-client',
    };
    expect(fmt('%REQ(X-REQUEST-ID)% %REQ(:AUTHORITY)% %REQ(:METHOD)% %REQ(:PATH)%', info)).toBe(
      'from-client h2.example GET /h2',
    );
  });

  it('strips the port from IPv6 addresses', () => {
    const info = httpInfo();
    info.downstreamRemoteAddress = '[::1]:4000';
    expect(fmt('%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_REMOTE_PORT%', info)).toBe('::1 4000');
  });

  it('prints - for values not known (a TCP session, a stream still open)', () => {
    const info = new StreamInfo();
    expect(
      fmt('%PROTOCOL% %RESPONSE_CODE% %DURATION% %UPSTREAM_HOST% %REQ(:METHOD)% %ROUTE_NAME%', info),
    ).toBe('- 0 - - - -');
    expect(fmt('[%PROTOCOL%][%DURATION%]', info, true)).toBe('[][]');
  });

  it('renders the default format as Envoy does', () => {
    expect(fmt(DEFAULT_FORMAT)).toBe(
      '[2024-03-05T07:08:09.123Z] "GET /api/v1?x=1 HTTP/1.1" 200 - 12 345 42 7 "10.0.0.9" "curl/8.0" "req-1" ' +
        '"example.com" "127.0.0.1:8080"\n',
    );
  });

  it.each([
    ['%NOT_AN_OPERATOR%', 'unknown command operator %NOT_AN_OPERATOR%'],
    ['50% off', 'no valid command operator at position 2'],
    ['%REQ%', 'REQ requires a header name'],
    ['%REQ()%', 'REQ requires a header name'],
    ['%REQ(A?B?C)%', 'more than one alternative header'],
    ['%PROTOCOL(x)%', 'PROTOCOL takes no parameters'],
    ['%DURATION:3%', 'DURATION does not take a length'],
    ['%START_TIME(%Q)%', "unsupported specifier '%Q'"],
    ['trailing %', 'no valid command operator'],
  ])('rejects %s', (format, message) => {
    const r = TextFormatter.compile(format);
    expect(typeof r).toBe('string');
    expect(r as string).toContain(message);
  });
});

describe('start time', () => {
  it('formats the default ISO form across milliseconds and seconds (cached per second)', () => {
    const f = StartTimeFormat.compile('');
    if (typeof f === 'string') throw new Error(f);
    const t = Date.UTC(2024, 11, 31, 23, 59, 59, 7);
    expect(f.format(t)).toBe('2024-12-31T23:59:59.007Z');
    expect(f.format(t)).toBe('2024-12-31T23:59:59.007Z');
    expect(f.format(t + 43)).toBe('2024-12-31T23:59:59.050Z');
    expect(f.format(t + 992)).toBe('2024-12-31T23:59:59.999Z');
    expect(f.format(t + 993)).toBe('2025-01-01T00:00:00.000Z');
    expect(f.format(t - 7_000)).toBe('2024-12-31T23:59:52.007Z');
    for (let ms = t; ms < t + 3000; ms += 37) expect(f.format(ms)).toBe(new Date(ms).toISOString());
  });

  it('pads fractions and handles the epoch', () => {
    const f = StartTimeFormat.compile('%E6S|%1f|%9f|%y|%e');
    if (typeof f === 'string') throw new Error(f);
    expect(f.format(Date.UTC(2001, 0, 2, 3, 4, 5, 7))).toBe('05.007000|0|007000000|01| 2');
  });
});

describe('json format', () => {
  it('keeps types for lone operators, strings for mixed ones, nests objects', () => {
    const f = JsonFormatter.compile({
      start: '%START_TIME%',
      code: '%RESPONSE_CODE%',
      bytes: '%BYTES_SENT%',
      duration: '%DURATION%',
      method: '%REQ(:METHOD)%',
      line: '%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%',
      missing: '%REQ(X-NOPE)%',
      mixedMissing: 'ua=%REQ(X-NOPE)%',
      constant: 'literal %% sign',
      number: 5,
      flag: true,
      upstream: {
        host: '%UPSTREAM_HOST%',
        cluster: '%UPSTREAM_CLUSTER%',
        attempts: '%UPSTREAM_REQUEST_ATTEMPT_COUNT%',
      },
    });
    if (!(f instanceof JsonFormatter)) throw new Error(f.message);
    const line = f.format(httpInfo());
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual({
      start: '2024-03-05T07:08:09.123Z',
      code: 200,
      bytes: 345,
      duration: 42,
      method: 'GET',
      line: 'GET /api/v1?x=1 HTTP/1.1',
      missing: null,
      mixedMissing: 'ua=-',
      constant: 'literal % sign',
      number: 5,
      flag: true,
      upstream: { host: '127.0.0.1:8080', cluster: 'backend', attempts: 2 },
    });
  });

  it('omits empty values when asked', () => {
    const f = JsonFormatter.compile({ a: '%REQ(X-NOPE)%', b: '%RESPONSE_CODE%', c: '%ROUTE_NAME%' }, true);
    if (!(f instanceof JsonFormatter)) throw new Error(f.message);
    const info = new StreamInfo();
    expect(JSON.parse(f.format(info))).toEqual({ b: 0 });
  });

  it('escapes header values into valid JSON', () => {
    const f = JsonFormatter.compile({ ua: '%REQ(USER-AGENT)%' });
    if (!(f instanceof JsonFormatter)) throw new Error(f.message);
    const info = httpInfo();
    info.requestHeaders = { 'user-agent': 'a"b\\c\nd' };
    expect(JSON.parse(f.format(info))).toEqual({ ua: 'a"b\\c\nd' });
  });

  it('reports the key of a bad operator and rejects lists', () => {
    const bad = JsonFormatter.compile({ outer: { inner: '%BOGUS%' } });
    expect(bad).toEqual({ key: 'outer.inner', message: 'unknown command operator %BOGUS%' });
    const list = JsonFormatter.compile({ l: ['%PROTOCOL%'] });
    expect(list).toMatchObject({ key: 'l' });
  });
});
