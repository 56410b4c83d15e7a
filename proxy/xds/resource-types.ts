/**
 * The xDS client's ResourceType for each resource remora subscribes to (control-client is generic;
 * this is where it meets the proxy). Each one decodes the Any's bytes with the shared binary
 * decoder and validates with the same translators the bootstrap uses (one config path): a
 * non-empty error list becomes the NACK's error_detail, one line per problem with its field path.
 *
 * Values keep the decoded proto beside the model: `equal` compares protos (models hold compiled
 * tables and factories), and /config_dump prints them.
 */
import type { ResourceType, ValidationResult } from '../../control-client/index.js';
import { decodeBinaryMessage } from '../config/binary-decode.js';
import { isObject } from '../config/fields.js';
import { Issues, joinPath } from '../config/issues.js';
import type { ProtoObject, ProtoValue } from '../config/proto-object.js';
import type { ClusterModel, LoadAssignmentModel } from '../model/cluster.js';
import type { ListenerModel } from '../model/listener.js';
import { compileRouteConfig } from '../router/compile.js';
import type { RouteTable } from '../router/types.js';
import { type ClusterTranslateDeps, translateCluster } from './cluster.js';
import { translateLoadAssignment } from './cluster-load-assignment.js';
import { type ListenerTranslateDeps, translateListener } from './listener.js';
import { translateRouteConfiguration } from './route-configuration.js';

const PREFIX = 'type.googleapis.com/';
export const LISTENER_TYPE_URL = `${PREFIX}envoy.config.listener.v3.Listener`;
export const ROUTE_TYPE_URL = `${PREFIX}envoy.config.route.v3.RouteConfiguration`;
export const CLUSTER_TYPE_URL = `${PREFIX}envoy.config.cluster.v3.Cluster`;
export const ENDPOINT_TYPE_URL = `${PREFIX}envoy.config.endpoint.v3.ClusterLoadAssignment`;

/** What decode() hands to name() and validate(): the decoded message, or the decode problems. */
export interface DecodedResource {
  readonly proto: ProtoObject | null;
  readonly issues: Issues;
}

export interface ListenerResource {
  readonly proto: ProtoObject;
  readonly model: ListenerModel;
  /** route_config_name of every connection manager that uses RDS, in filter-chain order. */
  readonly rdsNames: readonly string[];
}

export interface RouteResource {
  readonly proto: ProtoObject;
  readonly table: RouteTable;
}

export interface ClusterResource {
  readonly proto: ProtoObject;
  readonly model: ClusterModel;
}

export interface EndpointResource {
  readonly proto: ProtoObject;
  readonly model: LoadAssignmentModel;
}

/**
 * Listener translation needs the HCM's dependencies; `rdsNamesOf` lists the RDS names a decoded
 * listener references (what the HCM's `rds` callback saw while translating it).
 */
export interface ListenerTypeDeps {
  readonly translate: ListenerTranslateDeps;
  /** Called before translation; returns the names the `rds` callback collected during it. */
  collectRdsNames(run: () => ListenerModel | null): { model: ListenerModel | null; names: string[] };
}

export interface ClusterTypeDeps {
  readonly translate: ClusterTranslateDeps;
  /** Names of bootstrap static clusters: CDS may not replace them (Envoy rejects it too). */
  readonly staticClusterNames: ReadonlySet<string>;
}

function decoder(messageType: string): (bytes: Buffer) => DecodedResource {
  return (bytes) => {
    const issues = new Issues();
    const proto = decodeBinaryMessage(messageType, bytes, issues);
    if (proto === null && issues.errorCount === 0) issues.error('', 'does not decode');
    // Any is unpacked with its '@type' key; the message itself has none.
    if (proto !== null && '@type' in proto) delete (proto as Record<string, ProtoValue>)['@type'];
    return { proto, issues };
  };
}

function nameField(field: string): (raw: DecodedResource) => string {
  return (raw) => {
    const v = raw.proto?.[field];
    return typeof v === 'string' ? v : '';
  };
}

