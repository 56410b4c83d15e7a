import { describe, expect, it } from 'vitest';
import { clusterOf, oneHost, req, routeTo, table } from './helpers.js';

describe('path matching', () => {
  const t = table(
    oneHost([
      routeTo('exact', { path: '/exact' }),
      routeTo('regex', { safe_regex: { regex: '/r/[0-9]+' } }),
      routeTo('sep', { path_separated_prefix: '/api/dev' }),
      routeTo('ci', { prefix: '/CaSe', case_sensitive: false }),
      routeTo('ci-path', { path: '/Only', case_sensitive: false }),
      routeTo('prefix', { prefix: '/p' }),
      routeTo('fallback', { prefix: '/' }),
    ]),
  );
  const at = (path: string) => clusterOf(t.match(req('h', path)));

  it('matches routes first-wins in order', () => {
    expect(at('/exact')).toBe('exact');
    expect(at('/pizza')).toBe('prefix');
    expect(at('/zzz')).toBe('fallback');
  });

  it('matches path exactly, ignoring the query', () => {
    expect(at('/exact?x=1')).toBe('exact');
    expect(at('/exact/')).toBe('fallback');
    expect(at('/Exact')).toBe('fallback');
  });

  it('matches prefix against the path without the query', () => {
    const t2 = table(oneHost([routeTo('q', { prefix: '/a?b' }), routeTo('ab', { prefix: '/ab' })]));
    expect(clusterOf(t2.match(req('h', '/a?b')))).toBeNull();
    expect(clusterOf(t2.match(req('h', '/ab?x')))).toBe('ab');
  });

  it('matches safe_regex against the whole path without the query', () => {
    expect(at('/r/123')).toBe('regex');
    expect(at('/r/123?q=/r/x')).toBe('regex');
    expect(at('/r/123/more')).toBe('fallback');
    expect(at('/x/r/123')).toBe('fallback');
  });

  it('matches path_separated_prefix only at a segment boundary', () => {
    expect(at('/api/dev')).toBe('sep');
    expect(at('/api/dev/')).toBe('sep');
    expect(at('/api/dev/v1')).toBe('sep');
    expect(at('/api/dev?param=true')).toBe('sep');
    expect(at('/api/developer')).toBe('fallback');
  });

  it('honours case_sensitive: false for prefix and path', () => {
    expect(at('/case/x')).toBe('ci');
    expect(at('/CASE')).toBe('ci');
    expect(at('/only')).toBe('ci-path');
    expect(at('/ONLY?x')).toBe('ci-path');
  });
});

describe('header matching', () => {
  const hm = (m: Record<string, unknown>) => table(oneHost([routeTo('hit', { prefix: '/', headers: [m] })]));
  const hits = (t: ReturnType<typeof hm>, headers: Record<string, string | string[]>) =>
    clusterOf(t.match(req('h', '/', headers))) === 'hit';

  it('exact, prefix, suffix, contains (deprecated fields)', () => {
    expect(hits(hm({ name: 'x', exact_match: 'v' }), { x: 'v' })).toBe(true);
    expect(hits(hm({ name: 'x', exact_match: 'v' }), { x: 'V' })).toBe(false);
    expect(hits(hm({ name: 'x', prefix_match: 'ab' }), { x: 'abc' })).toBe(true);
    expect(hits(hm({ name: 'x', suffix_match: 'bc' }), { x: 'abc' })).toBe(true);
    expect(hits(hm({ name: 'x', contains_match: 'b' }), { x: 'abc' })).toBe(true);
    expect(hits(hm({ name: 'x', contains_match: 'z' }), { x: 'abc' })).toBe(false);
  });

  it('string_match with ignore_case and safe_regex', () => {
    const t = hm({ name: 'X-Env', string_match: { exact: 'Prod', ignore_case: true } });
    expect(hits(t, { 'x-env': 'PROD' })).toBe(true);
    expect(hits(t, { 'x-env': 'prod2' })).toBe(false);
    const c = hm({ name: 'x', string_match: { contains: 'MiD', ignore_case: true } });
    expect(hits(c, { x: 'aamidbb' })).toBe(true);
    const r = hm({ name: 'x', safe_regex_match: { regex: 'v[0-9]' } });
    expect(hits(r, { x: 'v1' })).toBe(true);
    expect(hits(r, { x: 'v12' })).toBe(false); // full match
    const r2 = hm({ name: 'x', string_match: { safe_regex: { regex: 'a.c' } } });
    expect(hits(r2, { x: 'abc' })).toBe(true);
  });

  it('present_match true and false', () => {
    expect(hits(hm({ name: 'x', present_match: true }), { x: '' })).toBe(true);
    expect(hits(hm({ name: 'x', present_match: true }), {})).toBe(false);
    expect(hits(hm({ name: 'x', present_match: false }), {})).toBe(true);
    expect(hits(hm({ name: 'x', present_match: false }), { x: 'v' })).toBe(false);
    // no specifier: presence check
    expect(hits(hm({ name: 'x' }), { x: 'v' })).toBe(true);
    expect(hits(hm({ name: 'x' }), {})).toBe(false);
  });

  it('range_match: start inclusive, end exclusive, integers only', () => {
    const t = hm({ name: 'n', range_match: { start: -10, end: 10 } });
    expect(hits(t, { n: '-10' })).toBe(true);
    expect(hits(t, { n: '9' })).toBe(true);
    expect(hits(t, { n: '10' })).toBe(false);
    expect(hits(t, { n: '1.5' })).toBe(false);
    expect(hits(t, { n: 'abc' })).toBe(false);
    expect(hits(t, { n: '99999999999999999999' })).toBe(false);
  });

  it('invert_match inverts a present header but never matches an absent one (Envoy)', () => {
    const t = hm({ name: 'x', exact_match: 'v', invert_match: true });
    expect(hits(t, { x: 'w' })).toBe(true);
    expect(hits(t, { x: 'v' })).toBe(false);
    expect(hits(t, {})).toBe(false);
    const p = hm({ name: 'x', present_match: true, invert_match: true });
    expect(hits(p, {})).toBe(true);
    expect(hits(p, { x: '1' })).toBe(false);
  });

  it('treat_missing_header_as_empty matches an absent header as ""', () => {
    const t = hm({ name: 'x', string_match: { exact: '' }, treat_missing_header_as_empty: true });
    expect(hits(t, {})).toBe(true);
    const inv = hm({ name: 'x', exact_match: 'v', invert_match: true, treat_missing_header_as_empty: true });
    expect(hits(inv, {})).toBe(true);
  });

  it('joins repeated values with "," and reads pseudo-headers from the request', () => {
    expect(hits(hm({ name: 'x', exact_match: 'a,b' }), { x: ['a', 'b'] })).toBe(true);
    const m = table(
      oneHost([routeTo('hit', { prefix: '/', headers: [{ name: ':method', exact_match: 'POST' }] })]),
    );
    expect(clusterOf(m.match(req('h', '/', {}, 'POST')))).toBe('hit');
    expect(clusterOf(m.match(req('h', '/', {}, 'GET')))).toBeNull();
    const a = table(
      oneHost([routeTo('hit', { prefix: '/', headers: [{ name: ':authority', suffix_match: '.io' }] })]),
    );
    expect(clusterOf(a.match(req('x.io', '/')))).toBe('hit');
  });

  it('requires every header matcher to match', () => {
    const t = table(
      oneHost([
        routeTo('hit', {
          prefix: '/',
          headers: [
            { name: 'a', exact_match: '1' },
            { name: 'b', exact_match: '2' },
          ],
        }),
      ]),
    );
    expect(clusterOf(t.match(req('h', '/', { a: '1', b: '2' })))).toBe('hit');
    expect(clusterOf(t.match(req('h', '/', { a: '1' })))).toBeNull();
  });
});

