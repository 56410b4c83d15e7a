/**
 * No request lost while the config changes under traffic: clients send requests back to back
 * through the LDS listener while the control plane changes routes, endpoints, clusters and the
 * listener itself (same port: the replacement takes the port over with SO_REUSEPORT and the old
 * one drains). Every request must succeed.
 */
import { describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import {
  assignment,
  CDS,
  EDS,
  edsCluster,
  LDS,
  ldsListener,
  RDS,
  routeConfig,
  until,
} from './dynamic-harness.js';
import { freePort, useDynamicScope } from './dynamic-proxy.js';

const { upstream, controlPlane, proxy } = useDynamicScope();

describe.each(['GRPC', 'DELTA_GRPC'] as const)('changes under traffic over %s', (apiType) => {
  it('loses no request while routes, endpoints, clusters and the listener change', async () => {
    const a = await upstream('a');
    const b = await upstream('b');
    const c = await upstream('c');
    const cp = await controlPlane();
    const port = await freePort();
    cp.set(CDS, 'one', edsCluster('one'));
    cp.set(CDS, 'two', edsCluster('two'));
    cp.set(EDS, 'one', assignment('one', [a.port]));
    cp.set(EDS, 'two', assignment('two', [b.port]));
    cp.set(LDS, 'web', ldsListener('web', port, 'routes'));
    cp.set(RDS, 'routes', routeConfig('routes', 'one'));
    const p = proxy({ port: cp.port, apiType });
    await p.dynamic.whenInitialized();

    const changes: Array<() => void> = [
      () => cp.set(RDS, 'routes', routeConfig('routes', 'two')),
      () => cp.set(EDS, 'two', assignment('two', [b.port, c.port])),
      () => cp.set(CDS, 'one', edsCluster('one', { connect_timeout: 2000 })),
      () => cp.set(LDS, 'web', ldsListener('web', port, 'routes', { server_name: 'changed-1' })),
      () => cp.set(RDS, 'routes', routeConfig('routes', 'one')),
      () => cp.set(EDS, 'one', assignment('one', [c.port])),
      () => cp.set(CDS, 'two', edsCluster('two', { connect_timeout: 3000 })),
      () => cp.set(LDS, 'web', ldsListener('web', port, 'routes', { server_name: 'changed-2' })),
      () => cp.set(RDS, 'routes', routeConfig('routes', 'two')),
    ];

    let ok = 0;
    const failures: string[] = [];
    const deadline = Date.now() + 2000;
    const client = async () => {
      for (let i = 0; i < 5000 && Date.now() < deadline; i++) {
        try {
          const r = await request(port, {});
          if (r.status === 200) ok++;
          else failures.push(`status ${r.status} ${r.headers['x-envoy-response-flags'] ?? ''}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const mutator = async () => {
      for (const change of changes) {
        await new Promise((r) => setTimeout(r, 180));
        change();
        cp.push();
      }
    };
    await Promise.all([client(), client(), client(), client(), mutator()]);
    await until(() => p.listeners.get('web')?.model.filterChains[0] !== undefined, 1000, 'listener');
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(100);
    expect(cp.nacks).toEqual([]);
    // Every change was applied: two listener replacements, and the last route is in force.
    expect(p.stats.counter('listener_manager.listener_modified').value).toBe(2);
    expect(p.stats.counter('http.web.rds.routes.update_success').value).toBe(4);
    const body = (await request(port, {})).body.toString();
    expect(['b', 'c']).toContain(body);
  });
});
