/**
 * Everything the client knows about one resource type: who watches which names, the accepted
 * resources, the protocol position (version, nonce, what the server thinks we subscribe to), the
 * does-not-exist timers and the stats. Transport-neutral: the SotW and delta protocols both decode a
 * response into a list of updates and removals and hand them to `apply`, or NACK with `reject`.
 */
import type { ReuseCache } from './decode.js';
import { type ResourceType, type ResourceWatcher, WILDCARD } from './resource-type.js';
import { newTypeStats, type XdsTypeStats } from './stats.js';
import type { AnyMessage } from './wire.js';

export interface CachedResource<T> {
  readonly value: T;
  /** Per-resource version (delta), or the response's version_info (SotW). */
  readonly version: string;
  /** The resource as received, kept only with retainResourceBytes (for persisting snapshots). */
  readonly resource: AnyMessage | null;
}

export interface DecodedUpdate<T> {
  readonly name: string;
  readonly value: T;
  readonly version: string;
  readonly resource: AnyMessage;
}

type SubscriptionState = 'requested' | 'exists' | 'absent';

class Subscription<T> {
  readonly watchers = new Set<ResourceWatcher<T>>();
  state: SubscriptionState = 'requested';
  /** Counts toward the type's initial fetch until the first answer (value, absence, NACK, timeout). */
  resolved = false;
  timer: NodeJS.Timeout | null = null;
  constructor(readonly name: string) {}
}

export class TypeState<T> {
  readonly subscriptions = new Map<string, Subscription<T>>();
  readonly cache = new Map<string, CachedResource<T>>();
  readonly stats: XdsTypeStats = newTypeStats();
  /** SotW: the last accepted version_info ('' before any), sent on every request and on reconnect. */
  versionInfo = '';
  /** The nonce of the last response on the current stream ('' on a new stream). */
  nonce = '';
  /** Whether a request for this type went out on the current stream. */
  sentOnStream = false;
  /** Delta: the names the server believes we subscribe to on the current stream. */
  readonly sentNames = new Set<string>();
  /**
   * SotW: a non-empty resource_names went out on this stream. From then on an empty list means
   * "nothing" rather than the legacy wildcard, so a wildcard must be sent as an explicit "*".
   */
  namesSentOnStream = false;
  /** A subscription change waits to be sent (batched per tick). */
  dirty = false;
  /** SotW: the last accepted response's resources by bytes (types with reuseUnchanged). */
  reuse: ReuseCache<T> | null = null;
  /** Watchers told something in the current batch, for their onBatchEnd. */
  private readonly touched = new Set<ResourceWatcher<T>>();
  private initialFetchDone = false;
  private readonly initialFetchWaiters: Array<() => void> = [];

  constructor(
    readonly type: ResourceType<T, unknown>,
    private readonly initialFetchTimeoutMs: number,
    /** A watcher that throws must not stop the others, the ACK, or the client. */
    private readonly watcherThrew: (err: unknown) => void = () => {},
    private readonly retainResourceBytes = false,
  ) {}

  get isInitialFetchDone(): boolean {
    return this.initialFetchDone;
  }

  whenInitialFetchDone(): Promise<void> {
    if (this.initialFetchDone) return Promise.resolve();
    return new Promise((resolve) => this.initialFetchWaiters.push(resolve));
  }

  get wildcard(): boolean {
    return this.subscriptions.has(WILDCARD);
  }

  /** The explicitly named subscriptions, in subscription order. */
  namedSubscriptions(): string[] {
    const names: string[] = [];
    for (const name of this.subscriptions.keys()) if (name !== WILDCARD) names.push(name);
    return names;
  }

  interestedIn(name: string): boolean {
    return this.subscriptions.has(WILDCARD) || this.subscriptions.has(name);
  }

  /** Adds a watcher; returns true when this created a new subscription (the server must be told). */
  addWatcher(name: string, watcher: ResourceWatcher<T>, onTimeout: (name: string) => void): boolean {
    let sub = this.subscriptions.get(name);
    const created = sub === undefined;
    if (sub === undefined) {
      sub = new Subscription<T>(name);
      this.subscriptions.set(name, sub);
      if (name !== WILDCARD && this.cache.has(name)) {
        sub.state = 'exists';
        sub.resolved = true;
      } else if (this.initialFetchTimeoutMs > 0) {
        // Envoy's initial_fetch_timeout runs from the subscription, connected or not, so a proxy
        // started while the control plane is unreachable still finishes initialising.
        sub.timer = setTimeout(onTimeout, this.initialFetchTimeoutMs, name);
        sub.timer.unref?.();
      }
    }
    sub.watchers.add(watcher);
    this.replayTo(sub, watcher);
    return created;
  }

