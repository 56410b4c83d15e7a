/**
 * The xDS discovery messages as remora's own protos define them (proto/envoy/service/discovery/v3),
 * loaded once per process with protobufjs, and the plain-object shapes the client reads and
 * writes. Messages are decoded with keepCase (field names exactly as in the .proto), defaults and
 * arrays on, so a field the server left out reads as '' / [] rather than undefined.
 *
 * google.protobuf.Any stays `{ type_url, value: Buffer }`: decoding the payload is the business of
 * the ResourceType that owns the type URL, not of the transport.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';

type Root = protobuf.Root;
type Type = protobuf.Type;
type IConversionOptions = protobuf.IConversionOptions;
const { Root } = protobuf;

export interface AnyMessage {
  type_url: string;
  value: Buffer;
}

export interface StatusMessage {
  code: number;
  message: string;
  details?: AnyMessage[];
}

/** envoy.config.core.v3.Node, the fields the client sends (proto3 JSON-free wire form). */
export interface NodeMessage {
  id?: string;
  cluster?: string;
  metadata?: StructMessage;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  user_agent_name?: string;
  user_agent_version?: string;
  client_features?: string[];
}

/** google.protobuf.Struct in its message form (what protobufjs serialises). */
export interface StructMessage {
  fields: Record<string, ValueMessage>;
}

/**
 * google.protobuf.Value. Its members are camelCase here although every other message is snake_case:
 * protobufjs serves the well-known types from its bundled definitions, whose field names are
 * camelCase whatever keepCase says.
 */
export interface ValueMessage {
  nullValue?: 'NULL_VALUE';
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: StructMessage;
  listValue?: { values: ValueMessage[] };
}

export interface DiscoveryRequest {
  version_info: string;
  node?: NodeMessage | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail?: StatusMessage | null;
}

export interface DiscoveryResponse {
  version_info: string;
  resources: AnyMessage[];
  canary: boolean;
  type_url: string;
  nonce: string;
  control_plane?: { identifier: string } | null;
}

export interface ResourceMessage {
  version: string;
  resource: AnyMessage | null;
  name: string;
  aliases: string[];
  ttl?: { seconds: number | string; nanos: number } | null;
}

export interface DeltaDiscoveryRequest {
  node?: NodeMessage | null;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail?: StatusMessage | null;
}

export interface DeltaDiscoveryResponse {
  system_version_info: string;
  resources: ResourceMessage[];
  type_url: string;
  nonce: string;
  removed_resources: string[];
  control_plane?: { identifier: string } | null;
}

export const RESOURCE_WRAPPER_TYPE_URL = 'type.googleapis.com/envoy.service.discovery.v3.Resource';
export const ADS_SERVICE_NAME = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

/** google.rpc.Code INVALID_ARGUMENT: the code Envoy puts in a NACK's error_detail. */
export const STATUS_INVALID_ARGUMENT = 3;

/**
 * The proto/ directory. From the TypeScript source it is ../proto; from the compiled dist/ tree it
 * is ../../proto (dist/control-client/wire.js). The first candidate holding ads.proto wins.
 */
export function protoRoot(): string {
  const candidates = ['../proto/', '../../proto/'];
  for (const c of candidates) {
    const dir = fileURLToPath(new URL(c, import.meta.url));
    if (existsSync(`${dir}envoy/service/discovery/v3/ads.proto`)) return dir;
  }
  throw new Error(
    `remora protos not found (looked in ${candidates.join(', ')} relative to ${import.meta.url})`,
  );
}

/** How decoded messages are turned into plain objects (see the file comment). */
export const TO_OBJECT_OPTIONS: IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
};

interface AdsProtos {
  readonly root: Root;
  readonly service: ServiceDefinition;
  readonly resource: Type;
}

let loaded: AdsProtos | undefined;

/** Loads remora's discovery protos once per process; every client and test server shares them. */
export function adsProtos(): AdsProtos {
  if (loaded !== undefined) return loaded;
  const dir = protoRoot();
  const root = new Root();
  // google/protobuf/* resolve to protobufjs's bundled well-known types; everything else to proto/.
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : dir + target);
  root.loadSync('envoy/service/discovery/v3/ads.proto', { keepCase: true });
  root.resolveAll();
  const pkg = 'envoy.service.discovery.v3';
  const method = (name: string, req: Type, res: Type): MethodDefinition<object, object> => ({
    path: `/${ADS_SERVICE_NAME}/${name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: serializerFor(req),
    requestDeserialize: deserializerFor(req),
    responseSerialize: serializerFor(res),
    responseDeserialize: deserializerFor(res),
    originalName: name,
  });
  const service: ServiceDefinition = {
    StreamAggregatedResources: method(
      'StreamAggregatedResources',
      root.lookupType(`${pkg}.DiscoveryRequest`),
      root.lookupType(`${pkg}.DiscoveryResponse`),
    ),
    DeltaAggregatedResources: method(
      'DeltaAggregatedResources',
      root.lookupType(`${pkg}.DeltaDiscoveryRequest`),
      root.lookupType(`${pkg}.DeltaDiscoveryResponse`),
    ),
  };
  loaded = { root, service, resource: root.lookupType(`${pkg}.Resource`) };
  return loaded;
}

function serializerFor(type: Type): (msg: object) => Buffer {
  return (msg) => Buffer.from(type.encode(type.fromObject(msg)).finish());
}

function deserializerFor(type: Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), TO_OBJECT_OPTIONS);
}

/** The AggregatedDiscoveryService definition: what a grpc-js client or server is built from. */
export function adsServiceDefinition(): ServiceDefinition {
  return adsProtos().service;
}

/** Decodes the bytes of an envoy.service.discovery.v3.Resource (a wrapped resource in a SotW response). */
export function decodeResourceWrapper(bytes: Buffer): ResourceMessage {
  const t = adsProtos().resource;
  return t.toObject(t.decode(bytes), TO_OBJECT_OPTIONS) as ResourceMessage;
}

/** Encodes an envoy.service.discovery.v3.Resource (for servers and tests that wrap resources). */
export function encodeResourceWrapper(msg: Partial<ResourceMessage>): Buffer {
  const t = adsProtos().resource;
  return Buffer.from(t.encode(t.fromObject(msg)).finish());
}
