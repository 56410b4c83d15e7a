/**
 * Route hash policies: translation (with field paths for bad input) and evaluation against a
 * BigInt reference of Envoy's combination rule, rotl(hash, 1) ^ next over 64 bits, reduced to
 * the top 53 bits.
 */
import { describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { xxHash64 } from '../../proxy/extensions/load-balancing-policies/common/xxhash64.js';
import {
  findCookie,
  HashOutcome,
  HashPolicy,
  type HashRequest,
  ipOf,
  queryParameter,
  sourceIpHashKey,
} from '../../proxy/router/hash-policy.js';
import { translateHashPolicies } from '../../proxy/router/hash-policy-translate.js';

const MASK = (1n << 64n) - 1n;
const rotl1 = (h: bigint) => ((h << 1n) | (h >> 63n)) & MASK;
const top53 = (h: bigint) => Number(h >> 11n);

function compile(list: unknown[]): { policy: HashPolicy | null; issues: Issues } {
  const issues = new Issues();
  const models = translateHashPolicies({ hash_policy: list } as ProtoObject, 'route', issues);
  return { policy: HashPolicy.compile(models), issues };
}

function req(over: Partial<HashRequest> = {}): HashRequest {
  return { method: 'GET', path: '/', authority: 'example.com', scheme: 'http', headers: {}, ...over };
}

function evaluate(
  p: HashPolicy,
  r: HashRequest,
  remote = '10.0.0.1:1234',
  local = '10.0.0.2:80',
): HashOutcome {
  const out = new HashOutcome();
  p.evaluate(r, remote, local, out);
  return out;
}

describe('hash policy evaluation', () => {
  it('one header: xxHash64 of the value, top 53 bits', () => {
    const { policy } = compile([{ header: { header_name: 'X-User' } }]);
    const out = evaluate(policy!, req({ headers: { 'x-user': 'alice' } }));
    expect(out.key).toBe(top53(xxHash64('alice')));
    expect(out.setCookie).toBeNull();
  });

  it('several policies combine as rotl(hash, 1) ^ next, in order', () => {
    const { policy } = compile([
      { header: { header_name: 'x-a' } },
      { query_parameter: { name: 'q' } },
      { connection_properties: { source_ip: true } },
    ]);
    const out = evaluate(policy!, req({ headers: { 'x-a': 'one' }, path: '/p?q=two' }), '192.0.2.7:5555');
    let h = xxHash64('one');
    h = rotl1(h) ^ xxHash64('two');
    h = rotl1(h) ^ xxHash64('192.0.2.7');
    expect(out.key).toBe(top53(h));
  });

  it('a policy whose input is missing is skipped; none at all leaves the key undefined', () => {
    const { policy } = compile([{ header: { header_name: 'x-a' } }, { header: { header_name: 'x-b' } }]);
    expect(evaluate(policy!, req({ headers: { 'x-b': 'v' } })).key).toBe(top53(xxHash64('v')));
    expect(evaluate(policy!, req()).key).toBeUndefined();
  });

  it('terminal stops once a hash exists, not before', () => {
    const { policy } = compile([
      { header: { header_name: 'x-a' }, terminal: true },
      { header: { header_name: 'x-b' } },
    ]);
    expect(evaluate(policy!, req({ headers: { 'x-a': '1', 'x-b': '2' } })).key).toBe(top53(xxHash64('1')));
    expect(evaluate(policy!, req({ headers: { 'x-b': '2' } })).key).toBe(top53(xxHash64('2')));
  });

  it('header regex_rewrite hashes the rewritten value; pseudo-headers read the request line', () => {
    const { policy, issues } = compile([
      {
        header: {
          header_name: ':path',
          regex_rewrite: { pattern: { regex: '^/users/([^/]+)/.*$' }, substitution: '\\1' },
        },
      },
    ]);
    expect(issues.errorCount).toBe(0);
    const a = evaluate(policy!, req({ path: '/users/bob/photos' }));
    const b = evaluate(policy!, req({ path: '/users/bob/settings' }));
    expect(a.key).toBe(top53(xxHash64('bob')));
    expect(b.key).toBe(a.key);
  });

  it('cookie: reads the request cookie; with a ttl and no cookie, makes one up from the addresses', () => {
    const { policy } = compile([{ cookie: { name: 'sid', ttl: 3_600_000, path: '/' } }]);
    const has = evaluate(policy!, req({ headers: { cookie: 'a=1; sid="xyz"; b=2' } }));
    expect(has.key).toBe(top53(xxHash64('xyz')));
    expect(has.setCookie).toBeNull();
    const made = evaluate(policy!, req(), '10.0.0.1:1234', '10.0.0.2:80');
    const value = xxHash64('10.0.0.1:123410.0.0.2:80').toString(16).padStart(16, '0');
    expect(made.setCookie).toBe(`sid="${value}"; Max-Age=3600; Path=/; HttpOnly`);
    expect(made.key).toBe(top53(xxHash64(value)));
  });

  it('cookie without ttl: no cookie made, no key', () => {
    const { policy } = compile([{ cookie: { name: 'sid' } }]);
    const out = evaluate(policy!, req());
    expect(out.key).toBeUndefined();
    expect(out.setCookie).toBeNull();
  });

  it('a repeated header hashes the same whatever the order of its values', () => {
    const { policy } = compile([{ header: { header_name: 'x-a' } }]);
    const a = evaluate(policy!, req({ headers: { 'x-a': ['2', '1'] } }));
    const b = evaluate(policy!, req({ headers: { 'x-a': ['1', '2'] } }));
    expect(a.key).toBe(b.key);
  });

  it('keys are deterministic across compilations (another proxy, a restart)', () => {
    const list = [{ header: { header_name: 'x-a' } }, { query_parameter: { name: 'q' } }];
    const r = req({ headers: { 'x-a': 'k' }, path: '/?q=v' });
    expect(evaluate(compile(list).policy!, r).key).toBe(evaluate(compile(list).policy!, r).key);
  });
});

describe('hash policy inputs', () => {
  it('findCookie handles spacing, quotes, several Cookie headers and absence', () => {
    expect(findCookie({ cookie: 'a=1;b=2' }, 'b')).toBe('2');
    expect(findCookie({ cookie: ' a = 1 ; b="x y"' }, 'b')).toBe('x y');
    expect(findCookie({ cookie: ['a=1', 'b=3'] }, 'b')).toBe('3');
    expect(findCookie({ cookie: 'ab=1' }, 'b')).toBeUndefined();
    expect(findCookie({}, 'b')).toBeUndefined();
  });

  it('queryParameter decodes names and values, takes the first, tolerates bad escapes', () => {
    expect(queryParameter('/p?x=1&name=J%C3%B6rg&name=2', 'name')).toBe('Jörg');
    expect(queryParameter('/p?flag&x=1', 'flag')).toBe('');
    expect(queryParameter('/p?x=%zz', 'x')).toBe('%zz');
    expect(queryParameter('/p', 'x')).toBeUndefined();
    expect(queryParameter('/p?&&', 'x')).toBeUndefined();
  });

  it('ipOf strips the port and IPv6 brackets', () => {
    expect(ipOf('10.1.2.3:80')).toBe('10.1.2.3');
    expect(ipOf('[::1]:8080')).toBe('::1');
  });
});

describe('hash policy translation', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['no specifier', { terminal: true }, /route\.hash_policy\[0\]: one of header, cookie/],
    ['two specifiers', { header: { header_name: 'a' }, cookie: { name: 'b' } }, /only one of header, cookie/],
    ['bad header name', { header: { header_name: 'bad name' } }, /hash_policy\[0\]\.header\.header_name/],
    [
      'empty cookie name',
      { cookie: { name: '' } },
      /hash_policy\[0\]\.cookie\.name: must be a non-empty cookie name/,
    ],
    ['cookie path with ;', { cookie: { name: 'a', path: '/;x' } }, /hash_policy\[0\]\.cookie\.path/],
    ['empty query name', { query_parameter: {} }, /hash_policy\[0\]\.query_parameter\.name: is required/],
    [
      'filter_state',
      { filter_state: { key: 'k' } },
      /hash_policy\[0\]\.filter_state: filter_state hash policies are not supported/,
    ],
    ['unknown field', { header: { header_name: 'a', nope: 1 } }, /hash_policy\[0\]\.header\.nope/],
    [
      'bad regex',
      { header: { header_name: 'a', regex_rewrite: { pattern: { regex: '(' }, substitution: '' } } },
      /hash_policy\[0\]\.header\.regex_rewrite/,
    ],
  ];
  for (const [name, policy, message] of cases) {
    it(`refuses ${name}`, () => {
      const { issues } = compile([policy]);
      expect(issues.errorCount).toBeGreaterThan(0);
      expect(issues.format()).toMatch(message);
    });
  }

  it('source_ip false is dropped with a warning; an empty list compiles to null', () => {
    const { policy, issues } = compile([{ connection_properties: { source_ip: false } }]);
    expect(policy).toBeNull();
    expect(issues.errorCount).toBe(0);
    expect(issues.format()).toMatch(/never produces a hash/);
  });
});

describe('sourceIpHashKey (for tcp_proxy)', () => {
  it('equals the HTTP source_ip policy key for the same peer', () => {
    const { policy } = compile([{ connection_properties: { source_ip: true } }]);
    expect(sourceIpHashKey('192.0.2.9:4000')).toBe(evaluate(policy!, req(), '192.0.2.9:1').key);
    expect(sourceIpHashKey('')).toBeUndefined();
  });
});