describe('query parameter and gRPC matching', () => {
  const t = table(
    oneHost([
      routeTo('value', { prefix: '/', query_parameters: [{ name: 'v', string_match: { exact: 'a b' } }] }),
      routeTo('present', { prefix: '/', query_parameters: [{ name: 'debug', present_match: true }] }),
      routeTo('grpc', { prefix: '/', grpc: {} }),
      routeTo('other', { prefix: '/' }),
    ]),
  );
  const at = (path: string, headers = {}) => clusterOf(t.match(req('h', path, headers)));

  it('matches a decoded query value; only the first occurrence counts', () => {
    expect(at('/?v=a%20b')).toBe('value');
    expect(at('/?x=1&v=a%20b&y')).toBe('value');
    expect(at('/?v=zz&v=a%20b')).toBe('other');
    expect(at('/x?%76=a%20b')).toBe('value');
  });

  it('matches presence, with or without a value', () => {
    expect(at('/?debug')).toBe('present');
    expect(at('/?debug=0')).toBe('present');
    expect(at('/?debugger=1')).toBe('other');
    expect(at('/')).toBe('other');
  });

  it('grpc: {} matches only application/grpc content types', () => {
    expect(at('/', { 'content-type': 'application/grpc' })).toBe('grpc');
    expect(at('/', { 'content-type': 'application/grpc+proto' })).toBe('grpc');
    expect(at('/', { 'content-type': 'application/grpc-web' })).toBe('other');
    expect(at('/', { 'content-type': 'application/json' })).toBe('other');
  });
});

describe('require_tls', () => {
  const mk = (requireTls: string) =>
    table({
      name: 'rc',
      virtual_hosts: [
        { name: 'vh', domains: ['*'], require_tls: requireTls, routes: [routeTo('c', { prefix: '/' })] },
      ],
    });

  it('ALL redirects plain HTTP to https with 301', () => {
    const m = mk('ALL').match(req('h.com:80', '/a?b'));
    expect(m?.action.kind).toBe('redirect');
    if (m?.action.kind === 'redirect') {
      expect(m.action.status).toBe(301);
      expect(m.action.location(req('h.com:80', '/a?b'))).toBe('https://h.com/a?b');
    }
    expect(clusterOf(mk('ALL').match(req('h.com', '/', {}, 'GET', 'https')))).toBe('c');
  });

  it('EXTERNAL_ONLY lets internal requests through', () => {
    expect(clusterOf(mk('EXTERNAL_ONLY').match(req('h', '/', { 'x-envoy-internal': 'true' })))).toBe('c');
    expect(mk('EXTERNAL_ONLY').match(req('h', '/'))?.action.kind).toBe('redirect');
  });
});

describe('query scanning cost', () => {
  it('stays linear on a long query of parameters without values', () => {
    const t = table(
      oneHost([routeTo('q', { prefix: '/', query_parameters: [{ name: 'zz', present_match: true }] })]),
    );
    const path = `/?${'a&'.repeat(50_000)}zz`;
    const start = Date.now();
    expect(clusterOf(t.match(req('h', path)))).toBe('q');
    expect(Date.now() - start).toBeLessThan(1000);
  });
});
