/**
 * The xDS client's counters under Envoy's stat names. The client keeps plain per-type objects;
 * sync() copies them onto the store's counters after every response, stream end and applied
 * change (cheap: a handful of numbers, on the control path only).
 *
 *   control_plane.connected_state                       gauge, 1 while the ADS stream is up
 *   cluster_manager.cds.* / listener_manager.lds.*      update_attempt, update_success,
 *                                                       update_rejected, update_failure,
 *                                                       init_fetch_timeout, version, update_time
 *   http.<stat_prefix>.rds.<route_config_name>.*        update_attempt, update_success, update_rejected
 *   cluster.<name>.update_*                             EDS, counted by the cluster itself
 *
 * `version` is a gauge holding a hash of version_info, as Envoy's; Envoy's is a 64-bit xxHash,
 * remora's the first 48 bits of SHA-256 (a JavaScript number holds 53 bits), so the values differ
 * from Envoy's but change exactly when the version does.
 */
import { createHash } from 'node:crypto';
import type { XdsClient, XdsTypeStats } from '../../../control-client/index.js';
import type { Counter, Gauge, StatsStore } from '../../observability/stats.js';

class TypeStatsView {
  private readonly attempt: Counter;
  private readonly success: Counter;
  private readonly rejected: Counter;
  private readonly failure: Counter;
  private readonly timeout: Counter;
  private readonly version: Gauge;
  private readonly updateTime: Gauge;
  private lastVersion = '';

  constructor(store: StatsStore, prefix: string) {
    this.attempt = store.counter(`${prefix}.update_attempt`);
    this.success = store.counter(`${prefix}.update_success`);
    this.rejected = store.counter(`${prefix}.update_rejected`);
    this.failure = store.counter(`${prefix}.update_failure`);
    this.timeout = store.counter(`${prefix}.init_fetch_timeout`);
    this.version = store.gauge(`${prefix}.version`, 'never_import');
    this.updateTime = store.gauge(`${prefix}.update_time`, 'never_import');
  }

  copy(s: XdsTypeStats): void {
    this.attempt.value = s.update_attempt;
    this.success.value = s.update_success;
    this.rejected.value = s.update_rejected;
    this.failure.value = s.update_failure;
    this.timeout.value = s.init_fetch_timeout;
    this.updateTime.set(s.update_time);
    if (s.version_text !== this.lastVersion) {
      this.lastVersion = s.version_text;
      this.version.set(versionHash(s.version_text));
    }
  }
}

/** 48 bits of SHA-256 of version_info; 0 for no version. */
export function versionHash(v: string): number {
  if (v === '') return 0;
  return createHash('sha256').update(v).digest().readUIntBE(0, 6);
}

export class XdsStats {
  private readonly connected: Gauge;
  private readonly views = new Map<string, TypeStatsView>();

  constructor(
    private readonly store: StatsStore,
    private readonly client: XdsClient,
    /** type URL → stat prefix (cluster_manager.cds, listener_manager.lds). */
    prefixes: ReadonlyMap<string, string>,
  ) {
    this.connected = store.gauge('control_plane.connected_state', 'never_import');
    for (const [url, prefix] of prefixes) this.views.set(url, new TypeStatsView(store, prefix));
  }

  sync(): void {
    this.connected.set(this.client.controlPlane.connected_state);
    for (const [url, view] of this.views) {
      const s = this.client.typeStats(url);
      if (s !== undefined) view.copy(s);
    }
  }

  /** A RouteConfiguration response for `name` under each connection manager prefix naming it. */
  rdsUpdate(prefixes: Iterable<string>, name: string, accepted: boolean): void {
    for (const p of prefixes) {
      const base = `http.${p}.rds.${name}`;
      this.store.counter(`${base}.update_attempt`).inc();
      this.store.counter(`${base}.${accepted ? 'update_success' : 'update_rejected'}`).inc();
    }
  }
}
