import type { OutgoingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  applyForwardingHeaders,
  isInternalAddress,
  requestIdOf,
  stripHopByHop,
} from '../../proxy/http/headers.js';
import { encodeGrpcMessage, grpcStatusForHttp } from '../../proxy/http/local-reply.js';
import { checkHttp1Head } from '../../proxy/http/request-validation.js';
import { hcmConfig } from '../helpers/proxy.js';
import { testRouteTable } from '../helpers/test-upstream.js';

const base = hcmConfig(testRouteTable([]));

describe('hop-by-hop stripping', () => {
  it('removes the fixed set and fields named in Connection, keeps te: trailers', () => {
    const h: OutgoingHttpHeaders = {
      connection: 'keep-alive, X-Foo',
      'x-foo': '1',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'x',
      te: 'trailers',
      upgrade: 'h2c',
      'http2-settings': 'AAA',
      'transfer-encoding': 'chunked',
      'x-keep': 'y',
    };
    expect(stripHopByHop(h, [])).toBeNull();
    expect(h).toEqual({ te: 'trailers', 'x-keep': 'y' });
  });

  it('drops te other than trailers', () => {
    const h: OutgoingHttpHeaders = { te: 'gzip, trailers' };
    stripHopByHop(h, []);
    expect(h.te).toBeUndefined();
  });

  it('returns an allowed upgrade and never strips Host via Connection', () => {
    const h: OutgoingHttpHeaders = { connection: 'Upgrade, host', upgrade: 'WebSocket', host: 'a' };
    expect(stripHopByHop(h, ['websocket'])).toBe('websocket');
    expect(h.host).toBe('a');
    expect(h.upgrade).toBeUndefined();
  });
});

describe('forwarding headers', () => {
  it('edge (use_remote_address): appends the peer, sets proto, strips x-envoy-* from external clients', () => {
    const h: OutgoingHttpHeaders = {
      'x-forwarded-for': '9.9.9.9',
      'x-envoy-retry-on': '5xx',
      'x-request-id': 'ext',
    };
    const external = applyForwardingHeaders(h, '8.8.8.8', 'http', { ...base, useRemoteAddress: true });
    const id = requestIdOf(h);
    expect(external).toBe(true);
    expect(h['x-forwarded-for']).toBe('9.9.9.9,8.8.8.8');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-envoy-retry-on']).toBeUndefined();
    expect(id).not.toBe('ext');
    expect(h['x-request-id']).toBe(id);
  });

  it('preserve_external_request_id keeps the client id', () => {
    const h: OutgoingHttpHeaders = { 'x-request-id': 'ext' };
    applyForwardingHeaders(h, '8.8.8.8', 'http', {
      ...base,
      useRemoteAddress: true,
      preserveExternalRequestId: true,
    });
    expect(h['x-request-id']).toBe('ext');
  });

  it('internal client keeps x-envoy-* and gets x-envoy-internal', () => {
    const h: OutgoingHttpHeaders = { 'x-envoy-retry-on': '5xx' };
    expect(applyForwardingHeaders(h, '10.1.2.3', 'http', { ...base, useRemoteAddress: true })).toBe(false);
    expect(h['x-envoy-retry-on']).toBe('5xx');
    expect(h['x-envoy-internal']).toBe('true');
  });

  it('not an edge: XFF untouched, x-forwarded-proto only when absent', () => {
    const h: OutgoingHttpHeaders = { 'x-forwarded-for': '1.1.1.1', 'x-forwarded-proto': 'https' };
    applyForwardingHeaders(h, '8.8.8.8', 'http', { ...base, useRemoteAddress: false });
    expect(h['x-forwarded-for']).toBe('1.1.1.1');
    expect(h['x-forwarded-proto']).toBe('https');
  });

  it('skip_xff_append and generate_request_id false', () => {
    const h: OutgoingHttpHeaders = {};
    applyForwardingHeaders(h, '8.8.8.8', 'http', {
      ...base,
      useRemoteAddress: true,
      skipXffAppend: true,
      generateRequestId: false,
    });
    expect(h['x-forwarded-for']).toBeUndefined();
    expect(requestIdOf(h)).toBe('');
  });

  it('via is appended', () => {
    const h: OutgoingHttpHeaders = { via: '1.1 a' };
    applyForwardingHeaders(h, '127.0.0.1', 'http', { ...base, via: 'remora' });
    expect(h.via).toBe('1.1 a, remora');
  });

  it('internal address ranges', () => {
    for (const ip of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '::1',
      'fd00::1',
      '::ffff:10.0.0.1',
    ]) {
      expect(isInternalAddress(ip)).toBe(true);
    }
    for (const ip of ['8.8.8.8', '172.32.0.1', '2001:db8::1']) expect(isInternalAddress(ip)).toBe(false);
  });
});

describe('request head checks', () => {
  it('underscores: REJECT_REQUEST', () => {
    expect(checkHttp1Head(['Host', 'a', 'x_y', '1'], '1.1', 100, 'REJECT_REQUEST')?.status).toBe(400);
    expect(checkHttp1Head(['Host', 'a', 'x_y', '1'], '1.1', 100, 'ALLOW')).toBeNull();
  });
});

describe('gRPC local replies', () => {
  it('maps HTTP status to gRPC status per the gRPC HTTP mapping', () => {
    expect(grpcStatusForHttp(404)).toBe(12);
    expect(grpcStatusForHttp(503)).toBe(14);
    expect(grpcStatusForHttp(504)).toBe(14);
    expect(grpcStatusForHttp(401)).toBe(16);
    expect(grpcStatusForHttp(403)).toBe(7);
    expect(grpcStatusForHttp(400)).toBe(13);
    expect(grpcStatusForHttp(500)).toBe(2);
  });
  it('percent-encodes grpc-message', () => {
    expect(encodeGrpcMessage('a b%\n')).toBe('a b%25%0A');
  });
});
