import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { decodeBinaryMessage } from '../../proxy/config/binary-decode.js';
import { encodeMessage } from '../../proxy/config/binary-encode.js';
import { Issues } from '../../proxy/config/issues.js';
import { decodeJsonMessage } from '../../proxy/config/json-decode.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { compileRouteConfig } from '../../proxy/router/compile.js';
import { applyHeaderMutations } from '../../proxy/router/header-mutations.js';
import type { RouteTable } from '../../proxy/router/types.js';
import { translateRouteConfiguration } from '../../proxy/xds/route-configuration.js';
import { req } from './helpers.js';

/**
 * The router fed by the real decoders (remora's protos, proto3 JSON from YAML, and the binary
 * wire form) rather than hand-written objects: proves the translator reads what they produce
 * (oneof scalars at their default, wrappers, enums, durations).
 */
const TYPE = 'envoy.config.route.v3.RouteConfiguration';

const YAML = `
name: local
virtual_hosts:
- name: api
  domains: ["api.example.com", "*.api.example.com"]
  request_headers_to_add:
  - header: { key: x-vh, value: "1" }
    append_action: OVERWRITE_IF_EXISTS_OR_ADD
  routes:
  - name: no-debug
    match:
      prefix: /
      headers:
      - name: x-debug
        present_match: false
      query_parameters:
      - name: v
        string_match: { exact: "" }
    direct_response: { status: 204 }
  - name: ci
    match: { prefix: /CI/, case_sensitive: false }
    route: { cluster: ci, timeout: 0s, idle_timeout: 1.5s, prefix_rewrite: /ci/ }
  - name: re
    match: { safe_regex: { regex: "/items/[0-9]+" } }
    route:
      weighted_clusters:
        clusters:
        - { name: a, weight: 0 }
        - { name: b, weight: 2 }
  - name: moved
    match: { path: /old }
    redirect: { https_redirect: true, path_redirect: /new, response_code: PERMANENT_REDIRECT }
- name: rest
  domains: ["*"]
  routes:
  - match: { prefix: / }
    route: { cluster: default }
`;

function fromJson(): ProtoObject {
  const issues = new Issues();
  const obj = decodeJsonMessage(TYPE, parse(YAML), issues, 'route_config');
  if (obj === null || !issues.ok) throw new Error(issues.format());
  return obj;
}

function compile(obj: ProtoObject): RouteTable {
  const issues = new Issues();
  const model = translateRouteConfiguration(obj, 'route_config', issues);
  if (model === null || !issues.ok) throw new Error(issues.format());
  return compileRouteConfig(model);
}

function check(t: RouteTable): void {
  const host = 'api.example.com';
  // present_match: false and exact "" survive decoding (oneof members keep their default values)
  expect(t.match(req(host, '/x?v='))?.name).toBe('no-debug');
  expect(t.match(req(host, '/x?v=', { 'x-debug': '1' }))).toBeNull();
  const ci = t.match(req('a.api.example.com', '/ci/z', { 'x-debug': '1' }));
  expect(ci?.name).toBe('ci');
  if (ci?.action.kind === 'route') {
    expect(ci.action.timeoutMs).toBe(0);
    expect(ci.action.idleTimeoutMs).toBe(1500);
    expect(ci.action.rewritePath('/CI/z?q')).toBe('/ci/z?q');
  }
  const re = t.match(req(host, '/items/42', { 'x-debug': '1' }));
  expect(re?.name).toBe('re');
  if (re?.action.kind === 'route') {
    expect(re.action.selectCluster({}, 0)).toBe('b');
    expect(re.action.selectCluster({}, 0.99)).toBe('b');
  }
  const moved = t.match(req(host, '/old?k', { 'x-debug': '1' }));
  expect(moved?.action.kind).toBe('redirect');
  if (moved?.action.kind === 'redirect') {
    expect(moved.action.status).toBe(308);
    expect(moved.action.location(req(host, '/old?k'))).toBe('https://api.example.com/new?k');
  }
  const headers = { 'x-vh': 'old' };
  if (moved !== null) applyHeaderMutations(headers, moved.requestHeaders);
  expect(headers['x-vh']).toBe('1');
  expect(t.match(req('other', '/'))?.virtualHostName).toBe('rest');
}

describe('route configuration through the real decoders', () => {
  it('proto3 JSON (YAML) → translate → compile → match', () => {
    check(compile(fromJson()));
  });

  it('binary wire form decodes to the same object and routes the same', () => {
    const json = fromJson();
    const issues = new Issues();
    const bin = decodeBinaryMessage(TYPE, encodeMessage(TYPE, json), issues, 'route_config');
    expect(issues.ok).toBe(true);
    expect(bin).toEqual(json);
    check(compile(bin as ProtoObject));
  });
});
