import { describe, expect, it } from 'vitest';
import { type EscapedSlashesAction, normalizePath } from '../../proxy/router/path-normalize.js';
import { oneHost, req, table } from './helpers.js';

const opts = (
  normalize = true,
  mergeSlashes = false,
  escapedSlashes: EscapedSlashesAction = 'KEEP_UNCHANGED',
) => ({
  normalize,
  mergeSlashes,
  escapedSlashes,
});
const ok = (raw: string, o = opts()) => {
  const r = normalizePath(raw, o);
  if (!r.ok) throw new Error(`${raw} rejected: ${r.status} ${r.details}`);
  return r.path;
};

describe('normalize_path (RFC 3986 dot segments and unreserved decoding, as Envoy)', () => {
  it('removes dot segments', () => {
    expect(ok('/a/../b')).toBe('/b');
    expect(ok('/a/b/../c')).toBe('/a/c');
    expect(ok('/a/b/./c')).toBe('/a/b/c');
    expect(ok('/a/b/../../../../c')).toBe('/c');
    expect(ok('/..')).toBe('/');
    expect(ok('/.')).toBe('/');
    expect(ok('/../a/b')).toBe('/a/b');
    expect(ok('/a/b/..')).toBe('/a/');
    expect(ok('/a/.')).toBe('/a/');
  });

  it('decodes percent-encoded dots before removing segments', () => {
    expect(ok('/a/%2e%2e/b')).toBe('/b');
    expect(ok('/a/b/%2E%2E/c')).toBe('/a/c');
    expect(ok('/a/b/%2E./c')).toBe('/a/c');
    expect(ok('/a/b/%2E/c')).toBe('/a/b/c');
  });

  it('decodes unreserved characters and keeps other escapes as they are (Envoy keeps their case)', () => {
    expect(ok('/%41%62%7e%2D')).toBe('/Ab~-');
    expect(ok('/a/%2F%2f/c')).toBe('/a/%2F%2f/c');
    expect(ok('/%c0%af')).toBe('/%c0%af');
    expect(ok('/%5c%25')).toBe('/%5c%25');
  });

  it('treats a backslash as a slash', () => {
    expect(ok('/a/..\\c')).toBe('/c');
  });

  it('percent-encodes characters a path may not hold', () => {
    expect(ok('/a b"<>')).toBe('/a%20b%22%3C%3E');
    expect(ok('/caf\u00e9')).toBe('/caf%E9');
  });

  it('leaves the query untouched', () => {
    expect(ok('/a/../b?x=/../%2e&y=a//b')).toBe('/b?x=/../%2e&y=a//b');
    expect(ok('/a/./b?')).toBe('/a/b?');
  });

  it('rejects malformed percent-encoding and encoded NUL with 400', () => {
    for (const bad of ['/a%zzb', '/a%2', '/a%', '/xyz/.%00../abc', '/xyz/AAAAA%%0000/abc']) {
      const r = normalizePath(bad, opts());
      expect(r.ok, bad).toBe(false);
      if (!r.ok) {
        expect(r.status).toBe(400);
        expect(r.details).toBe('path_normalization_failed');
      }
    }
  });

  it('does nothing when normalize_path is off', () => {
    expect(ok('/a/../b', opts(false))).toBe('/a/../b');
    expect(ok('/a%zz', opts(false))).toBe('/a%zz');
  });
});

describe('merge_slashes', () => {
  it('merges runs of slashes in the path only', () => {
    expect(ok('//a//b', opts(false, true))).toBe('/a/b');
    expect(ok('/a////b/c//', opts(false, true))).toBe('/a/b/c/');
    expect(ok('/a//b?a=///c', opts(false, true))).toBe('/a/b?a=///c');
    expect(ok('//a/?b', opts(false, true))).toBe('/a/?b');
  });

  it('runs after normalisation', () => {
    expect(ok('/a/.//b', opts(true, true))).toBe('/a/b');
    expect(ok('//..//a', opts(true, true))).toBe('/a');
  });

  it('keeps double slashes without it', () => {
    expect(ok('//a//b', opts(true, false))).toBe('//a//b');
  });
});

