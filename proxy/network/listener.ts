import net, { type Socket } from 'node:net';
import { type TcpConnector, TcpProxy } from '../extensions/filters/network/tcp_proxy/tcp-proxy.js';
import { ConnectionManager } from '../http/connection-manager.js';
import type { FilterChainModel, ListenerModel } from '../model/listener.js';
import type { Counter, Gauge, StatsStore } from '../observability/stats.js';
import type { ClusterLookup } from '../upstream/cluster.js';
import { selectFilterChain } from './filter-chain-match.js';

export interface ListenerDeps {
  readonly stats: StatsStore;
  readonly clusters: ClusterLookup;
  /** Upstream TCP connector for tcp_proxy (default: plain net.connect). */
  readonly tcpConnector?: TcpConnector;
}

/** What a filter chain's terminal network filter does with a connection. */
interface NetworkHandler {
  accept(socket: Socket): void;
  drain(): void;
  forceClose(): void;
}

interface Chain {
  readonly model: FilterChainModel;
  readonly handler: NetworkHandler;
}

/**
 * listener.<address>_<port>.* under Envoy's names, or listener.<stat_prefix>.* when the listener
 * sets stat_prefix (Envoy uses the prefix instead of the address then).
 */
function listenerStatsName(model: ListenerModel, port: number): string {
  const prefix = model.statPrefix;
  return prefix !== undefined && prefix !== '' ? prefix : `${model.address}_${port}`;
}

class ListenerStats {
  readonly downstream_cx_total: Counter;
  readonly downstream_cx_active: Gauge;
  readonly downstream_cx_destroy: Counter;
  readonly no_filter_chain_match: Counter;
  constructor(store: StatsStore, name: string) {
    const p = `listener.${name}.`;
    this.downstream_cx_total = store.counter(`${p}downstream_cx_total`);
    this.downstream_cx_active = store.gauge(`${p}downstream_cx_active`);
    this.downstream_cx_destroy = store.counter(`${p}downstream_cx_destroy`);
    this.no_filter_chain_match = store.counter(`${p}no_filter_chain_match`);
  }
}

/**
 * A bound listener: accepts connections, picks a filter chain per connection, hands the socket to
 * the chain's connection manager or tcp_proxy, and tracks connections for drain.
 */
export class Listener {
  private readonly server: net.Server;
  private readonly chains: Chain[];
  private readonly connections = new Set<Socket>();
  private stats: ListenerStats | null = null;
  private accepting = false;
  private attachedPort: number | null = null;
  private drainWaiters: Array<() => void> = [];

  constructor(
    readonly model: ListenerModel,
    private readonly deps: ListenerDeps,
  ) {
    this.chains = model.filterChains.map((m) => ({ model: m, handler: makeHandler(m, deps) }));
    this.server = net.createServer({
      allowHalfOpen: true,
      highWaterMark: model.perConnectionBufferLimitBytes,
      noDelay: true,
    });
    this.server.on('connection', (s: Socket) => this.onConnection(s));
    this.server.on('error', () => {});
  }

  /** Binds address:port; resolves with the bound port (useful with port 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = this.server;
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen({ host: this.model.address, port: this.model.port, exclusive: true }, () => {
        server.removeListener('error', onError);
        this.accepting = true;
        const port = this.port;
        // Envoy names listener stats by the configured address and port (the bound one for port 0).
        this.stats = new ListenerStats(this.deps.stats, listenerStatsName(this.model, port));
        resolve(port);
      });
    });
  }

  /**
   * Serves connections accepted on a socket someone else owns: the listener manager keeps one
   * listening socket per address across LDS updates and hands each connection to the listener
   * in force (acceptConnection), so a replaced listener never leaves the port unbound.
   * `port` is that socket's bound port (it names the stats).
   */
  attach(port: number): void {
    this.attachedPort = port;
    this.stats = new ListenerStats(this.deps.stats, listenerStatsName(this.model, port));
  }

  /** A connection accepted by the owner's socket (after attach). */
  acceptConnection(socket: Socket): void {
    this.onConnection(socket);
  }

  /** The listener's configured name (for logs and the lifecycle). */
  get name(): string {
    return this.model.name;
  }

  get port(): number {
    if (this.attachedPort !== null) return this.attachedPort;
    const a = this.server.address();
    return a !== null && typeof a === 'object' ? a.port : this.model.port;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private onConnection(socket: Socket): void {
    const stats = this.stats!;
    stats.downstream_cx_total.inc();
    stats.downstream_cx_active.inc();
    this.connections.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => {
      stats.downstream_cx_active.dec();
      stats.downstream_cx_destroy.inc();
      this.connections.delete(socket);
      if (this.connections.size === 0 && this.drainWaiters.length > 0) {
        const w = this.drainWaiters;
        this.drainWaiters = [];
        for (const f of w) f();
      }
    });
    const chain = selectFilterChain(this.chains, {
      localAddress: socket.localAddress ?? '',
      localPort: socket.localPort ?? 0,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
    });
    if (chain === null) {
      stats.no_filter_chain_match.inc();
      socket.destroy();
      return;
    }
    chain.handler.accept(socket);
  }

  /** Stops accepting new connections (the port is released); existing ones carry on. */
  stopAccepting(): Promise<void> {
    if (!this.accepting) return Promise.resolve();
    this.accepting = false;
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Graceful drain: stops accepting, asks every connection to finish (HTTP/1 Connection: close,
   * idle keep-alives closed, HTTP/2 GOAWAY), and resolves once every connection has closed.
   */
  drain(): Promise<void> {
    const stopped = this.stopAccepting();
    for (const c of this.chains) c.handler.drain();
    const closed =
      this.connections.size === 0 ? Promise.resolve() : new Promise<void>((r) => this.drainWaiters.push(r));
    return Promise.all([stopped, closed]).then(() => undefined);
  }

  /** Closes every connection now (after the drain deadline). */
  forceClose(): void {
    void this.stopAccepting();
    for (const c of this.chains) c.handler.forceClose();
    for (const s of this.connections) s.destroy();
  }
}

function makeHandler(m: FilterChainModel, deps: ListenerDeps): NetworkHandler {
  const f = m.filter;
  if (f.kind === 'http_connection_manager') {
    return new ConnectionManager(f.config, { stats: deps.stats, clusters: deps.clusters });
  }
  return new TcpProxy(f.config, { stats: deps.stats, clusters: deps.clusters, connector: deps.tcpConnector });
}
