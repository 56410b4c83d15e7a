import type { OutgoingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { applyHeaderMutations } from '../../proxy/router/header-mutations.js';
import type { MatchedRoute } from '../../proxy/router/types.js';
import { req, table } from './helpers.js';

const hv = (key: string, value: string, extra: Record<string, unknown> = {}) => ({
  header: { key, value },
  ...extra,
});

function matched(levels: {
  rc?: Record<string, unknown>;
  vh?: Record<string, unknown>;
  route?: Record<string, unknown>;
  mostSpecificWins?: boolean;
}): MatchedRoute {
  const m = table({
    name: 'rc',
    most_specific_header_mutations_wins: levels.mostSpecificWins ?? false,
    ...(levels.rc ?? {}),
    virtual_hosts: [
      {
        name: 'vh',
        domains: ['*'],
        ...(levels.vh ?? {}),
        routes: [{ match: { prefix: '/' }, route: { cluster: 'c' }, ...(levels.route ?? {}) }],
      },
    ],
  }).match(req('h', '/'));
  if (m === null) throw new Error('no route');
  return m;
}

function applyRequest(m: MatchedRoute, headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  applyHeaderMutations(headers, m.requestHeaders);
  return headers;
}

describe('append_action', () => {
  const with1 = (action: string) =>
    matched({ route: { request_headers_to_add: [hv('x-a', 'new', { append_action: action })] } });

  it('APPEND_IF_EXISTS_OR_ADD (default) appends or adds', () => {
    const m = matched({ route: { request_headers_to_add: [hv('x-a', 'new')] } });
    expect(applyRequest(m, { 'x-a': 'old' })['x-a']).toEqual(['old', 'new']);
    expect(applyRequest(m, {})['x-a']).toBe('new');
    expect(applyRequest(m, { 'x-a': ['1', '2'] })['x-a']).toEqual(['1', '2', 'new']);
  });

  it('ADD_IF_ABSENT adds only when absent', () => {
    expect(applyRequest(with1('ADD_IF_ABSENT'), { 'x-a': 'old' })['x-a']).toBe('old');
    expect(applyRequest(with1('ADD_IF_ABSENT'), {})['x-a']).toBe('new');
  });

  it('OVERWRITE_IF_EXISTS_OR_ADD overwrites or adds', () => {
    expect(applyRequest(with1('OVERWRITE_IF_EXISTS_OR_ADD'), { 'x-a': ['1', '2'] })['x-a']).toBe('new');
    expect(applyRequest(with1('OVERWRITE_IF_EXISTS_OR_ADD'), {})['x-a']).toBe('new');
  });

  it('OVERWRITE_IF_EXISTS only overwrites', () => {
    expect(applyRequest(with1('OVERWRITE_IF_EXISTS'), { 'x-a': 'old' })['x-a']).toBe('new');
    expect(applyRequest(with1('OVERWRITE_IF_EXISTS'), {})['x-a']).toBeUndefined();
  });

  it('deprecated append: false overwrites, true appends', () => {
    const f = matched({ route: { request_headers_to_add: [hv('x-a', 'new', { append: false })] } });
    expect(applyRequest(f, { 'x-a': 'old' })['x-a']).toBe('new');
    const t = matched({ route: { request_headers_to_add: [hv('x-a', 'new', { append: true })] } });
    expect(applyRequest(t, { 'x-a': 'old' })['x-a']).toEqual(['old', 'new']);
  });

  it('decides conditional additions before the level writes, overwrites before appends', () => {
    const m = matched({
      route: {
        request_headers_to_add: [
          hv('x-a', 'one', { append_action: 'ADD_IF_ABSENT' }),
          hv('x-a', 'two', { append_action: 'ADD_IF_ABSENT' }),
          hv('x-b', 'app'),
          hv('x-b', 'set', { append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }),
        ],
      },
    });
    const h = applyRequest(m, {});
    expect(h['x-a']).toBe('two');
    expect(h['x-b']).toEqual(['set', 'app']);
  });

  it('drops empty values unless keep_empty_value; %% is a literal %', () => {
    const m = matched({
      route: {
        request_headers_to_add: [
          hv('x-empty', ''),
          hv('x-kept', '', { keep_empty_value: true }),
          hv('x-pct', '100%%'),
        ],
      },
    });
    const h = applyRequest(m, {});
    expect('x-empty' in h).toBe(false);
    expect(h['x-kept']).toBe('');
    expect(h['x-pct']).toBe('100%');
  });
});

describe('levels', () => {
  it('applies route, then virtual host, then route configuration: the last level wins', () => {
    const ow = (v: string) => [hv('x-l', v, { append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' })];
    const m = matched({
      rc: { request_headers_to_add: ow('rc') },
      vh: { request_headers_to_add: ow('vh') },
      route: { request_headers_to_add: ow('route') },
    });
    expect(applyRequest(m, {})['x-l']).toBe('rc');
    expect(m.requestHeaders.levels).toHaveLength(3);
    const rev = matched({
      rc: { request_headers_to_add: ow('rc') },
      vh: { request_headers_to_add: ow('vh') },
      route: { request_headers_to_add: ow('route') },
      mostSpecificWins: true,
    });
    expect(applyRequest(rev, {})['x-l']).toBe('route');
  });

  it('removes before adding within a level; a later level removes what an earlier one added', () => {
    const same = matched({
      route: { request_headers_to_add: [hv('x-r', 'added')], request_headers_to_remove: ['X-R'] },
    });
    expect(applyRequest(same, { 'x-r': 'orig' })['x-r']).toBe('added');
    const later = matched({
      rc: { request_headers_to_remove: ['x-r'] },
      route: { request_headers_to_add: [hv('x-r', 'added')] },
    });
    expect('x-r' in applyRequest(later, { 'x-r': 'orig' })).toBe(false);
  });

  it('response mutations are separate from request mutations', () => {
    const m = matched({
      vh: { response_headers_to_add: [hv('x-resp', 'v')], response_headers_to_remove: ['server'] },
    });
    const res: OutgoingHttpHeaders = { server: 'upstream' };
    applyHeaderMutations(res, m.responseHeaders);
    expect(res).toEqual({ 'x-resp': 'v' });
    expect(m.requestHeaders.levels).toHaveLength(0);
  });
});
