/**
 * A big CDS update is built in slices and committed in one turn (docs/xds.md, "Scale"): routing
 * sees all of the new clusters or none of them, and an EDS update written right behind the CDS is
 * applied while the CDS is still being built instead of waiting for it. A removal in the same
 * update goes at the commit too, and clusters whose endpoints changed during the build get them.
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
  staticCluster,
  until,
} from './dynamic-harness.js';
import { freePort, useDynamicScope } from './dynamic-proxy.js';

const { upstream, controlPlane, proxy } = useDynamicScope();

/** Samples on every event-loop turn (setImmediate) until `done()`, bounded in turns and time. */
async function sampleTurns(sample: () => void, done: () => boolean, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let turns = 1; turns <= 1_000_000; turns++) {
    sample();
    if (done()) return turns;
    if (Date.now() > deadline) throw new Error(`not done within ${timeoutMs} ms`);
    await new Promise<void>((r) => setImmediate(r));
  }
  throw new Error('not done within 1,000,000 turns');
}

describe('CDS applied in slices', () => {
  it('installs a 3,000-cluster CDS at once while an EDS update behind it goes first', async () => {
    const a = await upstream('a');
    const b = await upstream('b');
    const cp = await controlPlane();
    const port = await freePort();
    cp.set(CDS, 'svc', edsCluster('svc'));
    cp.set(CDS, 'doomed', staticCluster('doomed', a.port));
    cp.set(EDS, 'svc', assignment('svc', [a.port]));
    cp.set(LDS, 'web', ldsListener('web', port, 'routes'));
    cp.set(RDS, 'routes', routeConfig('routes', 'svc'));
    const p = proxy({ port: cp.port });
    await p.dynamic.whenInitialized();
    expect((await request(port, {})).body.toString()).toBe('a');

    const n = 3000;
    for (let i = 0; i < n; i++) cp.set(CDS, `big-${i}`, staticCluster(`big-${i}`, a.port));
    cp.remove(CDS, 'doomed');
    cp.set(EDS, 'svc', assignment('svc', [b.port]));
    const svcOnB = () => p.clusters.get('svc')?.allHosts()[0]?.port === b.port;
    let torn = 0;
    let edsBeforeCommit = false;
    let turnsWhileBuilding = 0;
    const acksBefore = cp.acks.length;
    cp.push(CDS, EDS);
    await sampleTurns(
      () => {
        const first = p.clusters.get('big-0') !== undefined;
        const last = p.clusters.get(`big-${n - 1}`) !== undefined;
        const doomedGone = p.clusters.get('doomed') === undefined;
        // All of the update or none of it, removal included.
        if (first !== last || first !== doomedGone) torn++;
        if (!first) {
          turnsWhileBuilding++;
          if (svcOnB()) edsBeforeCommit = true;
        }
      },
      () => p.clusters.get('big-0') !== undefined && svcOnB(),
    );
    expect(torn).toBe(0);
    // The proxy yielded while building (this test's turns ran in between) and the EDS update
    // was in place before the CDS was committed.
    expect(turnsWhileBuilding).toBeGreaterThan(1);
    expect(edsBeforeCommit).toBe(true);
    const acks = () => cp.acks.slice(acksBefore);
    await until(() => acks().some((x) => x.typeUrl === CDS), 10_000, 'CDS ACK');
    // The ACKs follow the applies: EDS first, although its response came second.
    const edsAck = acks().findIndex((x) => x.typeUrl === EDS);
    const cdsAck = acks().findIndex((x) => x.typeUrl === CDS);
    expect(edsAck).toBeGreaterThanOrEqual(0);
    expect(edsAck).toBeLessThan(cdsAck);
    expect(cp.nacks).toEqual([]);
    expect((await request(port, {})).body.toString()).toBe('b');
    expect(p.clusters.get(`big-${n - 1}`)?.allHosts()).toHaveLength(1);
  });

  it('a changed EDS cluster built during the update gets the endpoints that arrived meanwhile', async () => {
    const a = await upstream('a');
    const b = await upstream('b');
    const cp = await controlPlane();
    const port = await freePort();
    cp.set(CDS, 'svc', edsCluster('svc'));
    cp.set(EDS, 'svc', assignment('svc', [a.port]));
    cp.set(LDS, 'web', ldsListener('web', port, 'routes'));
    cp.set(RDS, 'routes', routeConfig('routes', 'svc'));
    const p = proxy({ port: cp.port });
    await p.dynamic.whenInitialized();
    const before = p.clusters.get('svc');

    // svc itself changes (a new connect timeout) in a big CDS, and its endpoints move right behind.
    for (let i = 0; i < 2000; i++) cp.set(CDS, `big-${i}`, staticCluster(`big-${i}`, a.port));
    cp.set(CDS, 'svc', edsCluster('svc', { connect_timeout: 2000 }));
    cp.set(EDS, 'svc', assignment('svc', [b.port]));
    cp.push(CDS, EDS);
    await until(() => p.clusters.get('big-0') !== undefined, 10_000, 'CDS committed');
    const after = p.clusters.get('svc');
    expect(after).not.toBe(before);
    expect(after?.model.connectTimeoutMs).toBe(2000);
    expect(after?.allHosts().map((h) => h.port)).toEqual([b.port]);
    expect((await request(port, {})).body.toString()).toBe('b');
  });
});
