/**
 * A small ADS management server for the dynamic-config tests: a real gRPC server (SotW and delta)
 * serving a mutable set of resources. The test sets resources and calls push(); every stream gets
 * what it subscribed to, with per-type versions (SotW) or per-resource versions (delta), and every
 * NACK is recorded with its message.
 */
import { createHash } from 'node:crypto';
import {
  Server as GrpcServer,
  ServerCredentials,
  type ServerDuplexStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  adsServiceDefinition,
  type DeltaDiscoveryRequest,
  type DiscoveryRequest,
} from '../../control-client/index.js';
import { encodeMessage } from '../../proxy/config/binary-encode.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';

export const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const RDS = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const EDS = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
const MESSAGE: Record<string, string> = {
  [LDS]: 'envoy.config.listener.v3.Listener',
  [RDS]: 'envoy.config.route.v3.RouteConfiguration',
  [CDS]: 'envoy.config.cluster.v3.Cluster',
  [EDS]: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
};
const WILDCARD_TYPES = new Set([LDS, CDS]);

interface Entry {
  readonly bytes: Buffer;
  readonly version: string;
}

export interface Nack {
  readonly typeUrl: string;
  readonly message: string;
}

type Duplex = ServerDuplexStream<object, object>;

/** One stream's view of one type. */
interface StreamType {
  names: Set<string>;
  wildcard: boolean;
  /** delta: name → version the client holds. */
  held: Map<string, string>;
  /** SotW: the version last sent. */
  sent: string;
}

class AdsStream {
  readonly types = new Map<string, StreamType>();
  private nonce = 0;
  constructor(
    readonly delta: boolean,
    readonly call: Duplex,
  ) {}
  nextNonce(): string {
    this.nonce++;
    return String(this.nonce);
  }
}

export class TestControlPlane {
  readonly nacks: Nack[] = [];
  readonly acks: Array<{ typeUrl: string; version: string }> = [];
  private readonly resources = new Map<string, Map<string, Entry>>();
  private readonly typeVersions = new Map<string, number>();
  private readonly streams = new Set<AdsStream>();
  private server: GrpcServer | null = null;
  port = 0;

  async start(port = 0): Promise<void> {
    const server = new GrpcServer();
    const impl: UntypedServiceImplementation = {
      StreamAggregatedResources: (call: Duplex) => this.serve(new AdsStream(false, call)),
      DeltaAggregatedResources: (call: Duplex) => this.serve(new AdsStream(true, call)),
    };
    server.addService(adsServiceDefinition(), impl);
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    this.server = server;
  }

