import { describe, expect, it } from 'vitest';
import type { DeltaDiscoveryRequest } from '../../control-client/index.js';
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
  node: { id: 'sidecar-d' },
  api_type: 'DELTA_GRPC',
  backoff: { initialMs: 30, maxMs: 200 },
});

function resource(name: string, version: string, addresses: string[]) {
  return { name, version, resource: assignmentAny(name, addresses) };
}

describe('XdsClient delta', () => {
  it('subscribes and unsubscribes names incrementally', async () => {
    const { server, client } = await setup();
    expect(client.apiType).toBe('DELTA_GRPC');
    const rec = new Recorder<Assignment>();
    const cancel1 = client.watch(assignmentType, 'e1', rec);
    const s = await server.stream(0);
    expect(s.method).toBe('DeltaAggregatedResources');
    const first = await s.next<DeltaDiscoveryRequest>();
    expect(first.type_url).toBe(ASSIGNMENT_URL);
    expect(first.node?.id).toBe('sidecar-d');
    expect(first.resource_names_subscribe).toEqual(['e1']);
    expect(first.resource_names_unsubscribe).toEqual([]);
    expect(first.initial_resource_versions).toEqual({});
    expect(first.response_nonce).toBe('');

    client.watch(assignmentType, 'e2', rec);
    const add = await s.next<DeltaDiscoveryRequest>();
    expect(add.resource_names_subscribe).toEqual(['e2']);
    expect(add.resource_names_unsubscribe).toEqual([]);

    cancel1();
    const remove = await s.next<DeltaDiscoveryRequest>();
    expect(remove.resource_names_subscribe).toEqual([]);
    expect(remove.resource_names_unsubscribe).toEqual(['e1']);
  });

  it('ACKs with the nonce, applies updates and removed_resources, ignores unrequested names', async () => {
    const { server, client } = await setup();
    const rec = new Recorder<Assignment>();
    client.watch(assignmentType, 'e1', rec);
    client.watch(assignmentType, 'e2', rec);
    const s = await server.stream(0);
    const first = await s.next<DeltaDiscoveryRequest>();
    expect(first.resource_names_subscribe).toEqual(['e1', 'e2']);
    s.send({
      system_version_info: 'sys-1',
      nonce: 'd1',
      type_url: ASSIGNMENT_URL,
      resources: [
        resource('e1', 'a', ['10.0.0.1:80']),
        resource('e2', 'b', ['10.0.0.2:80']),
        resource('zz', 'c', []),
      ],
      removed_resources: [],
    });
    const ack = await s.next<DeltaDiscoveryRequest>();
    expect(ack.response_nonce).toBe('d1');
    expect(ack.error_detail ?? null).toBeNull();
    expect(ack.resource_names_subscribe).toEqual([]);
    expect(rec.values.get('e1')?.addresses).toEqual(['10.0.0.1:80']);
    expect(rec.values.has('zz')).toBe(false);
    expect(client.typeStats(ASSIGNMENT_URL)?.version_text).toBe('sys-1');

    // A Resource without a body is a TTL heartbeat: ACKed, nothing changes.
    s.send({
      system_version_info: 'sys-2',
      nonce: 'd2',
      type_url: ASSIGNMENT_URL,
      resources: [{ name: 'e2', version: 'b', resource: null }],
      removed_resources: ['e1'],
    });
    const ack2 = await s.next<DeltaDiscoveryRequest>();
    expect(ack2.response_nonce).toBe('d2');
    expect(rec.events).toEqual(['update e1', 'update e2', 'absent e1']);
    expect([...client.resources(assignmentType).keys()]).toEqual(['e2']);
    expect(client.resources(assignmentType).get('e2')?.version).toBe('b');
  });

  it('a name dropped and re-watched in the same turn keeps its value and sends nothing', async () => {
    const { server, client } = await setup();
    const first = new Recorder<Assignment>();
    const cancel = client.watch(assignmentType, 'e1', first);
    const s = await server.stream(0);
    await s.next();
    s.send({
      system_version_info: '1',
      nonce: 'a',
      type_url: ASSIGNMENT_URL,
      resources: [resource('e1', 'v1', ['a:1'])],
    });
    await s.next();
    cancel();
    const second = new Recorder<Assignment>();
    client.watch(assignmentType, 'e1', second);
    // The server never saw e1 go away, so it will not resend it: the cached value must serve.
    await until(() => second.values.has('e1'));
    expect(second.values.get('e1')?.addresses).toEqual(['a:1']);
    s.send({
      system_version_info: '2',
      nonce: 'b',
      type_url: ASSIGNMENT_URL,
      resources: [resource('e1', 'v2', ['a:2'])],
    });
    const next = await s.next<DeltaDiscoveryRequest>();
    // The next thing on the wire is the ACK: no unsubscribe/subscribe pair was sent.
    expect(next.response_nonce).toBe('b');
    expect(next.resource_names_subscribe).toEqual([]);
    expect(next.resource_names_unsubscribe).toEqual([]);
    expect(second.values.get('e1')?.addresses).toEqual(['a:2']);
  });

  it('a subscribed name the server reports in removed_resources does not exist, without waiting', async () => {
    const { server, client } = await setup({ initialFetchTimeoutMs: 10_000 });
    const rec = new Recorder<Assignment>();
    client.watch(assignmentType, 'ghost', rec);
    const s = await server.stream(0);
    await s.next();
    s.send({
      system_version_info: '1',
      nonce: 'r',
      type_url: ASSIGNMENT_URL,
      resources: [],
      removed_resources: ['ghost'],
    });
    await s.next();
    await client.whenInitialFetchDone(ASSIGNMENT_URL);
    expect(rec.events).toEqual(['absent ghost']);
    expect(client.typeStats(ASSIGNMENT_URL)?.init_fetch_timeout).toBe(0);
  });

  it('NACKs a bad delta response with the nonce and every error, changing nothing', async () => {
    const { server, client } = await setup();
    const rec = new Recorder<Assignment>();
    client.watch(assignmentType, 'e1', rec);
    const s = await server.stream(0);
    await s.next();
    s.send({
      system_version_info: '1',
      nonce: 'ok',
      type_url: ASSIGNMENT_URL,
      resources: [resource('e1', 'v1', ['a:1'])],
    });
    await s.next();
    s.send({
      system_version_info: '2',
      nonce: 'bad',
      type_url: ASSIGNMENT_URL,
      resources: [
        resource('e1', 'v2', ['bad-addr']),
        { name: 'e1x', version: 'v', resource: { type_url: THING_URL, value: Buffer.alloc(0) } },
        { name: '', version: 'v', resource: null },
      ],
      removed_resources: ['e1'],
    });
    const nack = await s.next<DeltaDiscoveryRequest>();
    expect(nack.response_nonce).toBe('bad');
    expect(nack.error_detail?.code).toBe(3);
    const msg = nack.error_detail?.message ?? '';
    expect(msg).toContain('e1: addresses: "bad-addr" is not an address');
    expect(msg).toContain(`does not match the response's type "${ASSIGNMENT_URL}"`);
    expect(msg).toContain('resources[2].resource: Resource has neither a name nor a resource');
    expect(msg.split('\n')).toHaveLength(3);
    // Neither the update nor the removal in the rejected response was applied.
    expect(client.resources(assignmentType).get('e1')?.version).toBe('v1');
    expect(rec.events).toEqual(['update e1', 'error']);
    expect(client.typeStats(ASSIGNMENT_URL)?.update_rejected).toBe(1);
    expect(client.typeStats(ASSIGNMENT_URL)?.version_text).toBe('1');
  });

  it('wildcard: legacy empty first request, explicit "*" once names join it, removal by name', async () => {
    const { server, client } = await setup();
    const all = new Recorder<Thing>();
    client.watch(thingType, '*', all);
    const s = await server.stream(0);
    const first = await s.next<DeltaDiscoveryRequest>();
    expect(first.type_url).toBe(THING_URL);
    expect(first.resource_names_subscribe).toEqual([]);
    s.send({
      system_version_info: '1',
      nonce: 'w1',
      type_url: THING_URL,
      resources: [
        { name: 'a', version: '1', resource: thingAny('a', 'x') },
        { name: 'b', version: '1', resource: thingAny('b', 'y') },
      ],
    });
    await s.next();
    client.watch(thingType, 'c', new Recorder<Thing>());
    const add = await s.next<DeltaDiscoveryRequest>();
    expect(add.resource_names_subscribe).toEqual(['*', 'c']);
    s.send({
      system_version_info: '2',
      nonce: 'w2',
      type_url: THING_URL,
      resources: [],
      removed_resources: ['a'],
    });
    await s.next();
    expect(all.events).toEqual(['update a', 'update b', 'absent a']);
  });

  it('after a reconnect sends initial_resource_versions of what it holds and every subscription', async () => {
    const { server: first, client } = await setup();
    const port = first.port;
    const rec = new Recorder<Assignment>();
    client.watch(assignmentType, 'e1', rec);
    client.watch(assignmentType, 'e2', rec);
    const s0 = await first.stream(0);
    await s0.next();
    s0.send({
      system_version_info: '1',
      nonce: 'n',
      type_url: ASSIGNMENT_URL,
      resources: [resource('e1', 'v-e1', ['a:1']), resource('e2', 'v-e2', ['a:2'])],
    });
    await s0.next();
    first.kill();
    await until(() => !client.connected, 3000, 'disconnect');

    const server = await restartServer(port);
    const s1 = await server.stream(0);
    const again = await s1.next<DeltaDiscoveryRequest>();
    expect(again.node?.id).toBe('sidecar-d');
    expect(again.resource_names_subscribe).toEqual(['e1', 'e2']);
    expect(again.initial_resource_versions).toEqual({ e1: 'v-e1', e2: 'v-e2' });
    expect(again.response_nonce).toBe('');
    // The server answers with only what changed; the rest stays.
    s1.send({
      system_version_info: '2',
      nonce: 'm',
      type_url: ASSIGNMENT_URL,
      resources: [resource('e2', 'v-e2b', ['a:3'])],
    });
    const ack = await s1.next<DeltaDiscoveryRequest>();
    expect(ack.response_nonce).toBe('m');
    expect(rec.values.get('e1')?.addresses).toEqual(['a:1']);
    expect(rec.values.get('e2')?.addresses).toEqual(['a:3']);
  });

  it('set_node_on_first_message_only sends the node only in the first request of the stream', async () => {
    const { server, client } = await setup({ setNodeOnFirstMessageOnly: true });
    client.watch(assignmentType, 'e1', new Recorder<Assignment>());
    const s = await server.stream(0);
    const first = await s.next<DeltaDiscoveryRequest>();
    expect(first.node?.id).toBe('sidecar-d');
    client.watch(thingType, '*', new Recorder<Thing>());
    const second = await s.next<DeltaDiscoveryRequest>();
    expect(second.type_url).toBe(THING_URL);
    expect(second.node ?? null).toBeNull();
  });
});
