/**
 * Wire compatibility of remora's load reporting protos with Envoy's official ones (from the
 * @grpc/grpc-js-xds devDependency): LoadStatsRequest and LoadStatsResponse, with every supported
 * field set, are encoded with one schema and decoded with the other, both ways.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { protoRoot } from '../../control-client/index.js';
import { lrsServiceDefinition } from '../../control-client/lrs.js';

const DEPS = fileURLToPath(new URL('../../node_modules/@grpc/grpc-js-xds/deps/', import.meta.url));
const PROTOBUFJS_DESCRIPTOR = fileURLToPath(
  new URL('../../node_modules/protobufjs/google/protobuf/descriptor.proto', import.meta.url),
);
const OFFICIAL_DIRS = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => `${DEPS}${d}/`);
const ENTRY = 'envoy/service/load_stats/v3/lrs.proto';

function officialRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (target === 'google/protobuf/descriptor.proto') return PROTOBUFJS_DESCRIPTOR;
    if (target.startsWith('google/protobuf/')) return target;
    for (const dir of OFFICIAL_DIRS) if (existsSync(dir + target)) return dir + target;
    return target;
  };
  root.loadSync(ENTRY, { keepCase: true });
  root.resolveAll();
  return root;
}

function remoraRoot(): protobuf.Root {
  const dir = protoRoot();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : dir + target);
  root.loadSync(ENTRY, { keepCase: true });
  root.resolveAll();
  return root;
}

const OPTS: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String };
const PKG = 'envoy.service.load_stats.v3';

const metric = (name: string, n: number, total: number) => ({
  metric_name: name,
  num_requests_finished_with_metric: String(n),
  total_metric_value: total,
});

const corpus: Array<[string, Record<string, unknown>]> = [
  [
    'LoadStatsRequest',
    {
      node: {
        id: 'sidecar-1',
        cluster: 'web',
        locality: { region: 'eu', zone: 'eu-1a', sub_zone: 'rack-3' },
        user_agent_name: 'remora',
        user_agent_version: '0.1.0',
        client_features: ['envoy.lrs.supports_send_all_clusters'],
      },
      cluster_stats: [
        {
          cluster_name: 'backend',
          cluster_service_name: 'backend-eds',
          upstream_locality_stats: [
            {
              locality: { region: 'eu', zone: 'eu-1a', sub_zone: '' },
              total_successful_requests: '1200',
              total_requests_in_progress: '7',
              total_error_requests: '13',
              total_issued_requests: '1220',
              load_metric_stats: [metric('cpu', 1213, 431.5)],
              upstream_endpoint_stats: [
                {
                  address: { socket_address: { address: '10.0.0.7', port_value: 8080 } },
                  metadata: { fields: { pod: { stringValue: 'backend-7' } } },
                  total_successful_requests: '600',
                  total_requests_in_progress: '3',
                  total_error_requests: '5',
                  total_issued_requests: '610',
                  load_metric_stats: [metric('cpu', 605, 200.25)],
                },
              ],
              priority: 1,
            },
          ],
          total_dropped_requests: '42',
          dropped_requests: [{ category: 'throttle', dropped_count: '40' }],
          load_report_interval: { seconds: '10', nanos: 2_500_000 },
        },
        // A large uint64 survives both ways (carried as a string here: longs: String).
        {
          cluster_name: 'big',
          upstream_locality_stats: [{ total_issued_requests: '9007199254740993' }],
          load_report_interval: { seconds: '0', nanos: 100_000_000 },
        },
      ],
    },
  ],
  [
    'LoadStatsResponse',
    {
      clusters: ['backend', 'payments'],
      send_all_clusters: true,
      load_reporting_interval: { seconds: '5', nanos: 0 },
      report_endpoint_granularity: true,
    },
  ],
];

describe('load reporting protos are wire-compatible with Envoy', () => {
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

  it('a report with a field remora does not declare (total_active_connections) still decodes', () => {
    const theirs = official.lookupType(`${PKG}.LoadStatsRequest`);
    const mine = remora.lookupType(`${PKG}.LoadStatsRequest`);
    const bytes = theirs
      .encode(
        theirs.fromObject({
          cluster_stats: [
            {
              cluster_name: 'c',
              upstream_locality_stats: [{ total_issued_requests: 3, total_active_connections: 9 }],
            },
          ],
        }),
      )
      .finish();
    const got = mine.toObject(mine.decode(bytes), OPTS) as {
      cluster_stats: Array<{ upstream_locality_stats: Array<Record<string, unknown>> }>;
    };
    expect(got.cluster_stats[0].upstream_locality_stats[0]).toEqual({ total_issued_requests: '3' });
  });

  it('the service has the official method path, types and streaming', () => {
    const mine = remora.lookupService(`${PKG}.LoadReportingService`);
    const theirs = official.lookupService(`${PKG}.LoadReportingService`);
    expect(Object.keys(mine.methods)).toEqual(Object.keys(theirs.methods));
    const m = mine.methods.StreamLoadStats;
    const t = theirs.methods.StreamLoadStats;
    expect([m.requestType, m.responseType, m.requestStream, m.responseStream]).toEqual([
      t.requestType,
      t.responseType,
      true,
      true,
    ]);
    // And the grpc-js definition remora's client and sink use carries the same path.
    expect(lrsServiceDefinition().StreamLoadStats.path).toBe(
      '/envoy.service.load_stats.v3.LoadReportingService/StreamLoadStats',
    );
  });
});
