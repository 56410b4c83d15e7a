/**
 * Responses that take long to process (decoded in slices, or applied by a watcher that returns a
 * promise) hold back what must follow them, and only that: a type marked independentOfOtherTypes
 * (EDS) goes past a slow response of another type, while other types keep stream order. Each ACK
 * follows its own apply. Over a real gRPC server; the order of requests on the stream is the
 * evidence, since the client writes them in the order it finishes.
 */
import { describe, expect, it } from 'vitest';
import type { DeltaDiscoveryRequest, DiscoveryRequest, ResourceType } from '../../control-client/index.js';
import { adsClientSetup } from './client-harness.js';
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

const { setup } = adsClientSetup({ node: { id: 'lanes' }, backoff: { initialMs: 20, maxMs: 100 } });

/** Validation that costs 0.2 ms per resource, so a response of a few hundred needs many slices. */
const slowThing: ResourceType<Thing, Thing> = {
  ...thingType,
  validate(raw) {
    const until = performance.now() + 0.2;
    while (performance.now() < until) {
      // busy: stands for translating a big resource
    }
    return thingType.validate(raw);
  },
};

const independentAssignment: ResourceType<Assignment, Assignment> = {
  ...assignmentType,
  independentOfOtherTypes: true,
};

const things = (n: number, v: string) => Array.from({ length: n }, (_, i) => thingAny(`t${i}`, v));

/**
 * A client watching every slow Thing and assignment c1 (of `assignmentKind`), past the two
 * initial requests: what the lane tests share.
 */
async function watchBoth(
  assignmentKind: ResourceType<Assignment, Assignment>,
  extra: Parameters<typeof setup>[0] = {},
) {
  const { server, client } = await setup(extra);
  const thingsSeen = new Recorder<Thing>();
  const assignments = new Recorder<Assignment>();
  client.watch(slowThing, '*', thingsSeen);
  client.watch(assignmentKind, 'c1', assignments);
  const s = await server.stream(0);
  await s.next();
  await s.next();
  return { s, thingsSeen, assignments };
}

/** SotW: 300 slow Things (60 ms of decoding, well past one slice), then assignment c1. */
function sendThingsThenAssignment(s: Awaited<ReturnType<typeof watchBoth>>['s']): void {
  s.send({ version_info: 't1', nonce: 'tn1', type_url: THING_URL, resources: things(300, 'x') });
  s.send({
    version_info: 'a1',
    nonce: 'an1',
    type_url: ASSIGNMENT_URL,
    resources: [assignmentAny('c1', ['1.1.1.1:1'])],
  });
}

