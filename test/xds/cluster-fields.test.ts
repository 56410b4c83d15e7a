import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseArgs } from '../../proxy/cli-options.js';
import { staticClusterFactory } from '../../proxy/extensions/clusters/static/factory.js';
import { startProxy, validateConfig } from '../../proxy/main.js';
import type { RunningProxy } from '../../proxy/main-contract.js';
import { StatsStore } from '../../proxy/observability/stats.js';
import { ClusterManager } from '../../proxy/upstream/cluster-manager.js';
import { clusterModel } from '../helpers/real-clusters.js';

// Cluster and endpoint fields decoded from YAML by the real decoder and translated on the
// --mode validate / start path: applied, accepted for a stated reason, or an error at the path.

function options(yaml: string) {
  const parsed = parseArgs(['--config-yaml', yaml, '--drain-time-s', '0', '--log-level', 'error']);
  if (parsed.kind !== 'run') throw new Error(`bad args: ${parsed.kind}`);
  return parsed.options;
}

function bootstrap(clusterExtra: string, endpointExtra: string, port = 1, policy = ''): string {
  return `
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
static_resources:
  clusters:
    - name: svc
      connect_timeout: 1s
${clusterExtra}
      load_assignment:
        cluster_name: svc
${policy}
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address: { socket_address: { address: 127.0.0.1, port_value: ${port} } }
${endpointExtra}
`;
}

const C = 'static_resources.clusters[0]';
const EP = `${C}.load_assignment.endpoints[0].lb_endpoints[0].endpoint`;

async function validate(clusterExtra: string, endpointExtra = '', policy = ''): Promise<string> {
  return (await validateConfig(options(bootstrap(clusterExtra, endpointExtra, 1, policy)))).format();
}

describe('cluster fields through the real decoder', () => {
  it('accepts metadata, ignore_health_on_host_removal and health_check_config.port_value', async () => {
    const text = await validate(
      `      metadata: { filter_metadata: { team: { owner: web } } }
      ignore_health_on_host_removal: true`,
      '                  health_check_config: { port_value: 8081 }',
    );
    expect(text).toBe('');
  });

  it('refuses the health_check_config fields remora does not implement, at their paths', async () => {
    const text = await validate(
      '',
      '                  health_check_config: { port_value: 70000, hostname: hc.local, disable_active_health_check: true }',
    );
    expect(text.split('\n').sort()).toEqual(
      [
        `error: ${EP}.health_check_config.port_value: must be an integer between 0 and 65535`,
        `error: ${EP}.health_check_config.hostname: not supported by remora`,
        `error: ${EP}.health_check_config.disable_active_health_check: not supported by remora`,
      ].sort(),
    );
  });

  it('refuses drop_overloads with a clear message at its path', async () => {
    const text = await validate(
      '',
      '',
      `        policy:
          drop_overloads: [{ category: throttle, drop_percentage: { numerator: 10 } }]`,
    );
    expect(text).toBe(
      `error: ${C}.load_assignment.policy.drop_overloads: not supported by remora (requests are never dropped by category); remove it`,
    );
  });
});

describe('endpoint health_check_config.port_value (real sockets)', () => {
  let proxy: RunningProxy | undefined;
  const servers: http.Server[] = [];
  afterEach(async () => {
    await proxy?.shutdown('test');
    proxy = undefined;
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  async function server(hits: string[]): Promise<number> {
    const s = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('ok');
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return (s.address() as AddressInfo).port;
  }

  it('sends active health checks to the health-check port, not the serving port', async () => {
    const servingHits: string[] = [];
    const checkHits: string[] = [];
    const servingPort = await server(servingHits);
    const checkPort = await server(checkHits);
    proxy = await startProxy(
      options(
        bootstrap(
          `      health_checks:
        - timeout: 1s
          interval: 0.05s
          no_traffic_interval: 0.05s
          unhealthy_threshold: 1
          healthy_threshold: 1
          http_health_check: { path: /healthz }`,
          `                  health_check_config: { port_value: ${checkPort} }`,
          servingPort,
        ),
      ),
    );
    const deadline = Date.now() + 5000;
    for (let i = 0; i < 200 && checkHits.length < 2 && Date.now() < deadline; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(checkHits.length).toBeGreaterThanOrEqual(2);
    expect(checkHits.every((u) => u === '/healthz')).toBe(true);
    expect(servingHits).toEqual([]);
  });
});

describe('health_check_config.port_value across a cluster update (real sockets)', () => {
  let manager: ClusterManager | null = null;
  const servers: http.Server[] = [];
  afterEach(async () => {
    manager?.shutdown();
    manager = null;
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  async function server(hits: string[]): Promise<number> {
    const s = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('ok');
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return (s.address() as AddressInfo).port;
  }

  async function until(what: string, cond: () => boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    for (let i = 0; i < 400 && Date.now() < deadline; i++) {
      if (cond()) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  function model(servingPort: number, checkPort: number) {
    return clusterModel({
      name: 'svc',
      ports: [],
      extra: {
        load_assignment: {
          cluster_name: 'svc',
          endpoints: [
            {
              lb_endpoints: [
                {
                  endpoint: {
                    address: { socket_address: { address: '127.0.0.1', port_value: servingPort } },
                    health_check_config: { port_value: checkPort },
                  },
                },
              ],
            },
          ],
        },
        health_checks: [
          {
            timeout: 1000,
            interval: 40,
            no_traffic_interval: 40,
            unhealthy_threshold: 1,
            healthy_threshold: 1,
            http_health_check: { path: '/healthz' },
          },
        ],
      },
    });
  }

  it('moves the checks to the new port when only the health-check port changes', async () => {
    const serving: string[] = [];
    const first: string[] = [];
    const second: string[] = [];
    const servingPort = await server(serving);
    const a = await server(first);
    const b = await server(second);
    manager = new ClusterManager({
      stats: new StatsStore(),
      discoveries: new Map([['STATIC', staticClusterFactory]]),
    });
    manager.addOrUpdate(model(servingPort, a));
    await until('checks on the first port', () => first.length > 0);
    manager.addOrUpdate(model(servingPort, b));
    await until('checks on the second port', () => second.length > 0);
    expect(
      manager
        .get('svc')
        ?.allHosts()
        .map((h) => h.healthCheckPort),
    ).toEqual([b]);
    expect(serving).toEqual([]);
  });
});