/** Error lines for the NACK: `field.path: message` (the client prefixes the resource name). */
export function issueLines(issues: Issues): string[] {
  return issues.list
    .filter((i) => i.severity === 'error')
    .map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`));
}

function failed<T>(issues: Issues): ValidationResult<T> | null {
  return issues.errorCount > 0 ? { errors: issueLines(issues) } : null;
}

export function listenerType(deps: ListenerTypeDeps): ResourceType<ListenerResource, DecodedResource> {
  return {
    typeUrl: LISTENER_TYPE_URL,
    allResourcesRequiredInSotW: true,
    decode: decoder('envoy.config.listener.v3.Listener'),
    name: nameField('name'),
    validate(raw) {
      const bad = failed<ListenerResource>(raw.issues);
      if (bad !== null || raw.proto === null) return bad ?? { errors: ['does not decode'] };
      const proto = raw.proto;
      const issues = new Issues();
      const { model, names } = deps.collectRdsNames(() =>
        translateListener(proto, '', issues, deps.translate),
      );
      if (model === null || issues.errorCount > 0) return { errors: issueLines(issues) };
      return { value: { proto, model, rdsNames: names } };
    },
    equal: (a, b) => protoEqual(a.proto, b.proto),
  };
}

export function routeType(): ResourceType<RouteResource, DecodedResource> {
  return {
    typeUrl: ROUTE_TYPE_URL,
    allResourcesRequiredInSotW: false,
    decode: decoder('envoy.config.route.v3.RouteConfiguration'),
    name: nameField('name'),
    validate(raw) {
      const bad = failed<RouteResource>(raw.issues);
      if (bad !== null || raw.proto === null) return bad ?? { errors: ['does not decode'] };
      const issues = new Issues();
      // Envoy does not check cluster names in RDS route configurations by default
      // (validate_clusters defaults to false there): a route may name a cluster CDS sends later.
      const model = translateRouteConfiguration(raw.proto, '', issues, { validateClustersDefault: false });
      if (model === null || issues.errorCount > 0) return { errors: issueLines(issues) };
      return { value: { proto: raw.proto, table: compileRouteConfig(model) } };
    },
    equal: (a, b) => protoEqual(a.proto, b.proto),
  };
}

const DYNAMIC_CLUSTER_TYPES = new Set(['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS']);

export function clusterType(deps: ClusterTypeDeps): ResourceType<ClusterResource, DecodedResource> {
  return {
    typeUrl: CLUSTER_TYPE_URL,
    allResourcesRequiredInSotW: true,
    // Validation reads only the bytes and settings fixed at startup (policies, static names).
    reuseUnchanged: true,
    decode: decoder('envoy.config.cluster.v3.Cluster'),
    name: nameField('name'),
    validate(raw) {
      const bad = failed<ClusterResource>(raw.issues);
      if (bad !== null || raw.proto === null) return bad ?? { errors: ['does not decode'] };
      const issues = new Issues();
      const model = translateCluster(raw.proto, '', issues, deps.translate);
      if (model !== null && deps.staticClusterNames.has(model.name)) {
        issues.error('name', `a static cluster named ${model.name} exists; CDS cannot replace it`);
      }
      if (model !== null && !DYNAMIC_CLUSTER_TYPES.has(model.type))
        issues.error('type', `${model.type} is not supported`);
      if (model?.type === 'EDS') checkEdsConfig(raw.proto, issues);
      if (model === null || issues.errorCount > 0) return { errors: issueLines(issues) };
      return { value: { proto: raw.proto, model } };
    },
    equal: (a, b) => protoEqual(a.proto, b.proto),
  };
}

/** remora fetches endpoints over the ADS stream only: eds_config must be `ads: {}`. */
function checkEdsConfig(proto: ProtoObject, issues: Issues): void {
  const ecc = proto.eds_cluster_config;
  const path = joinPath('eds_cluster_config', 'eds_config');
  const src = isObject(ecc) ? ecc.eds_config : undefined;
  if (!isObject(src)) {
    issues.error(path, 'is required for an EDS cluster (ads: {})');
    return;
  }
  checkAdsConfigSource(src, path, issues);
}

/** A ConfigSource remora can follow: `ads: {}` (path, api_config_source and self are refused). */
export function checkAdsConfigSource(src: ProtoObject, path: string, issues: Issues): void {
  for (const k of ['path', 'path_config_source', 'api_config_source', 'self']) {
    if (src[k] !== undefined)
      issues.error(joinPath(path, k), 'remora follows config over the ADS stream only: use ads: {}');
  }
  if (src.ads === undefined) issues.error(joinPath(path, 'ads'), 'is required (remora supports ADS only)');
  const v = src.resource_api_version;
  if (v !== undefined && v !== 'V3')
    issues.error(joinPath(path, 'resource_api_version'), 'only V3 is supported');
}

export function endpointType(): ResourceType<EndpointResource, DecodedResource> {
  return {
    typeUrl: ENDPOINT_TYPE_URL,
    allResourcesRequiredInSotW: false,
    reuseUnchanged: true,
    // An assignment updates clusters already installed or warming; one being built by a CDS still
    // in progress reads the latest assignment when it is committed (cluster-sync.ts). So EDS need
    // not wait behind a big CDS.
    independentOfOtherTypes: true,
    decode: decoder('envoy.config.endpoint.v3.ClusterLoadAssignment'),
    name: nameField('cluster_name'),
    validate(raw) {
      const bad = failed<EndpointResource>(raw.issues);
      if (bad !== null || raw.proto === null) return bad ?? { errors: ['does not decode'] };
      const issues = new Issues();
      const model = translateLoadAssignment(raw.proto, '', issues, 'ip');
      if (issues.errorCount > 0) return { errors: issueLines(issues) };
      return { value: { proto: raw.proto, model } };
    },
    equal: (a, b) => protoEqual(a.proto, b.proto),
  };
}

/** Structural equality of decoded protos (bytes compared by content). */
export function protoEqual(a: ProtoValue | undefined, b: ProtoValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b))
    return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!protoEqual(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.hasOwn(b, k) || !protoEqual(a[k], b[k])) return false;
  return true;
}
