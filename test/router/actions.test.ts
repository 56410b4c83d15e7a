import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MatchedRoute, RouteRequest } from '../../proxy/router/types.js';
import { oneHost, req, table } from './helpers.js';

function forward(m: MatchedRoute | null) {
  if (m === null || m.action.kind !== 'route')
    throw new Error(`expected a route action, got ${m?.action.kind}`);
  return m.action;
}

function redirectFor(
  redirect: Record<string, unknown>,
  r: RouteRequest,
  match: Record<string, unknown> = { prefix: '/' },
) {
  const t = table(oneHost([{ match, redirect }]));
  const m = t.match(r);
  if (m === null || m.action.kind !== 'redirect') throw new Error('expected a redirect');
  return { status: m.action.status, location: m.action.location(r) };
}

describe('route action', () => {
  it('defaults: 15 s timeout, idle timeout inherited, 503 when the cluster is missing', () => {
    const a = forward(
      table(oneHost([{ match: { prefix: '/' }, route: { cluster: 'c' } }])).match(req('h', '/')),
    );
    expect(a.timeoutMs).toBe(15000);
    expect(a.idleTimeoutMs).toBe(-1);
    expect(a.clusterNotFoundStatus).toBe(503);
    expect(a.hostRewriteLiteral).toBeNull();
    expect(a.autoHostRewrite).toBe(false);
    expect(a.rewritePath('/x?y')).toBe('/x?y');
    expect(a.clusterMutations('c')).toBeNull();
  });

  it('carries timeout 0 (disabled), idle_timeout, host rewrites and cluster_not_found_response_code', () => {
    const a = forward(
      table(
        oneHost([
          {
            match: { prefix: '/' },
            route: {
              cluster: 'c',
              timeout: 0,
              idle_timeout: 2500,
              host_rewrite_literal: 'up.internal',
              cluster_not_found_response_code: 'NOT_FOUND',
            },
          },
        ]),
      ).match(req('h', '/')),
    );
    expect(a.timeoutMs).toBe(0);
    expect(a.idleTimeoutMs).toBe(2500);
    expect(a.hostRewriteLiteral).toBe('up.internal');
    expect(a.clusterNotFoundStatus).toBe(404);
    const auto = forward(
      table(oneHost([{ match: { prefix: '/' }, route: { cluster: 'c', auto_host_rewrite: true } }])).match(
        req('h', '/'),
      ),
    );
    expect(auto.autoHostRewrite).toBe(true);
  });

  it('cluster_header picks the cluster from a request header, or "" when absent', () => {
    const a = forward(
      table(oneHost([{ match: { prefix: '/' }, route: { cluster_header: 'X-Cluster' } }])).match(
        req('h', '/'),
      ),
    );
    expect(a.selectCluster({ 'x-cluster': 'blue' }, 0)).toBe('blue');
    expect(a.selectCluster({}, 0)).toBe('');
  });

  it('weighted_clusters selects by cumulative weight with the given random numbers', () => {
    const a = forward(
      table(
        oneHost([
          {
            match: { prefix: '/' },
            route: {
              weighted_clusters: {
                clusters: [
                  { name: 'a', weight: 1 },
                  { name: 'zero', weight: 0 },
                  { name: 'b', weight: 3 },
                ],
              },
            },
          },
        ]),
      ).match(req('h', '/')),
    );
    // total 4: [0,1) → a, [1,4) → b; zero-weight clusters are never picked
    expect(a.selectCluster({}, 0)).toBe('a');
    expect(a.selectCluster({}, 0.2499)).toBe('a');
    expect(a.selectCluster({}, 0.25)).toBe('b');
    expect(a.selectCluster({}, 0.999999)).toBe('b');
    const counts: Record<string, number> = { a: 0, b: 0, zero: 0 };
    for (let i = 0; i < 1000; i++) counts[a.selectCluster({}, i / 1000)]++;
    expect(counts).toEqual({ a: 250, b: 750, zero: 0 });
  });

  it('weighted cluster header mutations and host rewrite are exposed per cluster', () => {
    const a = forward(
      table(
        oneHost([
          {
            match: { prefix: '/' },
            route: {
              weighted_clusters: {
                clusters: [
                  {
                    name: 'a',
                    weight: 1,
                    host_rewrite_literal: 'a.up',
                    request_headers_to_add: [{ header: { key: 'x-w', value: 'a' } }],
                    response_headers_to_remove: ['server'],
                  },
                  { name: 'b', weight: 1 },
                ],
              },
            },
          },
        ]),
      ).match(req('h', '/')),
    );
    const ma = a.clusterMutations('a');
    expect(ma?.hostRewriteLiteral).toBe('a.up');
    expect(ma?.requestHeaders.add).toEqual([{ name: 'x-w', value: 'a', action: 'append' }]);
    expect(ma?.responseHeaders.remove).toEqual(['server']);
    expect(a.clusterMutations('b')?.requestHeaders.levels).toEqual([]);
    expect(a.clusterMutations('nope')).toBeNull();
  });
});

