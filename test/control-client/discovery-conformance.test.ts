/**
 * Wire compatibility of remora's discovery protos with Envoy's official ones (shipped in the
 * @grpc/grpc-js-xds devDependency): every message the client exchanges is encoded with one schema
 * and decoded with the other, both ways, and every supported field must survive.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { protoRoot } from '../../control-client/index.js';

const DEPS = fileURLToPath(new URL('../../node_modules/@grpc/grpc-js-xds/deps/', import.meta.url));
const PROTOBUFJS_DESCRIPTOR = fileURLToPath(
  new URL('../../node_modules/protobufjs/google/protobuf/descriptor.proto', import.meta.url),
);
const OFFICIAL_DIRS = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => `${DEPS}${d}/`);

function officialRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    // Validation annotations import descriptor.proto, which protobufjs ships as a file rather than
    // among its bundled well-known types.
    if (target === 'google/protobuf/descriptor.proto') return PROTOBUFJS_DESCRIPTOR;
    if (target.startsWith('google/protobuf/')) return target;
    for (const dir of OFFICIAL_DIRS) if (existsSync(dir + target)) return dir + target;
    return target;
  };
  root.loadSync('envoy/service/discovery/v3/ads.proto', { keepCase: true });
  root.resolveAll();
  return root;
}

function remoraRoot(): protobuf.Root {
  const dir = protoRoot();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : dir + target);
  root.loadSync('envoy/service/discovery/v3/ads.proto', { keepCase: true });
  root.resolveAll();
  return root;
}

const OPTS: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String };
const PKG = 'envoy.service.discovery.v3';
const any = (typeUrl: string, bytes: number[]) => ({ type_url: typeUrl, value: Buffer.from(bytes) });

const corpus: Array<[string, Record<string, unknown>]> = [
  [
    'DiscoveryRequest',
    {
      version_info: 'v7',
      node: {
        id: 'sidecar-1',
        cluster: 'web',
        metadata: { fields: { team: { stringValue: 'a' }, n: { numberValue: 2 } } },
        locality: { region: 'r', zone: 'z', sub_zone: 's' },
        user_agent_name: 'remora',
        user_agent_version: '0.1.0',
        client_features: ['envoy.lb.does_not_support_overprovisioning'],
      },
      resource_names: ['*', 'a', 'b'],
      type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
      response_nonce: 'n-3',
      error_detail: {
        code: 3,
        message: 'a: bad\nb: worse',
        details: [any('type.googleapis.com/x.Y', [8, 1])],
      },
    },
  ],
  [
    'DiscoveryResponse',
    {
      version_info: 'v8',
      resources: [any('type.googleapis.com/envoy.config.cluster.v3.Cluster', [10, 1, 97])],
      canary: true,
      type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
      nonce: 'n-4',
      control_plane: { identifier: 'cp-1' },
    },
  ],
  [
    'DeltaDiscoveryRequest',
    {
      node: { id: 'sidecar-2', cluster: 'c' },
      type_url: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
      resource_names_subscribe: ['e1', 'e2'],
      resource_names_unsubscribe: ['e0'],
      initial_resource_versions: { e1: '1', e2: '2' },
      response_nonce: 'd-1',
      error_detail: { code: 3, message: 'nope' },
    },
  ],
  [
    'DeltaDiscoveryResponse',
    {
      system_version_info: 'sys',
      resources: [
        {
          version: '5',
          resource: any(
            'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
            [10, 2, 101, 49],
          ),
          name: 'e1',
          aliases: ['alias-1'],
          ttl: { seconds: '30', nanos: 5 },
          cache_control: { do_not_cache: true },
        },
      ],
      type_url: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
      nonce: 'd-2',
      removed_resources: ['e9'],
      control_plane: { identifier: 'cp-2' },
    },
  ],
];

describe('discovery protos are wire-compatible with Envoy', () => {
  const official = officialRoot();
  const remora = remoraRoot();
  for (const [name, obj] of corpus) {
    it(`${name}: remora → official and official → remora`, () => {
      const mine = remora.lookupType(`${PKG}.${name}`);
      const theirs = official.lookupType(`${PKG}.${name}`);
      const expected = mine.toObject(mine.fromObject(obj), OPTS);
      const viaOfficial = theirs.toObject(theirs.decode(mine.encode(mine.fromObject(obj)).finish()), OPTS);
      expect(viaOfficial).toEqual(expected);
      const back = mine.toObject(mine.decode(theirs.encode(theirs.fromObject(obj)).finish()), OPTS);
      expect(back).toEqual(expected);
      // Nothing was dropped on the way in: the corpus uses only supported fields.
      expect(Object.keys(expected).sort()).toEqual(Object.keys(obj).sort());
    });
  }

  it('the service has the official method paths', () => {
    const mine = remora.lookupService(`${PKG}.AggregatedDiscoveryService`);
    const theirs = official.lookupService(`${PKG}.AggregatedDiscoveryService`);
    expect(Object.keys(mine.methods).sort()).toEqual(Object.keys(theirs.methods).sort());
    for (const m of Object.keys(theirs.methods)) {
      expect(mine.methods[m].requestType).toBe(theirs.methods[m].requestType);
      expect(mine.methods[m].responseType).toBe(theirs.methods[m].responseType);
      expect(mine.methods[m].requestStream).toBe(true);
      expect(mine.methods[m].responseStream).toBe(true);
    }
  });
});
