/**
 * LDS and RDS applied to the listener manager, with Envoy's listener warming: a new or changed
 * listener starts accepting only once every RouteConfiguration its connection managers name has
 * arrived (or does not exist / timed out: then its table answers 404 NR until one arrives, as
 * Envoy's does). RDS subscriptions follow the listeners: one per route_config_name, shared by every
 * connection manager naming it, released when none does.
 *
 * Route updates swap the compiled table inside the shared RdsRouteTable (one assignment; requests
 * in flight keep the route they matched). Listener updates build a new Listener and drain the old
 * (proxy/network/listener-manager.ts).
 */
import type { ResourceType, XdsClient } from '../../../control-client/index.js';
import type { ListenerManager } from '../../network/listener-manager.js';
import type { RdsTables } from '../rds-route-table.js';
import type { DecodedResource, ListenerResource, RouteResource } from '../resource-types.js';

export interface ListenerSyncDeps {
  readonly client: XdsClient;
  readonly listenerType: ResourceType<ListenerResource, DecodedResource>;
  readonly routeType: ResourceType<RouteResource, DecodedResource>;
  readonly listenerManager: ListenerManager;
  readonly rdsTables: RdsTables;
  /** Called after each applied change (stats, snapshot persistence, init checks). */
  readonly changed: () => void;
  /** A route configuration was accepted (name) or a response for RDS was rejected (null). */
  readonly routeEvent: (name: string | null, accepted: boolean) => void;
}

export interface ActiveListenerInfo {
  readonly resource: ListenerResource;
  readonly lastUpdatedMs: number;
}

export interface RouteInfo {
  /** null: the route configuration does not exist (or its fetch timed out). */
  readonly resource: RouteResource | null;
  readonly lastUpdatedMs: number;
}

export class ListenerSync {
  readonly active = new Map<string, ActiveListenerInfo>();
  readonly warming = new Map<string, ListenerResource>();
  /** route_config_name → what arrived for it; absent while its first answer is awaited. */
  readonly routes = new Map<string, RouteInfo>();
  private readonly rdsWatches = new Map<string, () => void>();
  private readonly pendingLds = new Map<string, ListenerResource | null>();
  /** Listener binds in progress, so readiness waits for them. */
  private binding = 0;
  private cancelLds: (() => void) | null = null;
  private started = false;

  constructor(private readonly deps: ListenerSyncDeps) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    this.cancelLds = this.deps.client.watch(this.deps.listenerType, '*', {
      onUpdate: (name, v) => this.pendingLds.set(name, v),
      onDoesNotExist: (name) => this.pendingLds.set(name, null),
      onBatchEnd: () => this.applyLds(),
    });
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** LDS answered (or timed out), no listener warms and every bind finished. */
  get initialized(): boolean {
    return (
      this.started &&
      this.deps.client.isInitialFetchDone(this.deps.listenerType.typeUrl) &&
      this.warming.size === 0 &&
      this.binding === 0
    );
  }

  stop(): void {
    this.cancelLds?.();
    for (const c of this.rdsWatches.values()) c();
    this.rdsWatches.clear();
  }

  private applyLds(): void {
    const lm = this.deps.listenerManager;
    for (const [name, v] of this.pendingLds) {
      if (v === null) {
        this.warming.delete(name);
        if (this.active.delete(name)) void lm.remove(name);
        continue;
      }
      for (const n of v.rdsNames) this.watchRds(n);
      if (v.rdsNames.every((n) => this.routes.has(n))) this.activate(v);
      else this.warming.set(name, v);
    }
    this.pendingLds.clear();
    this.releaseUnusedRds();
    this.deps.changed();
  }

  private activate(v: ListenerResource): void {
    const name = v.model.name;
    this.warming.delete(name);
    const previous = this.active.get(name);
    const info = { resource: v, lastUpdatedMs: Date.now() };
    this.active.set(name, info);
    this.binding++;
    void this.deps.listenerManager
      .addOrUpdate(v.model)
      .then((change) => {
        // Could not bind: the previous version (if any) still serves, so it is what is active.
        if (change !== 'failed' || this.active.get(name) !== info) return;
        if (previous !== undefined && this.deps.listenerManager.get(name) !== undefined)
          this.active.set(name, previous);
        else this.active.delete(name);
      })
      .finally(() => {
        this.binding--;
        this.deps.changed();
      });
  }

  private watchRds(name: string): void {
    if (this.rdsWatches.has(name)) return;
    const cancel = this.deps.client.watch(this.deps.routeType, name, {
      onUpdate: (n, r) => {
        this.deps.rdsTables.get(n)?.install(r.table);
        this.routes.set(n, { resource: r, lastUpdatedMs: Date.now() });
        this.deps.routeEvent(n, true);
      },
      onDoesNotExist: (n) => {
        this.deps.rdsTables.get(n)?.install(null);
        this.routes.set(n, { resource: null, lastUpdatedMs: Date.now() });
      },
      onError: () => this.deps.routeEvent(null, false),
      onBatchEnd: () => this.applyRds(),
    });
    this.rdsWatches.set(name, cancel);
  }

  private applyRds(): void {
    for (const v of [...this.warming.values()]) {
      if (v.rdsNames.every((n) => this.routes.has(n))) this.activate(v);
    }
    this.deps.changed();
  }

  private releaseUnusedRds(): void {
    const used = new Set<string>();
    for (const i of this.active.values()) for (const n of i.resource.rdsNames) used.add(n);
    for (const v of this.warming.values()) for (const n of v.rdsNames) used.add(n);
    for (const [name, cancel] of this.rdsWatches) {
      if (used.has(name)) continue;
      cancel();
      this.rdsWatches.delete(name);
      this.routes.delete(name);
    }
    this.deps.rdsTables.retainOnly(used);
  }

  /** route_config_names subscribed now. */
  rdsNames(): string[] {
    return [...this.rdsWatches.keys()];
  }
}
