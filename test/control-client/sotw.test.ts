import { describe, expect, it } from 'vitest';
import {
  type DiscoveryRequest,
  encodeResourceWrapper,
  RESOURCE_WRAPPER_TYPE_URL,
  XdsClient,
} from '../../control-client/index.js';
import { until } from './ads-test-server.js';
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

const { setup, restartServer } = adsClientSetup({
  node: { id: 'sidecar-1', cluster: 'web', locality: { zone: 'z1' }, metadata: { team: 'a', n: 1 } },
  version: '0.1.0',
  backoff: { initialMs: 20, maxMs: 200 },
});

describe('XdsClient state of the world', () => {
  it('sends the node and an empty wildcard request, then ACKs with the exact version and nonce', async () => {
    const { server, client } = await setup();
    const rec = new Recorder<Thing>();
    client.watch(thingType, '*', rec);
    const s = await server.stream(0);
    expect(s.method).toBe('StreamAggregatedResources');
    const first = await s.next<DiscoveryRequest>();
    expect(first.type_url).toBe(THING_URL);
    expect(first.version_info).toBe('');
    expect(first.response_nonce).toBe('');
    expect(first.resource_names).toEqual([]);
    expect(first.node?.id).toBe('sidecar-1');
    expect(first.node?.cluster).toBe('web');
    expect(first.node?.user_agent_name).toBe('remora');
    expect(first.node?.user_agent_version).toBe('0.1.0');
    expect(first.node?.locality?.zone).toBe('z1');
    expect(first.node?.metadata?.fields.team.stringValue).toBe('a');
    expect(first.node?.metadata?.fields.n.numberValue).toBe(1);

    s.send({
      version_info: 'v1',
      nonce: 'nonce-1',
      type_url: THING_URL,
      resources: [thingAny('a', 'one')],
      control_plane: { identifier: 'test-cp' },
    });
    const ack = await s.next<DiscoveryRequest>();
    expect(ack.version_info).toBe('v1');
    expect(ack.response_nonce).toBe('nonce-1');
    expect(ack.type_url).toBe(THING_URL);
    expect(ack.error_detail ?? null).toBeNull();
    // Envoy's default (set_node_on_first_message_only false): the node is in every request.
    expect(ack.node?.id).toBe('sidecar-1');
    expect(rec.values.get('a')).toEqual({ name: 'a', value: 'one' });
    await client.whenInitialFetchDone(THING_URL);
    expect(client.connected).toBe(true);
    expect(client.controlPlane.identifier).toBe('test-cp');
    expect(client.controlPlane.responses_received).toBe(1);
    const stats = client.typeStats(THING_URL)!;
    expect(stats.update_attempt).toBe(1);
    expect(stats.update_success).toBe(1);
    expect(stats.version_text).toBe('v1');
    expect(stats.update_time).toBeGreaterThan(0);
  });

  it('NACKs with the previous version, the response nonce and every error; the old value stays', async () => {
    const { server, client } = await setup();
    const rec = new Recorder<Thing>();
    client.watch(thingType, '*', rec);
    const s = await server.stream(0);
    await s.next();
    s.send({ version_info: 'v1', nonce: 'n1', type_url: THING_URL, resources: [thingAny('a', 'one')] });
    await s.next();
    s.send({
      version_info: 'v2',
      nonce: 'n2',
      type_url: THING_URL,
      resources: [thingAny('a', 'bad-1'), thingAny('b', 'ok'), thingAny('c', '')],
    });
    const nack = await s.next<DiscoveryRequest>();
    expect(nack.version_info).toBe('v1');
    expect(nack.response_nonce).toBe('n2');
    expect(nack.error_detail?.code).toBe(3);
    expect(nack.error_detail?.message).toContain('a: value: "bad-1" is not allowed');
    expect(nack.error_detail?.message).toContain('c: value: must not be empty');
    // All or nothing: b was valid but is not applied either.
    expect([...client.resources(thingType).keys()]).toEqual(['a']);
    expect(client.resources(thingType).get('a')?.value).toEqual({ name: 'a', value: 'one' });
    expect(rec.values.has('b')).toBe(false);
    expect(rec.errors).toHaveLength(1);
    expect(rec.errors[0]).toHaveLength(2);
    const stats = client.typeStats(THING_URL)!;
    expect(stats.update_rejected).toBe(1);
    expect(stats.version_text).toBe('v1');
    expect(stats.last_error).toContain('bad-1');

    // The next good response is accepted normally after the NACK.
    s.send({ version_info: 'v3', nonce: 'n3', type_url: THING_URL, resources: [thingAny('a', 'two')] });
    const ack = await s.next<DiscoveryRequest>();
    expect(ack.version_info).toBe('v3');
    expect(ack.response_nonce).toBe('n3');
    expect(rec.values.get('a')?.value).toBe('two');
  });

  it('wildcard: a resource absent from a later response is deleted; unchanged ones wake nobody', async () => {
    const { server, client } = await setup();
    const rec = new Recorder<Thing>();
    client.watch(thingType, '*', rec);
    const s = await server.stream(0);
    await s.next();
    s.send({
      version_info: '1',
      nonce: 'a',
      type_url: THING_URL,
      resources: [thingAny('x', '1'), thingAny('y', '1')],
    });
    await s.next();
    s.send({ version_info: '2', nonce: 'b', type_url: THING_URL, resources: [thingAny('x', '1')] });
    await s.next();
    expect(rec.events).toEqual(['update x', 'update y', 'absent y']);
    // One batch per response, however many resources it touched.
    expect(rec.batches).toBe(2);
    expect([...client.resources(thingType).keys()]).toEqual(['x']);
  });

  it('a wildcard next to names, or after them, is an explicit "*"', async () => {
    const { server, client } = await setup();
    client.watch(thingType, '*', new Recorder<Thing>());
    const cancel = client.watch(thingType, 'n1', new Recorder<Thing>());
    const s = await server.stream(0);
    expect((await s.next<DiscoveryRequest>()).resource_names).toEqual(['*', 'n1']);
    cancel();
    // An empty list now would mean "nothing" on this stream, not the legacy wildcard.
    expect((await s.next<DiscoveryRequest>()).resource_names).toEqual(['*']);
  });

  it('an LDS/CDS-like name just requested is not declared absent by a response that lacks it', async () => {
    const { server, client } = await setup();
    const rec = new Recorder<Thing>();
    client.watch(thingType, 'n1', rec);
    const s = await server.stream(0);
    await s.next();
    // Possibly an answer to an older request: n1 is not deleted, it was never seen.
    s.send({ version_info: '1', nonce: 'a', type_url: THING_URL, resources: [thingAny('other', 'x')] });
    await s.next();
    s.send({ version_info: '2', nonce: 'b', type_url: THING_URL, resources: [thingAny('n1', 'x')] });
    await s.next();
    s.send({ version_info: '3', nonce: 'c', type_url: THING_URL, resources: [] });
    await s.next();
    expect(rec.events).toEqual(['update n1', 'absent n1']);
    expect(client.resources(thingType).size).toBe(0);
  });

  it('named subscriptions change resource_names on the wire; unrequested resources are ignored', async () => {
    const { server, client } = await setup();
    const rec = new Recorder<Assignment>();
    const cancel1 = client.watch(assignmentType, 'e1', rec);
    const s = await server.stream(0);
    const r1 = await s.next<DiscoveryRequest>();
    expect(r1.type_url).toBe(ASSIGNMENT_URL);
    expect(r1.resource_names).toEqual(['e1']);

    s.send({
      version_info: '1',
      nonce: 'p',
      type_url: ASSIGNMENT_URL,
      resources: [assignmentAny('e1', ['10.0.0.1:80']), assignmentAny('e3', ['10.0.0.3:80'])],
    });
    const ack = await s.next<DiscoveryRequest>();
    expect(ack.response_nonce).toBe('p');

    client.watch(assignmentType, 'e2', rec);
    const r2 = await s.next<DiscoveryRequest>();
    expect(r2.resource_names).toEqual(['e1', 'e2']);
    expect(r2.version_info).toBe('1');
    expect(r2.response_nonce).toBe('p');

    // EDS is not all-resources-required: a response with only e2 does not delete e1.
    s.send({
      version_info: '2',
      nonce: 'q',
      type_url: ASSIGNMENT_URL,
      resources: [assignmentAny('e2', ['10.0.0.2:80'])],
    });
    await s.next();
    cancel1();
    const r3 = await s.next<DiscoveryRequest>();
    expect(r3.resource_names).toEqual(['e2']);
    expect(r3.version_info).toBe('2');
    expect(r3.response_nonce).toBe('q');
    expect(rec.events).toEqual(['update e1', 'update e2']);
    expect(rec.values.has('e3')).toBe(false);
    expect([...client.resources(assignmentType).keys()]).toEqual(['e2']);
  });

  it('a watcher that throws does not stop the other watchers, the ACK or the client', async () => {
    const warnings: string[] = [];
    const { server, client } = await setup({ hooks: { onWarning: (m) => warnings.push(m) } });
    client.watch(thingType, '*', {
      onUpdate() {
        throw new Error('boom');
      },
      onDoesNotExist() {},
    });
    const rec = new Recorder<Thing>();
    client.watch(thingType, '*', rec);
    const s = await server.stream(0);
    await s.next();
    s.send({ version_info: '1', nonce: 'a', type_url: THING_URL, resources: [thingAny('x', '1')] });
    const ack = await s.next<DiscoveryRequest>();
    expect(ack.version_info).toBe('1');
    expect(ack.error_detail ?? null).toBeNull();
    expect(rec.values.get('x')?.value).toBe('1');
    expect(warnings.some((w) => w.includes('boom'))).toBe(true);
  });

  it('unwraps resources sent as envoy.service.discovery.v3.Resource', async () => {
    const { server, client } = await setup();
    const rec = new Recorder<Thing>();
    client.watch(thingType, '*', rec);
    const s = await server.stream(0);
    await s.next();
    const wrapped = encodeResourceWrapper({ name: 'w', version: '7', resource: thingAny('w', 'wrapped') });
    s.send({
      version_info: '1',
      nonce: 'a',
      type_url: THING_URL,
      resources: [{ type_url: RESOURCE_WRAPPER_TYPE_URL, value: wrapped }],
    });
    const ack = await s.next<DiscoveryRequest>();
    expect(ack.error_detail ?? null).toBeNull();
    expect(rec.values.get('w')).toEqual({ name: 'w', value: 'wrapped' });
  });

  it('NACKs garbage (wrong type URL, undecodable bytes) and keeps running', async () => {
    const { server, client } = await setup();
    const rec = new Recorder<Thing>();
    client.watch(thingType, '*', rec);
    const s = await server.stream(0);
    await s.next();
    s.send({
      version_info: '1',
      nonce: 'g1',
      type_url: THING_URL,
      resources: [
        { type_url: 'type.googleapis.com/remora.test.Other', value: Buffer.from([8, 1]) },
        { type_url: THING_URL, value: Buffer.from([0x0a, 0xff, 0xff, 0xff]) },
        thingAny('', 'bad-x'),
        thingAny('', 'fine'),
        thingAny('dup', 'a'),
        thingAny('dup', 'b'),
      ],
    });
    const nack = await s.next<DiscoveryRequest>();
    expect(nack.response_nonce).toBe('g1');
    expect(nack.version_info).toBe('');
    expect(nack.error_detail?.code).toBe(3);
    expect(nack.error_detail?.message).toContain(
      'resources[0]: type URL "type.googleapis.com/remora.test.Other"',
    );
    expect(nack.error_detail?.message).toContain('resources[1]: cannot decode');
    // No name: the type's own errors if it has any, else "no name".
    expect(nack.error_detail?.message).toContain('resources[2]: value: "bad-x" is not allowed');
    expect(nack.error_detail?.message).toContain('resources[3]: resource has no name');
    expect(nack.error_detail?.message).toContain('dup: duplicate resource name in one response');
    expect(nack.error_detail?.message.split('\n')).toHaveLength(5);
    // A response for a type nobody asked for is ignored, not answered.
    s.send({
      version_info: '9',
      nonce: 'u',
      type_url: 'type.googleapis.com/remora.test.Unknown',
      resources: [],
    });
    s.send({ version_info: '2', nonce: 'g2', type_url: THING_URL, resources: [thingAny('ok', 'fine')] });
    const ack = await s.next<DiscoveryRequest>();
    expect(ack.response_nonce).toBe('g2');
    expect(ack.version_info).toBe('2');
    expect(rec.values.get('ok')?.value).toBe('fine');
    expect(client.controlPlane.stream_attempts).toBe(1);
  });

  it('fires does-not-exist for a name the server never sends, and completes the initial fetch', async () => {
    const { server, client } = await setup({ initialFetchTimeoutMs: 200 });
    const rec = new Recorder<Assignment>();
    const started = Date.now();
    client.watch(assignmentType, 'never', rec);
    const s = await server.stream(0);
    await s.next();
    expect(client.isInitialFetchDone(ASSIGNMENT_URL)).toBe(false);
    await client.whenInitialFetchDone(ASSIGNMENT_URL);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(rec.events).toEqual(['absent never']);
    expect(client.typeStats(ASSIGNMENT_URL)?.init_fetch_timeout).toBe(1);
    // A late arrival still reaches the watcher.
    s.send({
      version_info: '1',
      nonce: 'x',
      type_url: ASSIGNMENT_URL,
      resources: [assignmentAny('never', ['a:1'])],
    });
    await until(() => rec.values.has('never'));
    expect(rec.events).toEqual(['absent never', 'update never']);
  });

  it('close() cancels the does-not-exist timers: a closed client hears nothing more', async () => {
    const { server, client } = await setup({ initialFetchTimeoutMs: 150 });
    const closed = new Recorder<Assignment>();
    client.watch(assignmentType, 'never', closed);
    await (await server.stream(0)).next();
    client.close();
    // A second client with the same timeout, started later, is the clock: when its timer has
    // fired, the closed client's would have too.
    const witness = new XdsClient({ target: server.target, node: { id: 'w' }, initialFetchTimeoutMs: 150 });
    try {
      const rec = new Recorder<Assignment>();
      witness.watch(assignmentType, 'never', rec);
      await witness.whenInitialFetchDone(ASSIGNMENT_URL);
      expect(rec.events).toEqual(['absent never']);
      expect(closed.events).toEqual([]);
      expect(client.connected).toBe(false);
      expect(() => client.watch(assignmentType, 'x', closed)).toThrow('closed');
    } finally {
      witness.close();
    }
  });

  it('a late second watcher of a known name gets the current value without a new request', async () => {
    const { server, client } = await setup();
    const first = new Recorder<Assignment>();
    client.watch(assignmentType, 'e1', first);
    const s = await server.stream(0);
    await s.next();
    s.send({
      version_info: '1',
      nonce: 'n',
      type_url: ASSIGNMENT_URL,
      resources: [assignmentAny('e1', ['a:1'])],
    });
    await s.next();
    const second = new Recorder<Assignment>();
    const cancel = client.watch(assignmentType, 'e1', second);
    await until(() => second.values.has('e1'));
    cancel();
    // Still subscribed for the first watcher: the next request the server sees is the ACK of v2.
    s.send({
      version_info: '2',
      nonce: 'm',
      type_url: ASSIGNMENT_URL,
      resources: [assignmentAny('e1', ['a:2'])],
    });
    const next = await s.next<DiscoveryRequest>();
    expect(next.response_nonce).toBe('m');
    expect(next.resource_names).toEqual(['e1']);
    expect(first.values.get('e1')?.addresses).toEqual(['a:2']);
    expect(second.values.get('e1')?.addresses).toEqual(['a:1']);
  });

  it('reconnects with backoff after the server dies and resends subscriptions with the last version', async () => {
    const states: boolean[] = [];
    const delays: number[] = [];
    const { server: first, client: c } = await setup({
      backoff: { initialMs: 50, maxMs: 200 },
      hooks: {
        onConnectionStateChange: (up) => states.push(up),
        onStreamClosed: (_status, retryInMs) => delays.push(retryInMs),
      },
    });
    const port = first.port;
    const things = new Recorder<Thing>();
    const eds = new Recorder<Assignment>();
    c.watch(thingType, '*', things);
    c.watch(assignmentType, 'e1', eds);
    const s0 = await first.stream(0);
    await s0.next();
    await s0.next();
    s0.send({ version_info: 't1', nonce: 'a', type_url: THING_URL, resources: [thingAny('x', '1')] });
    s0.send({
      version_info: 'e1v',
      nonce: 'b',
      type_url: ASSIGNMENT_URL,
      resources: [assignmentAny('e1', ['a:1'])],
    });
    await s0.next();
    await s0.next();
    first.kill();
    await until(() => !c.connected, 3000, 'disconnect');
    // The last accepted config survives the broken stream.
    expect(c.resources(thingType).get('x')?.value).toEqual({ name: 'x', value: '1' });

    const server = await restartServer(port);
    const s1 = await server.stream(0);
    const reqs = [await s1.next<DiscoveryRequest>(), await s1.next<DiscoveryRequest>()];
    const byType = new Map(reqs.map((r) => [r.type_url, r]));
    expect(byType.get(THING_URL)?.version_info).toBe('t1');
    expect(byType.get(THING_URL)?.resource_names).toEqual([]);
    expect(byType.get(THING_URL)?.response_nonce).toBe('');
    expect(byType.get(ASSIGNMENT_URL)?.version_info).toBe('e1v');
    expect(byType.get(ASSIGNMENT_URL)?.resource_names).toEqual(['e1']);
    expect(byType.get(ASSIGNMENT_URL)?.node?.id).toBe('sidecar-1');
    s1.send({ version_info: 't2', nonce: 'c', type_url: THING_URL, resources: [thingAny('x', '2')] });
    await s1.next();
    await until(() => c.connected, 3000, 'reconnect');
    expect(states).toEqual([true, false, true]);
    expect(c.controlPlane.stream_attempts).toBeGreaterThanOrEqual(2);
    expect(c.controlPlane.stream_failures).toBeGreaterThanOrEqual(1);
    expect(c.typeStats(THING_URL)?.update_failure).toBeGreaterThanOrEqual(1);
    expect(things.events).toEqual(['update x', 'update x']);
    // Backoff: the first retry after a healthy stream starts from the initial delay, later ones grow
    // by 1.6 up to the maximum, each within ±20% jitter.
    expect(delays.length).toBeGreaterThanOrEqual(1);
    delays.forEach((d, i) => {
      const base = Math.min(50 * 1.6 ** i, 200);
      expect(d).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
      expect(d).toBeLessThanOrEqual(Math.ceil(base * 1.2));
    });
  });
});
