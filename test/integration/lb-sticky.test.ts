/**
 * Sticky sessions through the whole proxy: route hash_policy on a cookie (generated with its ttl
 * when missing), the source IP and a query parameter, over ring hash; and the stateful session
 * filter, whose cookie names the host.
 */
import { describe, expect, it } from 'vitest';
import { endpoints, get, lbTestScope, startLbProxy, type Upstream } from './lb-harness.js';

const { upstreams, proxy } = lbTestScope();

function ringHash(ups: Upstream[], hashPolicy: unknown[]) {
  return {
    cluster: { lb_policy: 'RING_HASH' },
    endpoints: endpoints(ups.map((u) => ({ upstream: u }))),
    route: { hash_policy: hashPolicy },
  };
}

/** `name="value"` → value, from a Set-Cookie line. */
function cookieValue(setCookie: string, name: string): string {
  const m = new RegExp(`^${name}="?([^";]*)"?`).exec(setCookie);
  if (m === null) throw new Error(`no ${name} in ${setCookie}`);
  return m[1];
}

describe('route hash_policy', () => {
  it('cookie with ttl: the proxy sets the cookie on the first response and the client sticks', async () => {
    const ups = await upstreams(3);
    const p = await proxy(ringHash(ups, [{ cookie: { name: 'sticky', ttl: '60s', path: '/app' } }]));
    const hostsSeen = new Set<string>();
    for (let client = 0; client < 12; client++) {
      const first = await get(p.port, { path: '/app/x' });
      const lines = first.headers['set-cookie'] ?? [];
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^sticky="[0-9a-f]{16}"; Max-Age=60; Path=\/app; HttpOnly$/);
      const value = cookieValue(lines[0], 'sticky');
      // The generated value was already used for the first pick: every later request agrees.
      for (let i = 0; i < 4; i++) {
        const r = await get(p.port, { path: '/app/x', headers: { cookie: `other=1; sticky=${value}` } });
        expect(r.upstream).toBe(first.upstream);
        expect(r.headers['set-cookie']).toBeUndefined();
      }
      hostsSeen.add(first.upstream);
    }
    // Each connection gets its own cookie (Envoy hashes the connection's addresses), so 12
    // clients land on more than one host.
    expect(hostsSeen.size).toBeGreaterThan(1);
  });

  it('cookie without ttl: no cookie is made up and a request without one is balanced at random', async () => {
    const ups = await upstreams(3);
    const p = await proxy(ringHash(ups, [{ cookie: { name: 'sticky' } }]));
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const r = await get(p.port);
      expect(r.headers['set-cookie']).toBeUndefined();
      seen.add(r.upstream);
    }
    expect(seen.size).toBe(3);
    const a = await get(p.port, { headers: { cookie: 'sticky=abc' } });
    for (let i = 0; i < 5; i++) {
      expect((await get(p.port, { headers: { cookie: 'sticky="abc"' } })).upstream).toBe(a.upstream);
    }
  });

  it('source IP: each client address sticks to one host, different addresses spread', async () => {
    const ups = await upstreams(3);
    const p = await proxy(ringHash(ups, [{ connection_properties: { source_ip: true } }]));
    const byIp = new Map<string, string>();
    for (let i = 1; i <= 24; i++) {
      const localAddress = `127.0.0.${i}`;
      const first = await get(p.port, { localAddress });
      for (let k = 0; k < 3; k++) {
        expect((await get(p.port, { localAddress })).upstream).toBe(first.upstream);
      }
      byIp.set(localAddress, first.upstream);
    }
    expect(new Set(byIp.values()).size).toBe(3);
  });

  it('query parameter: the same value sticks, values spread, a missing parameter is random', async () => {
    const ups = await upstreams(3);
    const p = await proxy(ringHash(ups, [{ query_parameter: { name: 'user' } }]));
    const owners = new Set<string>();
    for (let u = 0; u < 30; u++) {
      const first = await get(p.port, { path: `/?a=1&user=u${u}` });
      // Order of parameters and percent-encoding do not matter.
      expect((await get(p.port, { path: `/?user=u${u}&b=2` })).upstream).toBe(first.upstream);
      expect((await get(p.port, { path: `/x?us%65r=u${u}` })).upstream).toBe(first.upstream);
      owners.add(first.upstream);
    }
    expect(owners.size).toBe(3);
  });

  it('terminal: a terminal policy that found its input ends the list', async () => {
    const ups = await upstreams(3);
    const p = await proxy(
      ringHash(ups, [
        { header: { header_name: 'x-tenant' }, terminal: true },
        { header: { header_name: 'x-user' } },
      ]),
    );
    // x-tenant present: x-user is ignored, so every user of a tenant lands together.
    const t = await get(p.port, { headers: { 'x-tenant': 't1', 'x-user': 'a' } });
    for (let u = 0; u < 10; u++) {
      expect((await get(p.port, { headers: { 'x-tenant': 't1', 'x-user': `u${u}` } })).upstream).toBe(
        t.upstream,
      );
    }
    // Without x-tenant, x-user decides (and spreads).
    const owners = new Set<string>();
    for (let u = 0; u < 30; u++) owners.add((await get(p.port, { headers: { 'x-user': `u${u}` } })).upstream);
    expect(owners.size).toBeGreaterThan(1);
  });

  it('a filter_state hash policy is refused at startup with its field path', async () => {
    const ups = await upstreams(1);
    await expect(startLbProxy(ringHash(ups, [{ filter_state: { key: 'k' } }]))).rejects.toThrow(
      /route_config\.virtual_hosts\[0\]\.routes\[0\]\.route\.hash_policy\[0\]\.filter_state: filter_state hash policies are not supported/,
    );
  });
});

