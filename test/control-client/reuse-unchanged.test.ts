/**
 * ResourceType.reuseUnchanged: in state of the world, a resource whose bytes equal one of the last
 * accepted response is not decoded or validated again (the client reuses its value), so a push of
 * every cluster with one changed costs one validation. Over a real gRPC stream.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type DiscoveryRequest, type ResourceType, XdsClient } from '../../control-client/index.js';
import { AdsTestServer, type TestStream } from './ads-test-server.js';
import { Recorder } from './recorder.js';
import { THING_URL, type Thing, thingAny, thingType } from './test-types.js';

let server: AdsTestServer | null = null;
let client: XdsClient | null = null;

afterEach(() => {
  client?.close();
  client = null;
  server?.kill();
  server = null;
});

/** thingType, counting decode and validate calls; `reuse` sets reuseUnchanged. */
function counting(reuse: boolean): {
  type: ResourceType<Thing, Thing>;
  decoded: string[];
  validated: string[];
} {
  const decoded: string[] = [];
  const validated: string[] = [];
  const type: ResourceType<Thing, Thing> = {
    ...thingType,
    reuseUnchanged: reuse,
    decode(bytes) {
      const t = thingType.decode(bytes);
      decoded.push(t.name);
      return t;
    },
    validate(raw) {
      validated.push(raw.name);
      return thingType.validate(raw);
    },
  };
  return { type, decoded, validated };
}

async function connect(type: ResourceType<Thing, Thing>, rec: Recorder<Thing>): Promise<TestStream> {
  server = await AdsTestServer.start();
  client = new XdsClient({ target: server.target, node: { id: 'reuse' } });
  client.watch(type, '*', rec);
  const s = await server.stream(0);
  await s.next<DiscoveryRequest>();
  return s;
}

async function push(
  s: TestStream,
  version: string,
  things: Array<[string, string]>,
): Promise<DiscoveryRequest> {
  s.send({
    version_info: version,
    nonce: version,
    type_url: THING_URL,
    resources: things.map(([n, v]) => thingAny(n, v)),
  });
  return s.next<DiscoveryRequest>(5000);
}

describe('reuseUnchanged (state of the world)', () => {
  it('validates only the changed resource of a full resend; watchers hear only that one', async () => {
    const c = counting(true);
    const rec = new Recorder<Thing>();
    const s = await connect(c.type, rec);
    const all: Array<[string, string]> = Array.from({ length: 50 }, (_, i) => [`t${i}`, `v${i}`]);
    expect((await push(s, '1', all)).version_info).toBe('1');
    expect(c.validated).toHaveLength(50);
    expect(rec.values.size).toBe(50);
    c.decoded.length = 0;
    c.validated.length = 0;
    rec.events.length = 0;
    const next = all.map(([n, v]): [string, string] => (n === 't7' ? [n, 'changed'] : [n, v]));
    expect((await push(s, '2', next)).version_info).toBe('2');
    expect(c.decoded).toEqual(['t7']);
    expect(c.validated).toEqual(['t7']);
    expect(rec.events).toEqual(['update t7']);
    expect(rec.values.get('t7')?.value).toBe('changed');
    expect(rec.values.get('t8')?.value).toBe('v8');
  });

  it('still deletes what a full response leaves out, and reuses across a NACKed response', async () => {
    const c = counting(true);
    const rec = new Recorder<Thing>();
    const s = await connect(c.type, rec);
    await push(s, '1', [
      ['a', 'x'],
      ['b', 'y'],
    ]);
    // A NACKed response (b is bad) changes nothing, including what the next response may reuse.
    const nack = await push(s, '2', [
      ['a', 'x'],
      ['b', 'bad'],
    ]);
    expect(nack.error_detail?.message).toMatch(/b: value: "bad" is not allowed/);
    expect(nack.version_info).toBe('1');
    c.validated.length = 0;
    rec.events.length = 0;
    await push(s, '3', [['a', 'x']]);
    expect(c.validated).toEqual([]);
    expect(rec.events).toEqual(['absent b']);
    expect([...rec.values.keys()]).toEqual(['a']);
  });

  it('a type without reuseUnchanged decodes and validates every resource every time', async () => {
    const c = counting(false);
    const rec = new Recorder<Thing>();
    const s = await connect(c.type, rec);
    const all: Array<[string, string]> = [
      ['a', 'x'],
      ['b', 'y'],
    ];
    await push(s, '1', all);
    await push(s, '2', all);
    expect(c.validated).toEqual(['a', 'b', 'a', 'b']);
    expect(rec.events).toEqual(['update a', 'update b']);
  });

  it('a resource with the same bytes under two names in one response is still a duplicate', async () => {
    const c = counting(true);
    const rec = new Recorder<Thing>();
    const s = await connect(c.type, rec);
    await push(s, '1', [['a', 'x']]);
    const nack = await push(s, '2', [
      ['a', 'x'],
      ['a', 'x'],
    ]);
    expect(nack.error_detail?.message).toMatch(/a: duplicate resource name in one response/);
  });
});
