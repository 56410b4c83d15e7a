/** Cookie-based session state: address encoding, path scope, config validation. */
import { describe, expect, it } from 'vitest';
import { Issues } from '../../../../../proxy/config/issues.js';
import type { ProtoObject } from '../../../../../proxy/config/proto-object.js';
import {
  CookieSessionState,
  decodeAddress,
  encodeAddress,
} from '../../../../../proxy/extensions/filters/http/stateful_session/cookie-session-state.js';
import { statefulSessionFilterFactory } from '../../../../../proxy/extensions/filters/http/stateful_session/factory.js';

const COOKIE_TYPE =
  'type.googleapis.com/envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState';

function parse(cfg: ProtoObject) {
  const issues = new Issues();
  const out = statefulSessionFilterFactory.parseConfig(cfg, 'f', issues);
  return { out, issues };
}

describe('cookie session state', () => {
  it('round-trips addresses as base64 (IPv4 and IPv6)', () => {
    for (const a of ['127.0.0.1:8080', '[::1]:443', '10.0.0.1:1']) {
      expect(encodeAddress(a)).toBe(Buffer.from(a).toString('base64'));
      expect(decodeAddress(encodeAddress(a))).toBe(a);
    }
  });

  it('rejects values that do not decode to an address', () => {
    expect(decodeAddress('')).toBe('');
    expect(decodeAddress(Buffer.from('no-port').toString('base64'))).toBe('');
    expect(decodeAddress(Buffer.from('a b:80').toString('base64'))).toBe('');
    expect(decodeAddress('%%%')).toBe('');
    const s = new CookieSessionState({ name: 's', ttlSeconds: 0, path: '' });
    expect(s.hostFrom({ cookie: `s=${'A'.repeat(500)}` })).toBe('');
    expect(s.hostFrom({ cookie: `s="${encodeAddress('1.2.3.4:5')}"` })).toBe('1.2.3.4:5');
  });

  it('path scope follows segment boundaries', () => {
    const s = new CookieSessionState({ name: 's', ttlSeconds: 0, path: '/app' });
    expect(s.appliesTo('/app')).toBe(true);
    expect(s.appliesTo('/app/x?y=1')).toBe(true);
    expect(s.appliesTo('/app?y=1')).toBe(true);
    expect(s.appliesTo('/application')).toBe(false);
    expect(s.appliesTo('/')).toBe(false);
    expect(new CookieSessionState({ name: 's', ttlSeconds: 0, path: '/a/' }).appliesTo('/a/b')).toBe(true);
  });

  it('a ttl of 0 makes a session cookie (no Max-Age)', () => {
    const s = new CookieSessionState({ name: 's', ttlSeconds: 0, path: '' });
    expect(s.setCookieFor('1.2.3.4:5')).toBe(`s="${encodeAddress('1.2.3.4:5')}"; HttpOnly`);
  });
});

describe('stateful session filter config', () => {
  it('parses a cookie session state', () => {
    const { out, issues } = parse({
      session_state: {
        name: 'envoy.http.stateful_session.cookie',
        typed_config: { '@type': COOKIE_TYPE, cookie: { name: 'sess', ttl: 5500, path: '/p' } },
      },
    });
    expect(issues.errorCount).toBe(0);
    expect(out.state?.config).toEqual({ name: 'sess', ttlSeconds: 5, path: '/p' });
  });

  it('no session_state: a filter that does nothing', () => {
    const { out, issues } = parse({});
    expect(issues.errorCount).toBe(0);
    expect(out.state).toBeNull();
  });

  const bad: Array<[string, ProtoObject, RegExp]> = [
    ['strict', { strict: true }, /f\.strict: strict mode is not supported/],
    ['no typed_config', { session_state: { name: 'x' } }, /f\.session_state\.typed_config: is required/],
    [
      'missing cookie',
      { session_state: { typed_config: { '@type': COOKIE_TYPE } } },
      /f\.session_state\.typed_config\.cookie: is required/,
    ],
    [
      'bad cookie name',
      { session_state: { typed_config: { '@type': COOKIE_TYPE, cookie: { name: 'a b' } } } },
      /cookie\.name: must be a non-empty cookie name/,
    ],
    [
      'cookie path with CR',
      { session_state: { typed_config: { '@type': COOKIE_TYPE, cookie: { name: 'a', path: '/\r' } } } },
      /cookie\.path/,
    ],
    ['unknown field', { nope: 1 }, /f\.nope: field not supported/],
  ];
  for (const [name, cfg, re] of bad) {
    it(`refuses ${name}`, () => {
      const { issues } = parse(cfg);
      expect(issues.errorCount).toBeGreaterThan(0);
      expect(issues.format()).toMatch(re);
    });
  }
});
