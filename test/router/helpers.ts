import type { IncomingHttpHeaders } from 'node:http';
import { Issues } from '../../proxy/config/issues.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { compileRouteConfig } from '../../proxy/router/compile.js';
import type { MatchedRoute, RouteRequest, RouteTable } from '../../proxy/router/types.js';
import {
  type RouteTranslateOptions,
  translateRouteConfiguration,
} from '../../proxy/xds/route-configuration.js';

/** Translates and compiles a RouteConfiguration written in Envoy's field names; throws on errors. */
export function table(config: ProtoObject, opts: RouteTranslateOptions = {}): RouteTable {
  const issues = new Issues();
  const model = translateRouteConfiguration(config, 'route_config', issues, opts);
  if (model === null || !issues.ok) throw new Error(issues.format());
  return compileRouteConfig(model);
}

/** The issues a bad configuration produces (and asserts the model was refused). */
export function problems(config: ProtoObject, opts: RouteTranslateOptions = {}): Issues {
  const issues = new Issues();
  const model = translateRouteConfiguration(config, 'route_config', issues, opts);
  if (model !== null)
    throw new Error(`expected the configuration to be rejected; issues: ${issues.format()}`);
  return issues;
}

export function req(
  authority: string,
  path: string,
  headers: IncomingHttpHeaders = {},
  method = 'GET',
  scheme = 'http',
): RouteRequest {
  return { authority, path, method, scheme, headers };
}

/** One virtual host matching every domain, with the given routes. */
export function oneHost(routes: ProtoObject[], extra: ProtoObject = {}): ProtoObject {
  return { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes, ...extra }] };
}

export function routeTo(cluster: string, match: ProtoObject, extra: ProtoObject = {}): ProtoObject {
  return { name: cluster, match, route: { cluster }, ...extra };
}

export function clusterOf(m: MatchedRoute | null): string | null {
  if (m === null) return null;
  if (m.action.kind !== 'route') return `<${m.action.kind}>`;
  return m.action.selectCluster({}, 0);
}
