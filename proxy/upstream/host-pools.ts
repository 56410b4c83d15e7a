import type { ClusterModel } from '../model/cluster.js';
import type { PriorityBreakers } from './circuit-breakers.js';
import type { ClusterStats } from './cluster-stats.js';
import type { Host } from './host.js';
import { AgentHttp1Pool } from './http1-agent-pool.js';
import { Http1Pool } from './http1-pool.js';
import { Http2Pool } from './http2-pool.js';
import { llhttpAvailable } from './llhttp.js';
import type { ConnectionPool } from './upstream-stream.js';

export type RoutingPriority = 'DEFAULT' | 'HIGH';

/**
 * A cluster's connection pools: one per host and routing priority, as Envoy keeps them, so HIGH
 * requests get their own connections, counted against HIGH's max_connections and
 * max_pending_requests. Pools are made on first use; the HTTP/1.1, HTTP/2 or node:http fallback
 * kind follows the cluster's protocol and what the runtime offers.
 */
export class HostPools {
  private readonly pools = new Map<Host, ConnectionPool>();
  /** Pools of requests on `priority: HIGH` routes (created on the first such request). */
  private highPools: Map<Host, ConnectionPool> | null = null;

  constructor(
    private readonly model: ClusterModel,
    private readonly stats: ClusterStats,
    private readonly breakers: PriorityBreakers,
  ) {}

  /**
   * The pool for `host` at `priority`. `keep` false (the host already left the cluster, or the
   * cluster is stopping) gives a pool that closes its connections once its streams end.
   */
  get(host: Host, priority: RoutingPriority, keep: boolean): ConnectionPool {
    let pools = this.pools;
    if (priority === 'HIGH') {
      if (this.highPools === null) this.highPools = new Map();
      pools = this.highPools;
    }
    let p = pools.get(host);
    if (p === undefined) {
      p = this.create(host, priority);
      if (keep) pools.set(host, p);
      else p.drain();
    }
    return p;
  }

  /** A host left the cluster: its pools drain (requests in flight finish), then close. */
  drainHost(host: Host): void {
    for (const pools of this.maps()) {
      const p = pools.get(host);
      if (p !== undefined) {
        pools.delete(host);
        p.drain();
      }
    }
  }

  /** Every pool finishes its streams and closes. */
  drainAll(): void {
    for (const pools of this.maps()) {
      for (const p of pools.values()) p.drain();
      pools.clear();
    }
  }

  /** Every connection closes now. */
  destroyAll(): void {
    for (const pools of this.maps()) {
      for (const p of pools.values()) p.destroy();
      pools.clear();
    }
  }

  /** Pools held, both priorities. */
  get size(): number {
    return this.pools.size + (this.highPools?.size ?? 0);
  }

  private maps(): Array<Map<Host, ConnectionPool>> {
    return this.highPools === null ? [this.pools] : [this.pools, this.highPools];
  }

  private create(host: Host, priority: RoutingPriority): ConnectionPool {
    const m = this.model;
    const breakers = this.breakers.get(priority);
    if (m.protocol === 'http2' && m.http2 !== null) {
      return new Http2Pool(host, this.stats, {
        connectTimeoutMs: m.connectTimeoutMs,
        idleTimeoutMs: m.idleTimeoutMs,
        maxConcurrentStreams: m.http2.maxConcurrentStreams,
        initialStreamWindowSize: m.http2.initialStreamWindowSize,
        initialConnectionWindowSize: m.http2.initialConnectionWindowSize,
        maxRequestsPerConnection: m.maxRequestsPerConnection,
        breakers,
      });
    }
    const opts = {
      connectTimeoutMs: m.connectTimeoutMs,
      idleTimeoutMs: m.idleTimeoutMs,
      maxRequestsPerConnection: m.maxRequestsPerConnection,
      // max_connections / max_pending_requests of this priority, which the lean pool consults.
      breakers,
    };
    // The lean pool needs node's llhttp binding; without it, node:http's client does the work.
    return llhttpAvailable
      ? new Http1Pool(host, this.stats, opts)
      : new AgentHttp1Pool(host, this.stats, opts);
  }
}