  /** Removes a watcher; returns true when its subscription went away (the server must be told). */
  removeWatcher(name: string, watcher: ResourceWatcher<T>): boolean {
    const sub = this.subscriptions.get(name);
    if (sub === undefined || !sub.watchers.delete(watcher) || sub.watchers.size > 0) return false;
    this.clearTimer(sub);
    this.subscriptions.delete(name);
    this.checkInitialFetchDone();
    return true;
  }

  /**
   * Forgets resources nobody asks for any more, so the delta initial_resource_versions lists only
   * what we still want. Run when the unsubscription is sent, not when the watch is cancelled: a
   * name dropped and re-watched in the same turn never leaves the server's view, so the server
   * will not send it again and the cached value must still be there.
   */
  pruneUninterested(): void {
    for (const name of [...this.cache.keys()]) if (!this.interestedIn(name)) this.cache.delete(name);
  }

  /** initial_fetch_timeout expired for `name`: it does not exist, as far as startup is concerned. */
  fetchTimedOut(name: string): void {
    const sub = this.subscriptions.get(name);
    if (sub === undefined) return;
    sub.timer = null;
    this.stats.init_fetch_timeout++;
    if (name !== WILDCARD && sub.state === 'requested') {
      sub.state = 'absent';
      for (const w of [...sub.watchers]) this.tell(w, 'absent', name, undefined);
      this.endBatch();
    }
    this.resolve(sub);
  }

  /**
   * Applies an accepted response. `updates` carries only resources that passed validation; a name
   * nobody subscribes to is ignored. `complete` (SotW for LDS/CDS) means every resource of the
   * type is in the response, so cached or subscribed names absent from it no longer exist.
   *
   * Returns null when every watcher finished with the batch, or a promise when one is still
   * applying it (its onBatchEnd returned a promise): the caller holds the ACK until it settles, and
   * the wildcard's initial fetch counts as done only then, so readiness waits for the commit.
   */
  apply(
    updates: readonly DecodedUpdate<T>[],
    removed: readonly string[],
    complete: boolean,
  ): Promise<void> | null {
    const present = complete ? new Set<string>() : null;
    for (const u of updates) {
      if (!this.interestedIn(u.name)) continue;
      present?.add(u.name);
      const previous = this.cache.get(u.name);
      this.cache.set(u.name, {
        value: u.value,
        version: u.version,
        // A copy: the decoded bytes are a view into the whole response's buffer, which must not be
        // kept alive by one retained resource.
        resource: this.retainResourceBytes
          ? { type_url: u.resource.type_url, value: Buffer.from(u.resource.value) }
          : null,
      });
      const sub = this.subscriptions.get(u.name);
      if (sub) {
        sub.state = 'exists';
        this.clearTimer(sub);
        this.resolve(sub);
      }
      if (previous !== undefined && (previous.value === u.value || this.type.equal(previous.value, u.value)))
        continue;
      this.notifyUpdate(u.name, u.value);
    }
    for (const name of removed) this.remove(name);
    if (present !== null) {
      // Only a resource seen before is deleted by its absence: a name requested just now may be
      // missing because the server answered an older request (xDS is eventually consistent); its
      // does-not-exist timer decides for it.
      for (const name of [...this.cache.keys()]) if (!present.has(name)) this.remove(name);
    }
    const pending = this.endBatch();
    const wildcard = this.subscriptions.get(WILDCARD);
    if (wildcard) this.clearTimer(wildcard);
    const resolveWildcard = (): void => {
      if (wildcard !== undefined && this.subscriptions.get(WILDCARD) === wildcard) this.resolve(wildcard);
    };
    if (pending === null) {
      resolveWildcard();
      return null;
    }
    return pending.then(resolveWildcard);
  }

  /** A response was NACKed: nothing changes, watchers hear the errors, startup stops waiting on it. */
  reject(errors: readonly string[]): void {
    const notified = new Set<ResourceWatcher<T>>();
    for (const sub of this.subscriptions.values()) {
      // Envoy ends a subscription's initialisation on a rejected update as it does on an accepted
      // one (the old config, if any, keeps serving), so warming does not wait for a good response.
      this.resolve(sub);
      for (const w of sub.watchers) {
        if (notified.has(w)) continue;
        notified.add(w);
        this.tellError(w, errors);
      }
    }
  }

