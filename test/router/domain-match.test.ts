import { describe, expect, it } from 'vitest';
import { req, table } from './helpers.js';

function hostTable(ignorePort = false) {
  const vh = (name: string, domains: string[]) => ({
    name,
    domains,
    routes: [{ name, match: { prefix: '/' }, route: { cluster: name } }],
  });
  return table({
    name: 'rc',
    ignore_port_in_host_matching: ignorePort,
    virtual_hosts: [
      vh('any', ['*']),
      vh('exact', ['www.example.com', 'api.example.com:8443']),
      vh('short-suffix', ['*.com']),
      vh('long-suffix', ['*.example.com']),
      vh('dash-suffix', ['*-bar.example.com']),
      vh('short-prefix', ['foo.*']),
      vh('long-prefix', ['foo.example.*']),
    ],
  });
}

const vhostOf = (t: ReturnType<typeof hostTable>, authority: string) =>
  t.match(req(authority, '/'))?.virtualHostName ?? null;

describe('virtual host selection by domain', () => {
  const t = hostTable();

  it('prefers an exact domain over every wildcard', () => {
    expect(vhostOf(t, 'www.example.com')).toBe('exact');
  });

  it('compares hosts case-insensitively', () => {
    expect(vhostOf(t, 'WWW.Example.COM')).toBe('exact');
    expect(vhostOf(t, 'X.EXAMPLE.COM')).toBe('long-suffix');
  });

  it('prefers the longest suffix wildcard', () => {
    expect(vhostOf(t, 'a.example.com')).toBe('long-suffix');
    expect(vhostOf(t, 'a.other.com')).toBe('short-suffix');
    expect(vhostOf(t, 'baz-bar.example.com')).toBe('dash-suffix');
  });

  it('never lets a wildcard match the empty string', () => {
    // '*-bar.example.com' must not match '-bar.example.com'; the next best is '*.example.com'.
    expect(vhostOf(t, '-bar.example.com')).toBe('long-suffix');
    // '*.com' must not match '.com'
    expect(vhostOf(t, '.com')).toBe('any');
  });

  it('tries suffix wildcards before prefix wildcards, then the longest prefix', () => {
    expect(vhostOf(t, 'foo.example.org')).toBe('long-prefix');
    expect(vhostOf(t, 'foo.bar')).toBe('short-prefix');
    // suffix beats prefix even when the prefix is longer
    expect(vhostOf(t, 'foo.example.com')).toBe('long-suffix');
  });

  it('falls back to * last', () => {
    expect(vhostOf(t, 'unrelated.org')).toBe('any');
    expect(vhostOf(t, '')).toBe('any');
  });

  it('matches the port as part of the host by default (as Envoy does)', () => {
    expect(vhostOf(t, 'api.example.com:8443')).toBe('exact');
    // with a port, the exact domain without one does not match; the suffix wildcard sees 'com:80'
    expect(vhostOf(t, 'www.example.com:80')).toBe('any');
    expect(vhostOf(t, 'api.example.com')).toBe('long-suffix');
  });

  it('ignores the port when ignore_port_in_host_matching is set', () => {
    const ip = hostTable(true);
    expect(vhostOf(ip, 'www.example.com:8080')).toBe('exact');
    expect(vhostOf(ip, 'a.example.com:1')).toBe('long-suffix');
    expect(vhostOf(ip, '[::1]:8080')).toBe('any');
  });

  it('returns null when no virtual host matches and there is no *', () => {
    const t2 = table({
      name: 'rc',
      virtual_hosts: [
        { name: 'a', domains: ['a.com'], routes: [{ match: { prefix: '/' }, route: { cluster: 'a' } }] },
      ],
    });
    expect(t2.match(req('b.com', '/'))).toBeNull();
    expect(t2.match(req('a.com', '/'))?.virtualHostName).toBe('a');
  });

  it('uses a map when many wildcards share a length', () => {
    const vhs = [];
    for (let i = 0; i < 20; i++) {
      vhs.push({
        name: `v${i}`,
        domains: [`*.s${String(i).padStart(2, '0')}.com`, `p${String(i).padStart(2, '0')}.*`],
        routes: [{ match: { prefix: '/' }, route: { cluster: `c${i}` } }],
      });
    }
    const big = table({ name: 'rc', virtual_hosts: vhs });
    expect(big.match(req('x.s07.com', '/'))?.virtualHostName).toBe('v7');
    expect(big.match(req('p13.example', '/'))?.virtualHostName).toBe('v13');
    expect(big.match(req('x.s99.com', '/'))).toBeNull();
  });
});