describe('path rewrites', () => {
  const rewrite = (match: Record<string, unknown>, route: Record<string, unknown>, path: string) =>
    forward(table(oneHost([{ match, route: { cluster: 'c', ...route } }])).match(req('h', path))).rewritePath(
      path,
    );

  it('prefix_rewrite replaces the matched prefix and keeps the query', () => {
    expect(rewrite({ prefix: '/old/' }, { prefix_rewrite: '/new/' }, '/old/x?q=1')).toBe('/new/x?q=1');
  });

  it("Envoy's trailing-slash caveat: '/prefix' rewritten to '/' leaves a double slash", () => {
    expect(rewrite({ prefix: '/prefix' }, { prefix_rewrite: '/' }, '/prefix/etc')).toBe('//etc');
    expect(rewrite({ prefix: '/prefix/' }, { prefix_rewrite: '/' }, '/prefix/etc')).toBe('/etc');
    expect(rewrite({ prefix: '/prefix' }, { prefix_rewrite: '/' }, '/prefix')).toBe('/');
  });

  it('prefix_rewrite with case-insensitive prefix replaces the same number of characters', () => {
    expect(rewrite({ prefix: '/api', case_sensitive: false }, { prefix_rewrite: '/v2' }, '/API/x')).toBe(
      '/v2/x',
    );
  });

  it('prefix_rewrite on a path match or a regex match replaces the whole path, not the query', () => {
    expect(rewrite({ path: '/a' }, { prefix_rewrite: '/b' }, '/a?x')).toBe('/b?x');
    expect(rewrite({ safe_regex: { regex: '/r/.*' } }, { prefix_rewrite: '/z' }, '/r/1/2?x')).toBe('/z?x');
    expect(rewrite({ path_separated_prefix: '/s' }, { prefix_rewrite: '/t' }, '/s/1')).toBe('/t/1');
  });

  it('regex_rewrite substitutes every match with RE2 group references', () => {
    const rr = {
      regex_rewrite: { pattern: { regex: '^/service/([^/]+)(/.*)$' }, substitution: '\\2/instance/\\1' },
    };
    expect(rewrite({ prefix: '/service' }, rr, '/service/foo/v1/api?x=/service/a/b')).toBe(
      '/v1/api/instance/foo?x=/service/a/b',
    );
    const all = { regex_rewrite: { pattern: { regex: 'one' }, substitution: 'two' } };
    expect(rewrite({ prefix: '/' }, all, '/xxx/one/yyy/one/zzz')).toBe('/xxx/two/yyy/two/zzz');
    const dollar = { regex_rewrite: { pattern: { regex: 'a' }, substitution: '$1\\\\\\0' } };
    expect(rewrite({ prefix: '/' }, dollar, '/a')).toBe('/$1\\a');
  });
});

