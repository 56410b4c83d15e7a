/** remora's reference xDS management server: the public surface. */
export { AdsServer, type AdsServerOptions } from './ads-server.js';
export {
  type ControlPlaneLog,
  type ControlPlaneOptions,
  MeshFileError,
  type RunningControlPlane,
  startControlPlane,
} from './control-plane.js';
export type * from './mesh.js';
export { loadMeshFile, type MeshResult, parseMesh } from './mesh-file.js';
export { type MeshStatus, MeshWatcher, type MeshWatcherOptions } from './mesh-watcher.js';
export type { NackRecord } from './session.js';
export { buildSnapshot, Snapshot, type SnapshotResource } from './snapshot.js';
export { StatusServer, type StatusSources } from './status-server.js';
export { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, PUSH_ORDER, ROUTE_TYPE } from './type-urls.js';