describe('path_with_escaped_slashes_action', () => {
  it('KEEP_UNCHANGED leaves %2F and %5C', () => {
    expect(ok('/a%2Fb%5cc', opts(true, false, 'KEEP_UNCHANGED'))).toBe('/a%2Fb%5cc');
  });

  it('REJECT_REQUEST answers 400', () => {
    const r = normalizePath('/a%2fb', opts(true, false, 'REJECT_REQUEST'));
    expect(r).toEqual({ ok: false, status: 400, details: 'path_normalization_failed', location: null });
    expect(ok('/a/b?x=%2F', opts(true, false, 'REJECT_REQUEST'))).toBe('/a/b?x=%2F');
  });

  it('UNESCAPE_AND_FORWARD unescapes, then normalises', () => {
    expect(ok('/a%2Fb', opts(true, false, 'UNESCAPE_AND_FORWARD'))).toBe('/a/b');
    expect(ok('/a/b%2F..%2Fc', opts(true, false, 'UNESCAPE_AND_FORWARD'))).toBe('/a/c');
    expect(ok('/a%5Cb', opts(true, false, 'UNESCAPE_AND_FORWARD'))).toBe('/a/b');
    expect(ok('/a%5Cb', opts(false, false, 'UNESCAPE_AND_FORWARD'))).toBe('/a\\b');
  });

  it('UNESCAPE_AND_REDIRECT answers 307 with the normalised path', () => {
    const r = normalizePath('/a%2F%2Fb/../c?q', opts(true, true, 'UNESCAPE_AND_REDIRECT'));
    expect(r).toEqual({ ok: false, status: 307, details: 'path_normalization_failed', location: '/a/c?q' });
    expect(ok('/plain', opts(true, true, 'UNESCAPE_AND_REDIRECT'))).toBe('/plain');
  });
});

describe('request-target shape', () => {
  it('rejects a path that does not start with / (Envoy: 404 absolute_path)', () => {
    for (const bad of ['a/b', '', 'http://x/y']) {
      const r = normalizePath(bad, opts());
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.status).toBe(404);
        expect(r.details).toBe('absolute_path');
      }
    }
  });

  it('accepts * only for OPTIONS', () => {
    expect(normalizePath('*', opts(), 'OPTIONS')).toEqual({ ok: true, path: '*' });
    expect(normalizePath('*', opts(), 'GET').ok).toBe(false);
  });

  it('rejects fragments with 400', () => {
    const r = normalizePath('/a#frag', opts(false));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.status).toBe(400);
  });
});

describe('normalised paths reach the right route', () => {
  const t = table(
    oneHost([
      { match: { prefix: '/admin' }, direct_response: { status: 403 } },
      { match: { prefix: '/public/' }, route: { cluster: 'public' } },
      { match: { prefix: '/' }, route: { cluster: 'default' } },
    ]),
  );
  const routed = (raw: string) => {
    const r = normalizePath(raw, opts(true, true, 'UNESCAPE_AND_FORWARD'));
    if (!r.ok) return `rejected ${r.status}`;
    const m = t.match(req('h', r.path));
    return m === null ? null : m.action.kind === 'route' ? m.action.selectCluster({}, 0) : m.action.kind;
  };

  it('traversal, encoded dots and doubled slashes cannot dodge the /admin route', () => {
    expect(routed('/public/../admin')).toBe('direct_response');
    expect(routed('/public/%2e%2e/admin')).toBe('direct_response');
    expect(routed('/public/%2E%2E%2Fadmin')).toBe('direct_response');
    expect(routed('//admin')).toBe('direct_response');
    expect(routed('/public/..\\admin')).toBe('direct_response');
    expect(routed('/public/x')).toBe('public');
    expect(routed('/public/%zz')).toBe('rejected 400');
  });
});

describe('with every option off', () => {
  it('still rejects fragments and non-origin-form targets, and changes nothing else', () => {
    const off = opts(false, false, 'KEEP_UNCHANGED');
    expect(normalizePath('/a/../b//c?x', off)).toEqual({ ok: true, path: '/a/../b//c?x' });
    expect(normalizePath('/a#b', off).ok).toBe(false);
    expect(normalizePath('a', off).ok).toBe(false);
  });
});