describe('redirects', () => {
  it('defaults to 301 and keeps scheme, host and path', () => {
    expect(redirectFor({ host_redirect: 'new.com' }, req('old.com', '/p?q'))).toEqual({
      status: 301,
      location: 'http://new.com/p?q',
    });
  });

  it('https_redirect switches scheme and drops the default http port', () => {
    expect(redirectFor({ https_redirect: true }, req('h.com:80', '/x')).location).toBe('https://h.com/x');
    expect(redirectFor({ https_redirect: true }, req('h.com:8080', '/x')).location).toBe(
      'https://h.com:8080/x',
    );
    expect(
      redirectFor({ scheme_redirect: 'HTTP' }, req('h.com:443', '/x', {}, 'GET', 'https')).location,
    ).toBe('http://h.com/x');
  });

  it('port_redirect replaces the port (IPv6 hosts included)', () => {
    expect(redirectFor({ port_redirect: 8443 }, req('h.com:80', '/x')).location).toBe('http://h.com:8443/x');
    expect(redirectFor({ port_redirect: 8443 }, req('[::1]:80', '/x')).location).toBe('http://[::1]:8443/x');
    expect(redirectFor({ port_redirect: 8443, host_redirect: 'o' }, req('h', '/x')).location).toBe(
      'http://o:8443/x',
    );
  });

  it('path_redirect keeps the request query unless strip_query; its own query wins', () => {
    expect(redirectFor({ path_redirect: '/new' }, req('h', '/old?a=1')).location).toBe('http://h/new?a=1');
    expect(redirectFor({ path_redirect: '/new', strip_query: true }, req('h', '/old?a=1')).location).toBe(
      'http://h/new',
    );
    expect(redirectFor({ path_redirect: '/new?b=2', strip_query: true }, req('h', '/old?a=1')).location).toBe(
      'http://h/new?b=2',
    );
    expect(redirectFor({ path_redirect: 'rel' }, req('h', '/old')).location).toBe('http://h/rel');
  });

  it('prefix_rewrite and regex_rewrite rewrite the redirect path', () => {
    expect(redirectFor({ prefix_rewrite: '/v2/' }, req('h', '/v1/a?x'), { prefix: '/v1/' }).location).toBe(
      'http://h/v2/a?x',
    );
    expect(
      redirectFor({ prefix_rewrite: '/v2/', strip_query: true }, req('h', '/v1/a?x'), { prefix: '/v1/' })
        .location,
    ).toBe('http://h/v2/a');
    expect(
      redirectFor({ regex_rewrite: { pattern: { regex: '/v1/' }, substitution: '/v3/' } }, req('h', '/v1/a'))
        .location,
    ).toBe('http://h/v3/a');
  });

  it('maps every response_code', () => {
    const codes: Record<string, number> = {
      MOVED_PERMANENTLY: 301,
      FOUND: 302,
      SEE_OTHER: 303,
      TEMPORARY_REDIRECT: 307,
      PERMANENT_REDIRECT: 308,
    };
    for (const [name, status] of Object.entries(codes)) {
      expect(redirectFor({ host_redirect: 'x', response_code: name }, req('h', '/')).status).toBe(status);
    }
  });
});

describe('direct responses', () => {
  let dir: string | null = null;
  afterEach(() => {
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  const direct = (dr: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const m = table({ ...oneHost([{ match: { prefix: '/' }, direct_response: dr }]), ...extra }).match(
      req('h', '/p?q'),
    );
    if (m === null || m.action.kind !== 'direct_response') throw new Error('expected a direct response');
    return m.action;
  };

  it('returns status and inline body', () => {
    const a = direct({ status: 200, body: { inline_string: 'hello' } });
    expect(a.status).toBe(200);
    expect(a.body?.toString()).toBe('hello');
    expect(a.location(req('h', '/p?q'))).toBeNull();
  });

  it('inline_bytes, filename and no body', () => {
    expect(direct({ status: 418, body: { inline_bytes: Buffer.from([1, 2]) } }).body).toEqual(
      Buffer.from([1, 2]),
    );
    dir = mkdtempSync(join(tmpdir(), 'remora-dr-'));
    const file = join(dir, 'body.txt');
    writeFileSync(file, 'from file');
    expect(direct({ status: 503, body: { filename: file } }).body?.toString()).toBe('from file');
    expect(direct({ status: 204 }).body).toBeNull();
  });

  it('adds Location for 201 and 3xx, as Envoy does', () => {
    expect(direct({ status: 301 }).location(req('h', '/p?q'))).toBe('http://h/p?q');
    expect(direct({ status: 201 }).location(req('h', '/p', {}, 'POST', 'https'))).toBe('https://h/p');
  });

  it('accepts a body up to max_direct_response_body_size_bytes', () => {
    const body = 'x'.repeat(5000);
    expect(
      direct({ status: 200, body: { inline_string: body } }, { max_direct_response_body_size_bytes: 6000 })
        .body?.length,
    ).toBe(5000);
  });
});
