/**
 * Dynamic (LDS) listeners by name: adds, replaces and removes running Listeners as config changes.
 *
 * The manager owns the listening sockets, not the Listeners: one net.Server per dynamic listener,
 * which hands every accepted connection to the Listener in force for it (Listener.attach /
 * acceptConnection). A changed listener is a new Listener built from the new model (listeners are
 * immutable, like every compiled snapshot); when its address and port are unchanged it takes over
 * the same socket in one assignment, so the port is never unbound and no connection is refused
 * or reset (Envoy also hands the listen socket to the replacement). The old Listener then drains
 * its own connections: HTTP/1 `Connection: close` on the next response, HTTP/2 GOAWAY, idle
 * connections closed, and whatever is left is closed when the drain time runs out. Its drain
 * starts after a short grace (DRAIN_GRACE_MS): a connection it accepted just before the swap, whose
 * first request is still on the wire, would otherwise look idle and be closed unanswered.
 *
 * A listener that moves to another address binds a new socket first and closes the old socket
 * only once the new one listens (make before break). SO_REUSEPORT is not needed and not used.
 *
 * Operations on one name are serialized, so a quick series of updates applies in order.
 */
import net, { type Socket } from 'node:net';
import type { TcpConnector } from '../extensions/filters/network/tcp_proxy/tcp-proxy.js';
import type { ListenerModel } from '../model/listener.js';
import type { Counter, Gauge, StatsStore } from '../observability/stats.js';
import type { ClusterLookup } from '../upstream/cluster.js';
import { Listener } from './listener.js';

export interface ListenerManagerDeps {
  readonly stats: StatsStore;
  readonly clusters: ClusterLookup;
  /** How long a replaced or removed listener's connections may take to finish (--drain-time-s). */
  readonly drainTimeMs: number;
  readonly tcpConnector?: TcpConnector;
  /** Reports a listener that could not bind (the old one, if any, keeps serving). */
  readonly onError?: (name: string, err: Error) => void;
}

export type ListenerChange = 'added' | 'updated' | 'failed';

/** listener_manager.* under Envoy's names. */
class ListenerManagerStats {
  readonly listener_added: Counter;
  readonly listener_modified: Counter;
  readonly listener_removed: Counter;
  readonly listener_create_success: Counter;
  readonly listener_create_failure: Counter;
  readonly total_listeners_active: Gauge;
  readonly total_listeners_draining: Gauge;
  constructor(store: StatsStore) {
    const p = 'listener_manager.';
    this.listener_added = store.counter(`${p}listener_added`);
    this.listener_modified = store.counter(`${p}listener_modified`);
    this.listener_removed = store.counter(`${p}listener_removed`);
    this.listener_create_success = store.counter(`${p}listener_create_success`);
    this.listener_create_failure = store.counter(`${p}listener_create_failure`);
    this.total_listeners_active = store.gauge(`${p}total_listeners_active`);
    this.total_listeners_draining = store.gauge(`${p}total_listeners_draining`);
  }
}

/** See the file comment. */
export const DRAIN_GRACE_MS = 250;

/** A listening socket and the Listener its connections go to. */
class OwnedSocket {
  target: Listener;
  readonly port: number;
  constructor(
    readonly server: net.Server,
    readonly address: string,
    target: Listener,
  ) {
    this.target = target;
    const a = server.address();
    this.port = a !== null && typeof a === 'object' ? a.port : 0;
    server.on('connection', (s: Socket) => this.target.acceptConnection(s));
  }
  close(): void {
    this.server.close();
  }
}

export class ListenerManager {
  private readonly active = new Map<string, Listener>();
  private readonly sockets = new Map<string, OwnedSocket>();
  private readonly draining = new Set<Listener>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly stats: ListenerManagerStats;
  private closed = false;

  constructor(private readonly deps: ListenerManagerDeps) {
    this.stats = new ListenerManagerStats(deps.stats);
  }

  get(name: string): Listener | undefined {
    return this.active.get(name);
  }

  /** The listeners accepting connections now. */
  listeners(): Listener[] {
    return [...this.active.values()];
  }

  /** Replaced or removed listeners whose connections are still finishing. */
  drainingListeners(): Listener[] {
    return [...this.draining];
  }

  /** Adds `model` or replaces the listener of the same name; resolves once it accepts (or failed). */
  addOrUpdate(model: ListenerModel): Promise<ListenerChange> {
    return this.enqueue(model.name, () => this.doAddOrUpdate(model));
  }

