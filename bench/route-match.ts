/**
 * Micro-benchmark of RouteTable.match() on a 100 virtual host × 20 route table (not a test).
 * Run after `npm run build`: `npx node dist/bench/route-match.js`. Prints ns/op per scenario.
 */
import { Issues } from '../proxy/config/issues.js';
import type { ProtoObject } from '../proxy/config/proto-object.js';
import { compileRouteConfig } from '../proxy/router/compile.js';
import type { RouteRequest, RouteTable } from '../proxy/router/types.js';
import { translateRouteConfiguration } from '../proxy/xds/route-configuration.js';

const VHOSTS = 100;
const ROUTES = 20;

function buildConfig(): ProtoObject {
  const virtualHosts: ProtoObject[] = [];
  for (let v = 0; v < VHOSTS; v++) {
    const routes: ProtoObject[] = [];
    for (let r = 0; r < ROUTES - 1; r++) {
      const cluster = `svc-${v}-${r}`;
      // A realistic mix: mostly prefixes, some exact paths, regexes and header matchers.
      if (r % 5 === 0) routes.push({ match: { path: `/api/v${r}/exact` }, route: { cluster } });
      else if (r % 5 === 1)
        routes.push({ match: { safe_regex: { regex: `/items/[0-9]+/r${r}` } }, route: { cluster } });
      else if (r % 5 === 2) {
        routes.push({
          match: { prefix: `/api/v${r}/`, headers: [{ name: 'x-canary', string_match: { exact: 'true' } }] },
          route: { cluster },
        });
      } else if (r % 5 === 3) {
        routes.push({ match: { prefix: `/API/V${r}/`, case_sensitive: false }, route: { cluster } });
      } else routes.push({ match: { prefix: `/api/v${r}/` }, route: { cluster, prefix_rewrite: '/' } });
    }
    routes.push({ match: { prefix: '/' }, route: { cluster: `svc-${v}-default` } });
    const domains =
      v === 0
        ? ['*']
        : v % 3 === 0
          ? [`*.zone${v}.example.com`]
          : [`svc${v}.example.com`, `svc${v}.example.com:8080`];
    virtualHosts.push({ name: `vh${v}`, domains, routes });
  }
  return { name: 'bench', virtual_hosts: virtualHosts };
}

function buildTable(): RouteTable {
  const issues = new Issues();
  const model = translateRouteConfiguration(buildConfig(), 'bench', issues);
  if (model === null) throw new Error(issues.format());
  return compileRouteConfig(model);
}

function request(authority: string, path: string, headers: RouteRequest['headers'] = {}): RouteRequest {
  return { authority, path, method: 'GET', scheme: 'http', headers };
}

const scenarios: [string, RouteRequest][] = [
  ['exact host, first route', request('svc50.example.com', '/api/v0/exact')],
  ['exact host, default route (20th)', request('svc50.example.com', '/other/path?x=1')],
  ['exact host, mid-table prefix', request('svc50.example.com', '/api/v9/things')],
  ['exact host, header matcher', request('svc50.example.com', '/api/v7/x', { 'x-canary': 'true' })],
  ['exact host, regex route', request('svc50.example.com', '/items/123/r6')],
  ['suffix wildcard host', request('a.zone51.example.com', '/api/v4/x')],
  ['fallback * host', request('unknown.example.org', '/api/v14/x')],
];

function measure(table: RouteTable, r: RouteRequest, iterations: number): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) if (table.match(r) !== null) sink++;
  const ns = Number(process.hrtime.bigint() - start);
  if (sink !== iterations) throw new Error('a benchmark request did not match');
  return ns / iterations;
}

/** A reference operation (one string-keyed Map.get) so figures from a loaded machine can be read relatively. */
function baseline(iterations: number): number {
  const m = new Map<string, number>();
  for (let i = 0; i < VHOSTS; i++) m.set(`svc${i}.example.com`, i);
  const key = 'svc50.example.com';
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) if (m.get(key) !== undefined) sink++;
  const ns = Number(process.hrtime.bigint() - start);
  if (sink !== iterations) throw new Error('baseline lookup failed');
  return ns / iterations;
}

const table = buildTable();
const ITER = 1_000_000;
for (const [, r] of scenarios) measure(table, r, 100_000); // warm-up
console.log(`RouteTable.match() on ${VHOSTS} virtual hosts x ${ROUTES} routes, ${ITER} iterations each`);
console.log(
  `${'baseline: one Map.get (for scale)'.padEnd(36)} ${baseline(ITER).toFixed(1).padStart(8)} ns/op`,
);
for (const [name, r] of scenarios) {
  console.log(`${name.padEnd(36)} ${measure(table, r, ITER).toFixed(1).padStart(8)} ns/op`);
}
