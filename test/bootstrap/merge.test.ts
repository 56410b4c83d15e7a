import { describe, expect, it } from 'vitest';
import { mergeProto } from '../../proxy/bootstrap/merge.js';
import { Issues } from '../../proxy/config/issues.js';
import { decodeJsonMessage } from '../../proxy/config/json-decode.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { lookupType } from '../../proxy/config/schema.js';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const HPO = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

function cluster(json: unknown): ProtoObject {
  const issues = new Issues();
  const out = decodeJsonMessage(CLUSTER, json, issues);
  expect(issues.format()).toBe('');
  return out!;
}

describe('mergeProto', () => {
  const type = lookupType(CLUSTER);

  it('replaces a map entry whole and keeps the other entries', () => {
    const base = cluster({
      typed_extension_protocol_options: {
        [KEY]: { '@type': HPO, explicit_http_config: { http2_protocol_options: {} } },
        other: { '@type': HPO, common_http_protocol_options: { idle_timeout: '1s' } },
      },
    });
    const over = cluster({
      typed_extension_protocol_options: { [KEY]: { '@type': HPO, use_downstream_protocol_config: {} } },
    });
    expect(mergeProto(type, base, over).typed_extension_protocol_options).toEqual({
      [KEY]: { '@type': HPO, use_downstream_protocol_config: {} },
      other: { '@type': HPO, common_http_protocol_options: { idle_timeout: 1000 } },
    });
  });

  it('lets a zero duration or a false wrapper in the override win', () => {
    const base = cluster({
      connect_timeout: '5s',
      per_connection_buffer_limit_bytes: 10,
      ring_hash_lb_config: { minimum_ring_size: 5 },
    });
    const over = cluster({ connect_timeout: '0s', per_connection_buffer_limit_bytes: 0 });
    expect(mergeProto(type, base, over)).toEqual({
      connect_timeout: 0,
      per_connection_buffer_limit_bytes: 0,
      ring_hash_lb_config: { minimum_ring_size: 5 },
    });
  });

  it('clears the other member of a oneof and merges nested messages', () => {
    const base = cluster({
      ring_hash_lb_config: { minimum_ring_size: 5 },
      circuit_breakers: { thresholds: [{ max_connections: 1 }] },
    });
    const over = cluster({
      maglev_lb_config: { table_size: 7 },
      circuit_breakers: { per_host_thresholds: [{ max_connections: 2 }] },
    });
    expect(mergeProto(type, base, over)).toEqual({
      maglev_lb_config: { table_size: 7 },
      circuit_breakers: {
        thresholds: [{ max_connections: 1 }],
        per_host_thresholds: [{ max_connections: 2 }],
      },
    });
    // The inputs are not modified.
    expect(base.ring_hash_lb_config).toEqual({ minimum_ring_size: 5 });
  });
});