  /** Removes the listener: it stops accepting and drains. False when there was none. */
  remove(name: string): Promise<boolean> {
    return this.enqueue(name, async () => {
      const old = this.active.get(name);
      if (old === undefined) return false;
      this.active.delete(name);
      this.sockets.get(name)?.close();
      this.sockets.delete(name);
      this.stats.listener_removed.inc();
      this.stats.total_listeners_active.set(this.active.size);
      this.retire(old);
      return true;
    });
  }

  /** Resolves when every queued operation has run (tests, startup). */
  async settled(): Promise<void> {
    for (let i = 0; i < 100 && this.queues.size > 0; i++) await Promise.all([...this.queues.values()]);
  }

  /**
   * Shutdown: every listening socket closes (new connections are refused) and no further update
   * binds; the listeners' connections carry on until they drain. Idempotent.
   */
  stopAcceptingAll(): void {
    this.closed = true;
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }

  /** Shutdown: every listener, active or draining, is closed now. */
  forceCloseAll(): void {
    this.closed = true;
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    for (const l of this.active.values()) l.forceClose();
    for (const l of this.draining) l.forceClose();
    this.active.clear();
    this.draining.clear();
    this.stats.total_listeners_active.set(0);
    this.stats.total_listeners_draining.set(0);
  }

  private enqueue<T>(name: string, op: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(name) ?? Promise.resolve();
    const next = prev.then(op, op);
    const tail = next.catch(() => undefined);
    this.queues.set(name, tail);
    void tail.then(() => {
      if (this.queues.get(name) === tail) this.queues.delete(name);
    });
    return next;
  }

  private async doAddOrUpdate(model: ListenerModel): Promise<ListenerChange> {
    if (this.closed) return 'failed';
    const name = model.name;
    const old = this.active.get(name);
    const fresh = new Listener(model, {
      stats: this.deps.stats,
      clusters: this.deps.clusters,
      tcpConnector: this.deps.tcpConnector,
    });
    const current = this.sockets.get(name);
    if (
      current !== undefined &&
      current.address === model.address &&
      (model.port === 0 || current.port === model.port)
    ) {
      // Same address: the new listener takes the socket over; nothing is unbound in between.
      fresh.attach(current.port);
      current.target = fresh;
    } else {
      let server: net.Server;
      try {
        server = await this.bind(model);
      } catch (err) {
        this.stats.listener_create_failure.inc();
        this.deps.onError?.(name, err as Error);
        return 'failed';
      }
      if (this.closed) {
        server.close();
        return 'failed';
      }
      const owned = new OwnedSocket(server, model.address, fresh);
      fresh.attach(owned.port);
      this.sockets.set(name, owned);
      current?.close();
    }
    this.stats.listener_create_success.inc();
    this.active.set(name, fresh);
    this.stats.total_listeners_active.set(this.active.size);
    if (old === undefined) {
      this.stats.listener_added.inc();
      return 'added';
    }
    this.stats.listener_modified.inc();
    this.retire(old);
    return 'updated';
  }

  /**
   * Binds a listening socket. EADDRINUSE is retried a few times: a socket closed in the same turn
   * (a removed listener whose address another one takes) is released only after the loop turns.
   */
  private async bind(model: ListenerModel): Promise<net.Server> {
    for (let attempt = 0; ; attempt++) {
      const server = net.createServer({
        allowHalfOpen: true,
        highWaterMark: model.perConnectionBufferLimitBytes,
        noDelay: true,
      });
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: model.address, port: model.port, exclusive: true }, () => {
            server.removeListener('error', reject);
            resolve();
          });
        });
        server.on('error', () => {});
        return server;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  }

  /** Drains a listener taken out of service, closing what is left at the deadline. */
  private retire(l: Listener): void {
    this.draining.add(l);
    this.stats.total_listeners_draining.set(this.draining.size);
    const timer = setTimeout(() => l.forceClose(), Math.max(this.deps.drainTimeMs, DRAIN_GRACE_MS));
    timer.unref();
    const grace = setTimeout(() => {
      void l.drain().then(() => {
        clearTimeout(timer);
        this.draining.delete(l);
        this.stats.total_listeners_draining.set(this.draining.size);
      });
    }, DRAIN_GRACE_MS);
    grace.unref();
  }
}
