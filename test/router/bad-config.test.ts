import { describe, expect, it } from 'vitest';
import { Issues } from '../../proxy/config/issues.js';
import { translateRouteConfiguration } from '../../proxy/xds/route-configuration.js';
import { oneHost, problems } from './helpers.js';

const route = (r: Record<string, unknown>) => oneHost([{ match: { prefix: '/' }, ...r }]);
const R = 'route_config.virtual_hosts[0].routes[0]';

/** Asserts exactly one issue list entry has this path and its message contains `text`. */
function expectIssue(issues: Issues, path: string, text: string) {
  const hit = issues.list.find((i) => i.path === path && i.message.includes(text));
  expect(
    hit,
    `no issue at ${path} containing ${JSON.stringify(text)}; got:\n${issues.format()}`,
  ).toBeDefined();
  expect(hit?.severity).toBe('error');
}

describe('bad route configuration is rejected with the field path', () => {
  it('invalid regexes', () => {
    expectIssue(
      problems(oneHost([{ match: { safe_regex: { regex: 'a(' } }, route: { cluster: 'c' } }])),
      `${R}.match.safe_regex.regex`,
      'missing )',
    );
    expectIssue(
      problems(oneHost([{ match: { safe_regex: { regex: '(a)\\1' } }, route: { cluster: 'c' } }])),
      `${R}.match.safe_regex.regex`,
      'backreferences',
    );
    expectIssue(
      problems(
        route({
          route: { cluster: 'c' },
          match: { prefix: '/', headers: [{ name: 'x', safe_regex_match: { regex: '(?=x)' } }] },
        }),
      ),
      `${R}.match.headers[0].safe_regex_match.regex`,
      'lookahead',
    );
    expectIssue(
      problems(
        route({ route: { cluster: 'c', regex_rewrite: { pattern: { regex: '(a)' }, substitution: '\\2' } } }),
      ),
      `${R}.route.regex_rewrite.substitution`,
      'group \\2',
    );
    expectIssue(
      problems(oneHost([{ match: { safe_regex: {} }, route: { cluster: 'c' } }])),
      `${R}.match.safe_regex.regex`,
      'required',
    );
  });

  it('duplicate domains, within and across virtual hosts, and two wildcards', () => {
    const vh = (name: string, domains: string[]) => ({ name, domains, routes: [] });
    expectIssue(
      problems({ name: 'rc', virtual_hosts: [vh('a', ['x.com']), vh('b', ['y.com', 'X.com'])] }),
      'route_config.virtual_hosts[1].domains[1]',
      "duplicate domain 'x.com': already in virtual host 'a'",
    );
    expectIssue(
      problems({ name: 'rc', virtual_hosts: [vh('a', ['x', 'x'])] }),
      'route_config.virtual_hosts[0].domains[1]',
      'duplicate',
    );
    expectIssue(
      problems({ name: 'rc', virtual_hosts: [vh('a', ['*']), vh('b', ['*'])] }),
      'route_config.virtual_hosts[1].domains[0]',
      "'*'",
    );
    expectIssue(
      problems({ name: 'rc', virtual_hosts: [vh('a', [])] }),
      'route_config.virtual_hosts[0].domains',
      'at least one',
    );
    expectIssue(
      problems({ name: 'rc', virtual_hosts: [vh('', ['a'])] }),
      'route_config.virtual_hosts[0].name',
      'required',
    );
  });

  it('CR/LF in header values and names, and unmodifiable headers', () => {
    expectIssue(
      problems(
        route({
          route: { cluster: 'c' },
          request_headers_to_add: [{ header: { key: 'x', value: 'a\r\nb: c' } }],
        }),
      ),
      `${R}.request_headers_to_add[0].header.value`,
      'CR, LF',
    );
    expectIssue(
      problems({ ...oneHost([]), response_headers_to_add: [{ header: { key: 'bad name', value: 'v' } }] }),
      'route_config.response_headers_to_add[0].header.key',
      'not a valid token',
    );
    expectIssue(
      problems(
        route({
          route: { cluster: 'c' },
          request_headers_to_add: [{ header: { key: ':path', value: '/x' } }],
        }),
      ),
      `${R}.request_headers_to_add[0].header.key`,
      'may not be modified',
    );
    expectIssue(
      problems(route({ route: { cluster: 'c' }, request_headers_to_remove: ['Host'] })),
      `${R}.request_headers_to_remove[0]`,
      'may not be removed',
    );
    expectIssue(
      problems(route({ redirect: { host_redirect: 'a\nb' } })),
      `${R}.redirect.host_redirect`,
      'CR, LF',
    );
  });

  it('header value formatters remora cannot evaluate', () => {
    expectIssue(
      problems(
        route({
          route: { cluster: 'c' },
          request_headers_to_add: [{ header: { key: 'x', value: '%DOWNSTREAM_REMOTE_ADDRESS%' } }],
        }),
      ),
      `${R}.request_headers_to_add[0].header.value`,
      '%DOWNSTREAM_REMOTE_ADDRESS% is not supported',
    );
    expectIssue(
      problems(
        route({
          route: { cluster: 'c' },
          request_headers_to_add: [{ header: { key: 'x', value: '50% off' } }],
        }),
      ),
      `${R}.request_headers_to_add[0].header.value`,
      'use %% for a literal %',
    );
    expectIssue(
      problems(
        route({
          route: { cluster: 'c' },
          request_headers_to_add: [
            { header: { key: 'x', value: 'v' }, append: true, append_action: 'ADD_IF_ABSENT' },
          ],
        }),
      ),
      `${R}.request_headers_to_add[0]`,
      'both append and append_action',
    );
  });

  it('unknown and unsupported fields at every level', () => {
    expectIssue(problems({ ...oneHost([]), vhds: {} }), 'route_config.vhds', 'not supported');
    expectIssue(problems(oneHost([], { cors: {} })), 'route_config.virtual_hosts[0].cors', 'not supported');
    expectIssue(
      problems(route({ route: { cluster: 'c', retry_policy: { retry_on: '5xx,nope' } } })),
      `${R}.route.retry_policy.retry_on`,
      'unknown retry condition(s): nope',
    );
    expectIssue(
      problems(oneHost([{ match: { prefix: '/', runtime_fraction: {} }, route: { cluster: 'c' } }])),
      `${R}.match.runtime_fraction`,
      'not supported',
    );
    expectIssue(
      problems(route({ route: { cluster: 'c' }, decorator: {} })),
      `${R}.decorator`,
      'not supported',
    );
    expectIssue(
      problems(
        route({
          route: { cluster: 'c' },
          typed_per_filter_config: { 'envoy.filters.http.rbac': { '@type': 'type.googleapis.com/x.Y' } },
        }),
      ),
      `${R}.typed_per_filter_config["envoy.filters.http.rbac"]`,
      'not supported',
    );
  });

  it('optional per-filter config is a warning, not an error', () => {
    const issues = new Issues();
    const model = translateRouteConfiguration(
      route({
        route: { cluster: 'c' },
        typed_per_filter_config: {
          f: { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', is_optional: true },
        },
      }),
      'route_config',
      issues,
    );
    expect(model).not.toBeNull();
    expect(issues.list).toHaveLength(1);
    expect(issues.list[0].severity).toBe('warning');
  });

  it('weights summing to 0, total_weight mismatch, empty cluster lists', () => {
    const wc = (w: Record<string, unknown>) => problems(route({ route: { weighted_clusters: w } }));
    expectIssue(
      wc({
        clusters: [
          { name: 'a', weight: 0 },
          { name: 'b', weight: 0 },
        ],
      }),
      `${R}.route.weighted_clusters.clusters`,
      'greater than 0',
    );
    expectIssue(
      wc({ clusters: [{ name: 'a', weight: 1 }], total_weight: 100 }),
      `${R}.route.weighted_clusters.total_weight`,
      'must equal',
    );
    expectIssue(wc({ clusters: [] }), `${R}.route.weighted_clusters.clusters`, 'at least one');
    expectIssue(
      wc({ clusters: [{ weight: 1 }] }),
      `${R}.route.weighted_clusters.clusters[0].name`,
      'required',
    );
  });

  it('missing action, missing match, conflicting oneofs', () => {
    expectIssue(
      problems(oneHost([{ match: { prefix: '/' } }])),
      R,
      'one of route, redirect, direct_response is required',
    );
    expectIssue(problems(oneHost([{ route: { cluster: 'c' } }])), `${R}.match`, 'required');
    expectIssue(
      problems(oneHost([{ match: {}, route: { cluster: 'c' } }])),
      `${R}.match`,
      'one of prefix, path',
    );
    expectIssue(
      problems(oneHost([{ match: { prefix: '/', path: '/' }, route: { cluster: 'c' } }])),
      `${R}.match`,
      'only one of prefix, path',
    );
    expectIssue(problems(route({ route: { cluster: 'c' }, redirect: {} })), R, 'only one of route, redirect');
    expectIssue(
      problems(route({ route: {} })),
      `${R}.route`,
      'one of cluster, cluster_header, weighted_clusters',
    );
    expectIssue(
      problems(
        route({
          route: {
            cluster: 'c',
            prefix_rewrite: '/',
            regex_rewrite: { pattern: { regex: 'a' }, substitution: '' },
          },
        }),
      ),
      `${R}.route`,
      'only one of prefix_rewrite, regex_rewrite',
    );
    expectIssue(
      problems(route({ redirect: { https_redirect: true, scheme_redirect: 'http' } })),
      `${R}.redirect`,
      'only one of',
    );
  });

  it('bad values', () => {
    expectIssue(
      problems(route({ redirect: { response_code: 'TEAPOT' } })),
      `${R}.redirect.response_code`,
      'unknown value TEAPOT',
    );
    expectIssue(
      problems(route({ redirect: { port_redirect: 70000 } })),
      `${R}.redirect.port_redirect`,
      'port',
    );
    expectIssue(
      problems(route({ direct_response: { status: 99 } })),
      `${R}.direct_response.status`,
      '[100, 600)',
    );
    expectIssue(
      problems(route({ direct_response: { status: 200, body: { inline_string: 'x'.repeat(4097) } } })),
      `${R}.direct_response.body`,
      'maximum is 4096',
    );
    expectIssue(
      problems(route({ direct_response: { status: 200, body: { filename: '/nonexistent/remora-body' } } })),
      `${R}.direct_response.body.filename`,
      'cannot read',
    );
    expectIssue(
      problems(oneHost([{ match: { path_separated_prefix: '/a/' }, route: { cluster: 'c' } }])),
      `${R}.match.path_separated_prefix`,
      'must not end in /',
    );
    expectIssue(
      problems(route({ route: { cluster: 'c', timeout: -1 } })),
      `${R}.route.timeout`,
      'non-negative',
    );
    expectIssue(
      problems(route({ route: { cluster: 'c', cluster_not_found_response_code: 'X' } })),
      `${R}.route.cluster_not_found_response_code`,
      'unknown',
    );
    expectIssue(
      problems(oneHost([], { require_tls: 'SOMETIMES' })),
      'route_config.virtual_hosts[0].require_tls',
      'unknown',
    );
    expectIssue(problems(route({ route: { cluster: 5 } })), `${R}.route.cluster`, 'must be a string');
    expectIssue(
      problems(
        oneHost([
          { match: { prefix: '/', headers: [{ name: 'x', prefix_match: '' }] }, route: { cluster: 'c' } },
        ]),
      ),
      `${R}.match.headers[0].prefix_match`,
      'must not be empty',
    );
    expectIssue(
      problems(
        oneHost([{ match: { prefix: '/', query_parameters: [{ name: '' }] }, route: { cluster: 'c' } }]),
      ),
      `${R}.match.query_parameters[0].name`,
      '1 to 1024',
    );
  });

  it('validate_clusters checks names against the cluster manager', () => {
    const known = new Set(['a']);
    const opts = { clusterExists: (n: string) => known.has(n), validateClustersDefault: true };
    expectIssue(
      problems(route({ route: { cluster: 'b' } }), opts),
      `${R}.route.cluster`,
      "unknown cluster 'b'",
    );
    const issues = new Issues();
    expect(
      translateRouteConfiguration(
        { ...route({ route: { cluster: 'b' } }), validate_clusters: false },
        'rc',
        issues,
        opts,
      ),
    ).not.toBeNull();
  });

  it('reports every problem at once', () => {
    const issues = problems({
      name: 'rc',
      virtual_hosts: [
        {
          name: 'a',
          domains: ['x'],
          routes: [
            { match: { prefix: '/' } },
            { match: { safe_regex: { regex: '[' } }, route: { cluster: 'c' } },
          ],
        },
        { name: 'b', domains: ['x'], routes: [] },
      ],
    });
    expect(issues.errorCount).toBe(3);
  });
});