const SESSION_FILTER = {
  name: 'envoy.filters.http.stateful_session',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSession',
    session_state: {
      name: 'envoy.http.stateful_session.cookie',
      typed_config: {
        '@type':
          'type.googleapis.com/envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState',
        cookie: { name: 'session', ttl: '120s', path: '/' },
      },
    },
  },
};

describe('stateful session filter (cookie)', () => {
  it('pins the host the cookie encodes and moves the client when that host is gone', async () => {
    const ups = await upstreams(3);
    const p = await proxy({
      cluster: { lb_policy: 'ROUND_ROBIN' },
      endpoints: endpoints(ups.map((u) => ({ upstream: u }))),
      filters: [SESSION_FILTER],
    });
    const first = await get(p.port);
    const line = (first.headers['set-cookie'] ?? [])[0] ?? '';
    expect(line).toMatch(/^session="[A-Za-z0-9+/=]+"; Max-Age=120; Path=\/; HttpOnly$/);
    const value = cookieValue(line, 'session');
    const served = ups.find((u) => u.name === first.upstream)!;
    // Envoy's encoding: the upstream address, base64.
    expect(Buffer.from(value, 'base64').toString()).toBe(served.address);
    // Round robin would rotate; the cookie keeps every request on the same host, with no new cookie.
    for (let i = 0; i < 9; i++) {
      const r = await get(p.port, { headers: { cookie: `session="${value}"` } });
      expect(r.upstream).toBe(served.name);
      expect(r.headers['set-cookie']).toBeUndefined();
    }
    // A cookie naming a host that is not in the cluster: normal balancing, and a fresh cookie.
    const gone = Buffer.from('127.0.0.1:1').toString('base64');
    const moved = await get(p.port, { headers: { cookie: `session=${gone}` } });
    expect(moved.status).toBe(200);
    const next = cookieValue((moved.headers['set-cookie'] ?? [])[0] ?? '', 'session');
    expect(Buffer.from(next, 'base64').toString()).toBe(ups.find((u) => u.name === moved.upstream)!.address);
    // Garbage in the cookie is ignored the same way.
    const junk = await get(p.port, { headers: { cookie: 'session=%%%not-base64' } });
    expect(junk.status).toBe(200);
    expect(junk.headers['set-cookie']).toHaveLength(1);
  });

  it('applies only under the cookie path', async () => {
    const ups = await upstreams(3);
    const filter = structuredClone(SESSION_FILTER);
    filter.typed_config.session_state.typed_config.cookie.path = '/app';
    const p = await proxy({
      cluster: { lb_policy: 'ROUND_ROBIN' },
      endpoints: endpoints(ups.map((u) => ({ upstream: u }))),
      filters: [filter],
    });
    expect((await get(p.port, { path: '/other' })).headers['set-cookie']).toBeUndefined();
    expect((await get(p.port, { path: '/application' })).headers['set-cookie']).toBeUndefined();
    expect((await get(p.port, { path: '/app/x' })).headers['set-cookie']).toHaveLength(1);
  });

  it('refuses a session state it does not know, with the field path', async () => {
    const ups = await upstreams(1);
    const filter = structuredClone(SESSION_FILTER) as { typed_config: Record<string, unknown> };
    filter.typed_config.session_state = {
      name: 'x',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
      },
    };
    await expect(
      startLbProxy({
        cluster: { lb_policy: 'ROUND_ROBIN' },
        endpoints: endpoints([{ upstream: ups[0] }]),
        filters: [filter],
      }),
    ).rejects.toThrow(/session_state\.typed_config\.@type: unsupported session state/);
  });
});
