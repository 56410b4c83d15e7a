/**
 * RDS for the connection manager without changing it: an RdsRouteTable is a RouteTable whose
 * match() delegates to the compiled table currently installed for one route_config_name. A new
 * RouteConfiguration swaps the reference in one assignment, so the swap is atomic; a request that
 * already matched keeps its MatchedRoute (the old table's objects stay alive while referenced).
 * Until the first RouteConfiguration arrives there is no table and every request gets 404 (NR),
 * which is also what Envoy answers on a listener whose RDS fetch timed out.
 */
import { type Issues, joinPath } from '../config/issues.js';
import type { ProtoObject, ProtoValue } from '../config/proto-object.js';
import type { MatchedRoute, RouteRequest, RouteTable } from '../router/types.js';
import { checkAdsConfigSource } from './resource-types.js';

const NO_HEADERS: readonly string[] = [];

export class RdsRouteTable implements RouteTable {
  private current: RouteTable | null = null;

  constructor(readonly name: string) {}

  get internalOnlyHeaders(): readonly string[] {
    return this.current?.internalOnlyHeaders ?? NO_HEADERS;
  }

  /** True once a RouteConfiguration was installed. */
  get hasConfig(): boolean {
    return this.current !== null;
  }

  match(req: RouteRequest): MatchedRoute | null {
    const t = this.current;
    return t === null ? null : t.match(req);
  }

  /** Installs a compiled table (or null: the route configuration was removed). */
  install(table: RouteTable | null): void {
    this.current = table;
  }
}

/**
 * One RdsRouteTable per route_config_name, shared by every connection manager that names it (as
 * Envoy shares one RDS subscription). `collect` records the names a listener's translation asked
 * for, so the orchestrator knows which RDS subscriptions the listener needs.
 */
export class RdsTables {
  private readonly tables = new Map<string, RdsRouteTable>();
  private collecting: string[] | null = null;

  get(name: string): RdsRouteTable | undefined {
    return this.tables.get(name);
  }

  names(): string[] {
    return [...this.tables.keys()];
  }

  /** Drops tables no listener references any more. */
  retainOnly(names: ReadonlySet<string>): void {
    for (const n of [...this.tables.keys()]) if (!names.has(n)) this.tables.delete(n);
  }

  /** Runs a listener translation and returns the RDS names its connection managers referenced. */
  collect<T>(run: () => T): { model: T; names: string[] } {
    const outer = this.collecting;
    const names: string[] = [];
    this.collecting = names;
    try {
      return { model: run(), names };
    } finally {
      this.collecting = outer;
    }
  }

  /**
   * The HCM translator's `rds` dependency: validates Rds{config_source, route_config_name} and
   * returns the shared table for the name.
   */
  readonly translate = (rds: ProtoObject, path: string, issues: Issues): RouteTable | null => {
    const before = issues.errorCount;
    const name = typeof rds.route_config_name === 'string' ? rds.route_config_name : '';
    if (name === '') issues.error(joinPath(path, 'route_config_name'), 'is required');
    const src: ProtoValue | undefined = rds.config_source;
    if (typeof src !== 'object' || src === null || Array.isArray(src) || Buffer.isBuffer(src)) {
      issues.error(joinPath(path, 'config_source'), 'is required (ads: {})');
    } else checkAdsConfigSource(src, joinPath(path, 'config_source'), issues);
    if (issues.errorCount > before) return null;
    this.collecting?.push(name);
    let t = this.tables.get(name);
    if (t === undefined) {
      t = new RdsRouteTable(name);
      this.tables.set(name, t);
    }
    return t;
  };
}
