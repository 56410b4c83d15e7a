/** remora's xDS client library: the public surface. */
export { Backoff, type BackoffOptions, DEFAULT_BACKOFF } from './backoff.js';
export { type JsonValue, type NodeIdentity, nodeMessage } from './node.js';
export type { ResponseOutcome } from './protocol.js';
export { type ResourceType, type ResourceWatcher, type ValidationResult, WILDCARD } from './resource-type.js';
export { runInSlices, SLICE_MS, type SlicedStep, sliceOver } from './slices.js';
export {
  type ResourceSnapshot,
  type SnapshotResource,
  snapshotsFromJson,
  snapshotsToJson,
} from './snapshot.js';
export type { ControlPlaneStats, XdsTypeStats } from './stats.js';
export type { CachedResource } from './type-state.js';
export {
  ADS_SERVICE_NAME,
  type AnyMessage,
  adsServiceDefinition,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
  decodeResourceWrapper,
  encodeResourceWrapper,
  protoRoot,
  RESOURCE_WRAPPER_TYPE_URL,
  type ResourceMessage,
  STATUS_INVALID_ARGUMENT,
} from './wire.js';
export {
  type ApiType,
  DEFAULT_INITIAL_FETCH_TIMEOUT_MS,
  XdsClient,
  type XdsClientHooks,
  type XdsClientOptions,
} from './xds-client.js';
