import { afterEach, describe, expect, it } from 'vitest';
import {
  type DeltaDiscoveryRequest,
  type DiscoveryRequest,
  snapshotsFromJson,
  snapshotsToJson,
  XdsClient,
} from '../../control-client/index.js';
import { AdsTestServer } from './ads-test-server.js';
import { Recorder } from './recorder.js';
import {
  ASSIGNMENT_URL,
  type Assignment,
  assignmentAny,
  assignmentType,
  THING_URL,
  type Thing,
  thingAny,
  thingType,
} from './test-types.js';

const servers: AdsTestServer[] = [];
const clients: XdsClient[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) s.kill();
});

async function startServer(port = 0): Promise<AdsTestServer> {
  const s = await AdsTestServer.start(port);
  servers.push(s);
  return s;
}

function newClient(target: string, api: 'GRPC' | 'DELTA_GRPC' = 'GRPC'): XdsClient {
  const c = new XdsClient({
    target,
    node: { id: 'snap' },
    api_type: api,
    retainResourceBytes: true,
    initialFetchTimeoutMs: 10_000,
    backoff: { initialMs: 30, maxMs: 100 },
  });
  clients.push(c);
  return c;
}

/** Runs a first client to get accepted resources and returns the persisted JSON and the port. */
async function persistedState(api: 'GRPC' | 'DELTA_GRPC'): Promise<{ json: string; port: number }> {
  const server = await startServer();
  const a = newClient(server.target, api);
  a.watch(thingType, '*', new Recorder<Thing>());
  a.watch(assignmentType, 'e1', new Recorder<Assignment>());
  const s = await server.stream(0);
  await s.next();
  await s.next();
  if (api === 'GRPC') {
    s.send({ version_info: 't1', nonce: 'a', type_url: THING_URL, resources: [thingAny('x', '1')] });
    s.send({
      version_info: 'e1',
      nonce: 'b',
      type_url: ASSIGNMENT_URL,
      resources: [assignmentAny('e1', ['a:1'])],
    });
  } else {
    s.send({
      nonce: 'a',
      type_url: THING_URL,
      resources: [{ name: 'x', version: 'xv', resource: thingAny('x', '1') }],
    });
    s.send({
      nonce: 'b',
      type_url: ASSIGNMENT_URL,
      resources: [{ name: 'e1', version: 'e1v', resource: assignmentAny('e1', ['a:1']) }],
    });
  }
  await s.next();
  await s.next();
  const json = snapshotsToJson([a.snapshot(THING_URL)!, a.snapshot(ASSIGNMENT_URL)!]);
  a.close();
  server.kill();
  return { json, port: server.port };
}

describe('XdsClient snapshots (persisted config)', () => {
  it('SotW: serves restored resources with no control plane, then reconciles when it appears', async () => {
    const { json, port } = await persistedState('GRPC');
    const [thingSnap, edsSnap] = snapshotsFromJson(json);
    const b = newClient(`127.0.0.1:${port}`);
    const things = new Recorder<Thing>();
    const eds = new Recorder<Assignment>();
    // A dependent watch made from inside an update, as the proxy does for EDS after CDS.
    b.watch(thingType, '*', {
      onUpdate: (n, v) => {
        things.onUpdate(n, v);
        b.watch(assignmentType, 'e1', eds);
      },
      onDoesNotExist: (n) => things.onDoesNotExist(n),
    });
    expect(b.restore(thingType, thingSnap)).toEqual([]);
    expect(b.restore(assignmentType, edsSnap)).toEqual([]);
    expect(things.values.get('x')).toEqual({ name: 'x', value: '1' });
    expect(eds.values.get('e1')?.addresses).toEqual(['a:1']);
    // Startup does not wait for the (absent) control plane.
    await b.whenInitialFetchDone(THING_URL);
    await b.whenInitialFetchDone(ASSIGNMENT_URL);
    expect(b.connected).toBe(false);

    const server = await startServer(port);
    const s = await server.stream(0);
    const reqs = [await s.next<DiscoveryRequest>(), await s.next<DiscoveryRequest>()];
    const byType = new Map(reqs.map((r) => [r.type_url, r]));
    expect(byType.get(THING_URL)?.version_info).toBe('t1');
    expect(byType.get(ASSIGNMENT_URL)?.version_info).toBe('e1');
    expect(byType.get(ASSIGNMENT_URL)?.resource_names).toEqual(['e1']);
    // The server's truth replaces the snapshot: x is gone, y is new.
    s.send({ version_info: 't2', nonce: 'c', type_url: THING_URL, resources: [thingAny('y', '2')] });
    await s.next();
    expect(things.events).toEqual(['update x', 'update y', 'absent x']);
  });

  it('delta: restored per-resource versions go out as initial_resource_versions', async () => {
    const { json, port } = await persistedState('DELTA_GRPC');
    const [thingSnap, edsSnap] = snapshotsFromJson(json);
    const server = await startServer(port);
    const b = newClient(server.target, 'DELTA_GRPC');
    b.watch(thingType, '*', new Recorder<Thing>());
    b.watch(assignmentType, 'e1', new Recorder<Assignment>());
    expect(b.restore(thingType, thingSnap)).toEqual([]);
    expect(b.restore(assignmentType, edsSnap)).toEqual([]);
    const s = await server.stream(0);
    const reqs = [await s.next<DeltaDiscoveryRequest>(), await s.next<DeltaDiscoveryRequest>()];
    const byType = new Map(reqs.map((r) => [r.type_url, r]));
    expect(byType.get(THING_URL)?.initial_resource_versions).toEqual({ x: 'xv' });
    expect(byType.get(ASSIGNMENT_URL)?.initial_resource_versions).toEqual({ e1: 'e1v' });
  });

  it('rejects a corrupt snapshot whole, a late restore, and malformed JSON', async () => {
    const server = await startServer();
    const b = newClient(server.target);
    const rec = new Recorder<Thing>();
    b.watch(thingType, '*', rec);
    const bad = {
      typeUrl: THING_URL,
      versionInfo: 'v',
      resources: [
        { name: 'ok', version: 'v', resource: thingAny('ok', 'fine') },
        { name: 'bad', version: 'v', resource: thingAny('bad', 'bad-value') },
      ],
    };
    const errors = b.restore(thingType, bad);
    expect(errors).toEqual(['bad: value: "bad-value" is not allowed']);
    expect(rec.values.size).toBe(0);
    expect(b.restore(thingType, { ...bad, typeUrl: ASSIGNMENT_URL })[0]).toContain('snapshot is for');

    const s = await server.stream(0);
    await s.next();
    s.send({ version_info: '1', nonce: 'n', type_url: THING_URL, resources: [thingAny('z', '1')] });
    await s.next();
    expect(b.restore(thingType, { ...bad, resources: [] })[0]).toContain('already answered');

    expect(() => snapshotsFromJson('{"snapshots":[{"type_url":1}]}')).toThrow(
      'snapshots[0].resources: must be a list',
    );
    expect(() =>
      snapshotsFromJson('{"snapshots":[{"type_url":"t","version_info":"v","resources":[{}]}]}'),
    ).toThrow('snapshots[0].resources[0].name: must be a string');
    expect(() => snapshotsFromJson('nope')).toThrow();
  });
});