  /** The client is closing: stop every timer. */
  dispose(): void {
    for (const sub of this.subscriptions.values()) this.clearTimer(sub);
  }

  private remove(name: string): void {
    const had = this.cache.delete(name);
    const sub = this.subscriptions.get(name);
    if (sub) {
      this.clearTimer(sub);
      this.resolve(sub);
      if (sub.state === 'absent') return;
      sub.state = 'absent';
      for (const w of [...sub.watchers]) this.tell(w, 'absent', name, undefined);
    }
    if (had) {
      const wildcard = this.subscriptions.get(WILDCARD);
      if (wildcard) for (const w of [...wildcard.watchers]) this.tell(w, 'absent', name, undefined);
    }
  }

  private notifyUpdate(name: string, value: T): void {
    const sub = this.subscriptions.get(name);
    if (sub) for (const w of [...sub.watchers]) this.tell(w, 'update', name, value);
    const wildcard = this.subscriptions.get(WILDCARD);
    if (wildcard) for (const w of [...wildcard.watchers]) this.tell(w, 'update', name, value);
  }

  /** A watcher joining an existing subscription learns the current state without waiting for the server. */
  private replayTo(sub: Subscription<T>, watcher: ResourceWatcher<T>): void {
    if (sub.name === WILDCARD) {
      if (this.cache.size === 0) return;
      const snapshot = [...this.cache];
      queueMicrotask(() => {
        if (!sub.watchers.has(watcher)) return;
        for (const [name, c] of snapshot) this.tell(watcher, 'update', name, c.value);
        this.endBatch();
      });
      return;
    }
    const cached = this.cache.get(sub.name);
    if (cached !== undefined) {
      queueMicrotask(() => {
        if (sub.watchers.has(watcher) && this.cache.get(sub.name) === cached)
          this.tell(watcher, 'update', sub.name, cached.value);
        this.endBatch();
      });
    } else if (sub.state === 'absent') {
      queueMicrotask(() => {
        if (sub.watchers.has(watcher) && sub.state === 'absent')
          this.tell(watcher, 'absent', sub.name, undefined);
        this.endBatch();
      });
    }
  }

  private tell(w: ResourceWatcher<T>, what: 'update' | 'absent', name: string, value: T | undefined): void {
    if (w.onBatchEnd !== undefined) this.touched.add(w);
    try {
      if (what === 'update') w.onUpdate(name, value as T);
      else w.onDoesNotExist(name);
    } catch (err) {
      this.watcherThrew(err);
    }
  }

  /**
   * Ends a batch of callbacks: each watcher that heard something gets one onBatchEnd. Returns a
   * promise when some watcher is still applying the batch (a failure there is the watcher's, as a
   * throw would be: reported, and the batch counts as ended).
   */
  private endBatch(): Promise<void> | null {
    if (this.touched.size === 0) return null;
    const watchers = [...this.touched];
    this.touched.clear();
    let waits: Promise<void>[] | null = null;
    for (const w of watchers) {
      try {
        const r = w.onBatchEnd?.();
        if (r instanceof Promise) {
          waits ??= [];
          waits.push(r.catch((err: unknown) => this.watcherThrew(err)));
        }
      } catch (err) {
        this.watcherThrew(err);
      }
    }
    return waits === null ? null : Promise.all(waits).then(() => {});
  }

  private tellError(w: ResourceWatcher<T>, errors: readonly string[]): void {
    try {
      w.onError?.(errors);
    } catch (err) {
      this.watcherThrew(err);
    }
  }

  private clearTimer(sub: Subscription<T>): void {
    if (sub.timer !== null) {
      clearTimeout(sub.timer);
      sub.timer = null;
    }
  }

  private resolve(sub: Subscription<T>): void {
    if (sub.resolved) return;
    sub.resolved = true;
    this.checkInitialFetchDone();
  }

  private checkInitialFetchDone(): void {
    // With no subscription left nothing is pending: a waiter must not hang on a cancelled watch.
    if (this.initialFetchDone) return;
    for (const sub of this.subscriptions.values()) if (!sub.resolved) return;
    this.initialFetchDone = true;
    for (const resolve of this.initialFetchWaiters.splice(0)) resolve();
  }
}
