/**
 * Shared pieces for the control-plane tests: a mesh file in a temp dir, the control plane started
 * in-process on loopback, ResourceTypes for the four xDS types decoding with remora's binary
 * decoder (so the XdsClient from control-client is a real client), and a bounded poll.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResourceType, ValidationResult } from '../../control-client/index.js';
import { type RunningControlPlane, startControlPlane } from '../../control-plane/control-plane.js';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../control-plane/type-urls.js';
import { decodeBinaryMessage } from '../../proxy/config/binary-decode.js';
import { Issues } from '../../proxy/config/issues.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';

export class MeshDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'remora-cp-'));
  readonly path = join(this.dir, 'mesh.yaml');

  write(text: string): void {
    writeFileSync(this.path, text);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startOn(mesh: MeshDir, stageTimeoutMs = 3000): Promise<RunningControlPlane> {
  return startControlPlane({
    meshPath: mesh.path,
    address: '127.0.0.1',
    xdsPort: 0,
    statusPort: 0,
    debounceMs: 20,
    stageTimeoutMs,
  });
}

const MESSAGES: Record<string, string> = {
  [LISTENER_TYPE]: 'envoy.config.listener.v3.Listener',
  [ROUTE_TYPE]: 'envoy.config.route.v3.RouteConfiguration',
  [CLUSTER_TYPE]: 'envoy.config.cluster.v3.Cluster',
  [ENDPOINT_TYPE]: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
};

/** A ResourceType over remora's schema; `reject` makes validation fail for chosen resources. */
export function protoType(
  typeUrl: string,
  reject: (r: ProtoObject) => string | null = () => null,
): ResourceType<ProtoObject, ProtoObject> {
  const message = MESSAGES[typeUrl];
  return {
    typeUrl,
    allResourcesRequiredInSotW: typeUrl === LISTENER_TYPE || typeUrl === CLUSTER_TYPE,
    decode(bytes) {
      const issues = new Issues();
      const out = decodeBinaryMessage(message, bytes, issues);
      if (out === null || !issues.ok) throw new Error(issues.format());
      return out;
    },
    name: (raw) => String(typeUrl === ENDPOINT_TYPE ? raw.cluster_name : raw.name),
    validate(raw): ValidationResult<ProtoObject> {
      const why = reject(raw);
      return why === null ? { value: raw } : { errors: [why] };
    },
    equal: (a, b) => JSON.stringify(a) === JSON.stringify(b),
  };
}

export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000; i++) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

export async function getJson(port: number, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

export interface TypeStatus {
  version_sent: string;
  version_acked: string;
  nonce_sent: string;
  last_nack: { message: string; version: string } | null;
  subscriptions: { wildcard: boolean; names: string[] };
}

/** The status of the first stream of `nodeId`, or undefined when it is not connected. */
export async function proxyStatus(
  port: number,
  nodeId: string,
): Promise<{ protocol: string; types: Record<string, TypeStatus> } | undefined> {
  const status = (await getJson(port, '/status')) as { proxies: Record<string, unknown[]> };
  return status.proxies[nodeId]?.[0] as { protocol: string; types: Record<string, TypeStatus> } | undefined;
}

export const BASE_MESH = `
services:
  - name: web
    endpoints:
      - {address: 127.0.0.1, port: 8080, locality: {region: r1, zone: a}}
  - name: db
    endpoints:
      - {address: 127.0.0.2, port: 5432}
routes:
  - name: main
    rules:
      - {prefix: /, to: web}
listeners:
  - {name: ingress, port: 10000, routes: main}
`;
