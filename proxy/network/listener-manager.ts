/**
 * Dynamic (LDS) listeners by name: adds, replaces and removes running Listeners as config changes.
 *
 * A changed listener is a new Listener built from the new model (listeners are immutable, like
 * every compiled snapshot). Taking over the port without refusing connections: every dynamic
 * listener binds with SO_REUSEPORT (node's `reusePort`, Linux), so the replacement binds the same
 * address:port while the old one still accepts; only then does the old one stop accepting and
 * drain (HTTP/1 `Connection: close`, HTTP/2 GOAWAY, idle connections closed), with the drain time
 * as its deadline, after which what is left is closed. Between the two binds the kernel spreads new
 * connections over both sockets, so nothing is refused; a connection that lands in the old
 * socket's accept queue in the instant it closes is the one residual risk (Linux resets those).
 * Without SO_REUSEPORT (other platforms) the bind fails with EADDRINUSE; then the old listener
 * stops accepting first and the new one binds right after (a gap of a few event-loop turns, during
 * which new connections are refused).
 *
 * Operations on one name are serialized, so a quick series of updates applies in order.
 */
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

export class ListenerManager {
  private readonly active = new Map<string, Listener>();
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

  /** Shutdown: every listener, active or draining, is closed now. */
  forceCloseAll(): void {
    this.closed = true;
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
    const old = this.active.get(model.name);
    const fresh = new Listener(model, {
      stats: this.deps.stats,
      clusters: this.deps.clusters,
      tcpConnector: this.deps.tcpConnector,
    });
    try {
      await this.bind(fresh, old);
    } catch (err) {
      this.stats.listener_create_failure.inc();
      fresh.forceClose();
      this.deps.onError?.(model.name, err as Error);
      return 'failed';
    }
    if (this.closed) {
      fresh.forceClose();
      return 'failed';
    }
    this.stats.listener_create_success.inc();
    this.active.set(model.name, fresh);
    this.stats.total_listeners_active.set(this.active.size);
    if (old === undefined) {
      this.stats.listener_added.inc();
      return 'added';
    }
    this.stats.listener_modified.inc();
    this.retire(old);
    return 'updated';
  }

  private async bind(fresh: Listener, old: Listener | undefined): Promise<void> {
    try {
      await fresh.listen({ reusePort: true });
      return;
    } catch (err) {
      const sameAddress =
        old !== undefined && old.model.address === fresh.model.address && old.port === fresh.model.port;
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !sameAddress) throw err;
    }
    // No SO_REUSEPORT here: hand the port over (the old listener stops accepting, then we bind).
    await old.stopAccepting();
    for (let attempt = 0; ; attempt++) {
      try {
        await fresh.listen({ reusePort: true });
        return;
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
    const timer = setTimeout(() => l.forceClose(), this.deps.drainTimeMs);
    timer.unref();
    void l.drain().then(() => {
      clearTimeout(timer);
      this.draining.delete(l);
      this.stats.total_listeners_draining.set(this.draining.size);
    });
  }
}