  /** Kills the server and its streams at once, as a crashed control plane. */
  kill(): void {
    this.server?.forceShutdown();
    this.server = null;
    this.streams.clear();
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** Sets a resource (a ProtoObject to encode, or raw bytes); call push() to send. */
  set(typeUrl: string, name: string, resource: ProtoObject | Buffer): void {
    const bytes = Buffer.isBuffer(resource) ? resource : encodeMessage(MESSAGE[typeUrl], resource);
    let m = this.resources.get(typeUrl);
    if (m === undefined) {
      m = new Map();
      this.resources.set(typeUrl, m);
    }
    const old = m.get(name);
    if (old?.bytes.equals(bytes)) return;
    // Content versions, as a real control plane's: a restarted server agrees on unchanged ones.
    m.set(name, { bytes, version: createHash('sha256').update(bytes).digest('hex').slice(0, 12) });
    this.bump(typeUrl);
  }

  remove(typeUrl: string, name: string): void {
    if (this.resources.get(typeUrl)?.delete(name)) this.bump(typeUrl);
  }

  /** Sends every changed type to every stream. */
  push(...typeUrls: string[]): void {
    const order = typeUrls.length > 0 ? typeUrls : [CDS, EDS, LDS, RDS];
    for (const s of this.streams) for (const t of order) this.respond(s, t, false);
  }

  private bump(typeUrl: string): void {
    this.typeVersions.set(typeUrl, (this.typeVersions.get(typeUrl) ?? 0) + 1);
  }

  private version(typeUrl: string): string {
    return `v${this.typeVersions.get(typeUrl) ?? 0}`;
  }

  private serve(s: AdsStream): void {
    this.streams.add(s);
    s.call.on('data', (msg: object) => this.onRequest(s, msg));
    const end = () => this.streams.delete(s);
    s.call.on('end', () => {
      end();
      s.call.end();
    });
    s.call.on('error', end);
    s.call.on('cancelled', end);
  }

  private onRequest(s: AdsStream, msg: object): void {
    if (s.delta) this.onDelta(s, msg as DeltaDiscoveryRequest);
    else this.onSotw(s, msg as DiscoveryRequest);
  }

  private typeOf(s: AdsStream, typeUrl: string): StreamType {
    let t = s.types.get(typeUrl);
    if (t === undefined) {
      t = { names: new Set(), wildcard: false, held: new Map(), sent: '' };
      s.types.set(typeUrl, t);
    }
    return t;
  }

  private onSotw(s: AdsStream, req: DiscoveryRequest): void {
    if (req.error_detail) this.nacks.push({ typeUrl: req.type_url, message: req.error_detail.message });
    else if (req.response_nonce !== '') this.acks.push({ typeUrl: req.type_url, version: req.version_info });
    const t = this.typeOf(s, req.type_url);
    const names = new Set(req.resource_names.filter((n) => n !== '*'));
    const wildcard =
      WILDCARD_TYPES.has(req.type_url) &&
      (req.resource_names.length === 0 || req.resource_names.includes('*'));
    const changed =
      wildcard !== t.wildcard || names.size !== t.names.size || [...names].some((n) => !t.names.has(n));
    t.names = names;
    t.wildcard = wildcard;
    // Answer a new stream's first request, and any change of subscription.
    if (req.response_nonce === '' || changed) this.respond(s, req.type_url, true);
  }

  private onDelta(s: AdsStream, req: DeltaDiscoveryRequest): void {
    if (req.error_detail) this.nacks.push({ typeUrl: req.type_url, message: req.error_detail.message });
    else if (req.response_nonce !== '') this.acks.push({ typeUrl: req.type_url, version: '' });
    const t = this.typeOf(s, req.type_url);
    let changed = false;
    for (const [n, v] of Object.entries(req.initial_resource_versions ?? {})) t.held.set(n, v);
    for (const n of req.resource_names_subscribe) {
      changed = true;
      if (n === '*') t.wildcard = true;
      else t.names.add(n);
    }
    for (const n of req.resource_names_unsubscribe) {
      changed = true;
      if (n === '*') t.wildcard = false;
      else {
        t.names.delete(n);
        t.held.delete(n);
      }
    }
    if (
      req.response_nonce === '' &&
      WILDCARD_TYPES.has(req.type_url) &&
      req.resource_names_subscribe.length === 0
    )
      t.wildcard = true;
    if (req.response_nonce === '' || changed) this.respond(s, req.type_url, false);
  }

  private respond(s: AdsStream, typeUrl: string, force: boolean): void {
    const t = s.types.get(typeUrl);
    if (t === undefined) return;
    const all = this.resources.get(typeUrl) ?? new Map<string, Entry>();
    const wanted = (n: string) => t.wildcard || t.names.has(n);
    if (!s.delta) {
      const v = this.version(typeUrl);
      if (!force && t.sent === v) return;
      t.sent = v;
      const resources = [...all]
        .filter(([n]) => wanted(n))
        .map(([, e]) => ({ type_url: typeUrl, value: e.bytes }));
      s.call.write({ version_info: v, resources, type_url: typeUrl, nonce: s.nextNonce() });
      return;
    }
    const resources = [];
    for (const [n, e] of all) {
      if (!wanted(n) || t.held.get(n) === e.version) continue;
      t.held.set(n, e.version);
      resources.push({
        name: n,
        version: e.version,
        resource: { type_url: typeUrl, value: e.bytes },
        aliases: [],
      });
    }
    const removed: string[] = [];
    for (const n of [...t.held.keys()]) {
      if (all.has(n)) continue;
      t.held.delete(n);
      removed.push(n);
    }
    if (resources.length === 0 && removed.length === 0 && !force) return;
    s.call.write({
      system_version_info: this.version(typeUrl),
      resources,
      type_url: typeUrl,
      nonce: s.nextNonce(),
      removed_resources: removed,
    });
  }
}

/** Polls `cond` until true; fails after `timeoutMs` (bounded in time and iterations). */
export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 20_000; i++) {
    if (cond()) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${what} not met within ${timeoutMs} ms`);
}

// ---- resources ------------------------------------------------------------------------------

const HCM_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

export function ldsListener(
  name: string,
  port: number,
  routeName: string,
  over: ProtoObject = {},
): ProtoObject {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM_TYPE,
              stat_prefix: name,
              rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: routeName },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
              ...over,
            },
          },
        ],
      },
    ],
  };
}

export function routeConfig(name: string, cluster: string, extraRoutes: ProtoObject[] = []): ProtoObject {
  return {
    name,
    virtual_hosts: [
      {
        name: 'all',
        domains: ['*'],
        routes: [...extraRoutes, { match: { prefix: '/' }, route: { cluster } }],
      },
    ],
  };
}

export function edsCluster(name: string, over: ProtoObject = {}): ProtoObject {
  return {
    name,
    type: 'EDS',
    connect_timeout: 1000,
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name },
    ...over,
  };
}

export function staticCluster(name: string, port: number): ProtoObject {
  return {
    name,
    type: 'STATIC',
    connect_timeout: 1000,
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } },
          ],
        },
      ],
    },
  };
}

export function assignment(name: string, ports: readonly number[]): ProtoObject {
  return {
    cluster_name: name,
    endpoints: [
      {
        lb_endpoints: ports.map((p) => ({
          endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } },
        })),
      },
    ],
  };
}
