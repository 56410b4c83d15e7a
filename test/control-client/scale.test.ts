import { describe, expect, it } from 'vitest';
import type { DiscoveryRequest } from '../../control-client/index.js';
import { adsClientSetup } from './client-harness.js';
import { Recorder } from './recorder.js';
import { ASSIGNMENT_URL, type Assignment, assignmentAny, assignmentType } from './test-types.js';

const { setup } = adsClientSetup({ node: { id: 'big' } });

describe('XdsClient at scale', () => {
  it('takes a 10,000-resource response past the 4 MB default message limit in one batch', async () => {
    const { server, client } = await setup();
    const rec = new Recorder<Assignment>();
    const names = Array.from({ length: 10_000 }, (_, i) => `cluster-${i}`);
    for (const n of names) client.watch(assignmentType, n, rec);
    const s = await server.stream(0);
    const first = await s.next<DiscoveryRequest>();
    expect(first.resource_names).toHaveLength(10_000);
    // ~600 bytes each: 6 MB in one message.
    const addresses = Array.from({ length: 30 }, (_, i) => `10.0.${i}.1:8080`);
    const resources = names.map((n) => assignmentAny(n, addresses));
    s.send({ version_info: 'big-1', nonce: 'n', type_url: ASSIGNMENT_URL, resources });
    const ack = await s.next<DiscoveryRequest>(10_000);
    expect(ack.version_info).toBe('big-1');
    expect(ack.error_detail ?? null).toBeNull();
    expect(rec.values.size).toBe(10_000);
    expect(rec.batches).toBe(1);
    expect(client.isInitialFetchDone(ASSIGNMENT_URL)).toBe(true);
  });
});