describe('XdsClient response lanes', () => {
  it('processes an independent type while a big response of another type is still decoding', async () => {
    const { s, thingsSeen, assignments } = await watchBoth(independentAssignment);
    sendThingsThenAssignment(s);
    const first = await s.next<DiscoveryRequest>();
    expect(first.type_url).toBe(ASSIGNMENT_URL);
    expect(first.response_nonce).toBe('an1');
    expect(first.version_info).toBe('a1');
    const second = await s.next<DiscoveryRequest>();
    expect(second.type_url).toBe(THING_URL);
    expect(second.response_nonce).toBe('tn1');
    expect(second.version_info).toBe('t1');
    expect(thingsSeen.values.size).toBe(300);
    expect(thingsSeen.batches).toBe(1);
    expect(assignments.values.get('c1')?.addresses).toEqual(['1.1.1.1:1']);
  });

  it('does the same over delta: the independent type is ACKed while the big response decodes', async () => {
    const { s, thingsSeen } = await watchBoth(independentAssignment, { api_type: 'DELTA_GRPC' });
    const resources = things(300, 'x').map((r, i) => ({ name: `t${i}`, version: '1', resource: r }));
    s.send({
      system_version_info: 't1',
      nonce: 'tn1',
      type_url: THING_URL,
      resources,
      removed_resources: [],
    });
    s.send({
      system_version_info: 'a1',
      nonce: 'an1',
      type_url: ASSIGNMENT_URL,
      resources: [{ name: 'c1', version: '1', resource: assignmentAny('c1', ['1.1.1.1:1']) }],
      removed_resources: [],
    });
    const first = await s.next<DeltaDiscoveryRequest>();
    expect([first.type_url, first.response_nonce]).toEqual([ASSIGNMENT_URL, 'an1']);
    const second = await s.next<DeltaDiscoveryRequest>();
    expect([second.type_url, second.response_nonce]).toEqual([THING_URL, 'tn1']);
    expect(second.error_detail ?? null).toBeNull();
    expect(thingsSeen.values.size).toBe(300);
  });

  it('keeps stream order for types that are not independent', async () => {
    const { s } = await watchBoth(assignmentType);
    sendThingsThenAssignment(s);
    const first = await s.next<DiscoveryRequest>();
    expect(first.type_url).toBe(THING_URL);
    expect(first.response_nonce).toBe('tn1');
    const second = await s.next<DiscoveryRequest>();
    expect(second.type_url).toBe(ASSIGNMENT_URL);
    expect(second.response_nonce).toBe('an1');
  });

  it('NACKs a response decoded in slices with every error, as one decoded in one go', async () => {
    const { server, client } = await setup();
    const thingsSeen = new Recorder<Thing>();
    client.watch(slowThing, '*', thingsSeen);
    const s = await server.stream(0);
    await s.next();
    const resources = things(200, 'x');
    resources[10] = thingAny('t10', 'bad-10');
    resources[190] = thingAny('t190', 'bad-190');
    s.send({ version_info: 't1', nonce: 'tn1', type_url: THING_URL, resources });
    const nack = await s.next<DiscoveryRequest>();
    expect(nack.response_nonce).toBe('tn1');
    expect(nack.version_info).toBe('');
    expect(nack.error_detail?.message).toContain('t10: value: "bad-10" is not allowed');
    expect(nack.error_detail?.message).toContain('t190: value: "bad-190" is not allowed');
    expect(thingsSeen.values.size).toBe(0);
  });

  it('holds the ACK, the next response of the type and readiness while a watcher applies', async () => {
    const { server, client } = await setup();
    const applied: string[] = [];
    let finish: (() => void) | null = null;
    const values = new Map<string, string>();
    client.watch(thingType, '*', {
      onUpdate: (name, v) => values.set(name, v.value),
      onDoesNotExist: (name) => values.delete(name),
      onBatchEnd: () => {
        applied.push([...values.values()].join(','));
        // The first batch is applied asynchronously (as a big CDS is); later ones at once.
        if (applied.length > 1) return undefined;
        return new Promise<void>((resolve) => {
          finish = resolve;
        });
      },
    });
    const assignments = new Recorder<Assignment>();
    client.watch(independentAssignment, 'c1', assignments);
    const s = await server.stream(0);
    await s.next();
    await s.next();
    s.send({ version_info: 't1', nonce: 'tn1', type_url: THING_URL, resources: [thingAny('a', 'one')] });
    s.send({ version_info: 't2', nonce: 'tn2', type_url: THING_URL, resources: [thingAny('a', 'two')] });
    s.send({
      version_info: 'a1',
      nonce: 'an1',
      type_url: ASSIGNMENT_URL,
      resources: [assignmentAny('c1', ['1.1.1.1:1'])],
    });
    // The assignment is ACKed first: had t1 been ACKed before its apply finished, its ACK would
    // have gone out ahead of this one.
    const first = await s.next<DiscoveryRequest>();
    expect(first.type_url).toBe(ASSIGNMENT_URL);
    expect(applied).toEqual(['one']);
    expect(client.isInitialFetchDone(THING_URL)).toBe(false);
    expect(finish).not.toBeNull();
    (finish as unknown as () => void)();
    const ack1 = await s.next<DiscoveryRequest>();
    expect([ack1.type_url, ack1.version_info, ack1.response_nonce]).toEqual([THING_URL, 't1', 'tn1']);
    const ack2 = await s.next<DiscoveryRequest>();
    expect([ack2.type_url, ack2.version_info, ack2.response_nonce]).toEqual([THING_URL, 't2', 'tn2']);
    expect(applied).toEqual(['one', 'two']);
    expect(client.isInitialFetchDone(THING_URL)).toBe(true);
  });

  it('drops a response whose stream broke while it was decoding; the new stream starts over', async () => {
    const { server, client } = await setup();
    const thingsSeen = new Recorder<Thing>();
    client.watch(slowThing, '*', thingsSeen);
    const s = await server.stream(0);
    await s.next();
    // 500 × 0.2 ms = 100 ms of decoding; the stream ends right after the response.
    s.send({ version_info: 't1', nonce: 'tn1', type_url: THING_URL, resources: things(500, 'x') });
    s.call.end();
    const s2 = await server.stream(1);
    const again = await s2.next<DiscoveryRequest>();
    expect(again.type_url).toBe(THING_URL);
    expect(again.response_nonce).toBe('');
    // Whether the old response finished before the break was noticed decides the version here;
    // what must never happen is an ACK of the old stream's nonce on the new stream.
    s2.send({ version_info: 't2', nonce: 'n2-1', type_url: THING_URL, resources: things(2, 'y') });
    const ack = await s2.next<DiscoveryRequest>();
    expect(ack.response_nonce).toBe('n2-1');
    expect(ack.version_info).toBe('t2');
    expect(thingsSeen.values.size).toBe(2);
    for (const r of s2.requests) expect((r as DiscoveryRequest).response_nonce).not.toBe('tn1');
  });
});
