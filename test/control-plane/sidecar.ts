/**
 * A sidecar-shaped xDS client for the tests: the control-client's XdsClient watching every listener
 * and cluster, and following references the way a proxy does (each cluster's endpoints, each
 * listener's route configuration). It records every event in arrival order.
 */
import { type ApiType, XdsClient } from '../../control-client/index.js';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../control-plane/type-urls.js';
import type { ProtoObject } from '../../proxy/config/proto-object.js';
import { protoType } from './helpers.js';

export interface SidecarEvent {
  readonly type: 'CDS' | 'EDS' | 'LDS' | 'RDS';
  readonly kind: 'update' | 'gone' | 'error';
  readonly name: string;
}

export class Sidecar {
  readonly client: XdsClient;
  readonly events: SidecarEvent[] = [];
  readonly values = new Map<string, ProtoObject>();
  private readonly cancels = new Map<string, () => void>();

  constructor(
    port: number,
    nodeId: string,
    apiType: ApiType = 'GRPC',
    rejectCluster: (c: ProtoObject) => string | null = () => null,
  ) {
    this.client = new XdsClient({
      target: `127.0.0.1:${port}`,
      node: { id: nodeId, cluster: 'test' },
      api_type: apiType,
      initialFetchTimeoutMs: 0,
      backoff: { initialMs: 50, maxMs: 200 },
    });
    const cds = protoType(CLUSTER_TYPE, rejectCluster);
    const eds = protoType(ENDPOINT_TYPE);
    const lds = protoType(LISTENER_TYPE);
    const rds = protoType(ROUTE_TYPE);
    this.client.watch(cds, '*', {
      onUpdate: (name, c) => {
        this.record('CDS', 'update', name, c);
        this.follow(`EDS/${name}`, () => this.client.watch(eds, name, this.watcher('EDS')));
      },
      onDoesNotExist: (name) => {
        this.record('CDS', 'gone', name);
        this.unfollow(`EDS/${name}`);
      },
      onError: (errors) => this.events.push({ type: 'CDS', kind: 'error', name: errors.join('; ') }),
    });
    this.client.watch(lds, '*', {
      onUpdate: (name, l) => {
        this.record('LDS', 'update', name, l);
        const rdsName = routeNameOf(l);
        if (rdsName !== null)
          this.follow(`RDS/${rdsName}`, () => this.client.watch(rds, rdsName, this.watcher('RDS')));
      },
      onDoesNotExist: (name) => this.record('LDS', 'gone', name),
    });
  }

  private watcher(type: 'EDS' | 'RDS') {
    return {
      onUpdate: (name: string, v: ProtoObject) => this.record(type, 'update', name, v),
      onDoesNotExist: (name: string) => this.record(type, 'gone', name),
    };
  }

  private record(
    type: SidecarEvent['type'],
    kind: SidecarEvent['kind'],
    name: string,
    value?: ProtoObject,
  ): void {
    this.events.push({ type, kind, name });
    if (value !== undefined) this.values.set(`${type}/${name}`, value);
    else this.values.delete(`${type}/${name}`);
  }

  private follow(key: string, watch: () => () => void): void {
    if (!this.cancels.has(key)) this.cancels.set(key, watch());
  }

  private unfollow(key: string): void {
    this.cancels.get(key)?.();
    this.cancels.delete(key);
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  get(key: string): ProtoObject | undefined {
    return this.values.get(key);
  }

  /** Events after index `from`, as `TYPE:kind:name` strings. */
  since(from: number): string[] {
    return this.events.slice(from).map((e) => `${e.type}:${e.kind}:${e.name}`);
  }

  close(): void {
    this.client.close();
  }
}

function routeNameOf(listener: ProtoObject): string | null {
  const chains = listener.filter_chains as ProtoObject[] | undefined;
  const hcm = chains?.[0]?.filters as ProtoObject[] | undefined;
  const typed = hcm?.[0]?.typed_config as ProtoObject | undefined;
  const rds = typed?.rds as ProtoObject | undefined;
  return typeof rds?.route_config_name === 'string' ? rds.route_config_name : null;
}
