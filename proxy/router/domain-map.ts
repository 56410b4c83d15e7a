/**
 * Virtual host selection by Host/:authority, in Envoy's order: exact domain, then the longest
 * suffix wildcard (`*.foo.com`, `*-bar.foo.com`), then the longest prefix wildcard (`foo.*`),
 * then `*`. A wildcard never matches the empty string. Hosts compare lower-cased. The port is part
 * of the host unless ignore_port_in_host_matching is set (Envoy's behaviour: `example.com:8080`
 * does not match the domain `example.com`; list both or set that option).
 */

/** Wildcards of one length. Few entries are scanned (no allocation); many use a map. */
class WildcardGroup<V> {
  readonly length: number;
  readonly keys: string[] = [];
  readonly values: V[] = [];
  map: Map<string, V> | null = null;

  constructor(length: number) {
    this.length = length;
  }
}

const SCAN_LIMIT = 8;

function hasUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}

export class DomainMap<V> {
  private readonly exact = new Map<string, V>();
  private readonly suffixes: WildcardGroup<V>[] = [];
  private readonly prefixes: WildcardGroup<V>[] = [];
  private fallback: V | null = null;
  private readonly ignorePort: boolean;

  constructor(ignorePort: boolean) {
    this.ignorePort = ignorePort;
  }

  /** Adds a lower-case domain; uniqueness is checked by the translator. */
  add(domain: string, value: V): void {
    if (domain === '*') this.fallback = value;
    else if (domain.startsWith('*')) DomainMap.addTo(this.suffixes, domain.slice(1), value);
    else if (domain.endsWith('*')) DomainMap.addTo(this.prefixes, domain.slice(0, -1), value);
    else this.exact.set(domain, value);
  }

  private static addTo<V>(groups: WildcardGroup<V>[], key: string, value: V): void {
    let g = groups.find((x) => x.length === key.length);
    if (g === undefined) {
      g = new WildcardGroup<V>(key.length);
      groups.push(g);
      groups.sort((a, b) => b.length - a.length);
    }
    g.keys.push(key);
    g.values.push(value);
    if (g.keys.length > SCAN_LIMIT) {
      g.map = new Map();
      for (let i = 0; i < g.keys.length; i++) if (!g.map.has(g.keys[i])) g.map.set(g.keys[i], g.values[i]);
    }
  }

  find(authority: string): V | null {
    // Common case first: an already lower-case host listed exactly (no copy, one hash lookup).
    if (!this.ignorePort) {
      const hit = this.exact.get(authority);
      if (hit !== undefined) return hit;
    }
    let host = authority;
    if (this.ignorePort) {
      const colon = host.lastIndexOf(':');
      if (colon >= 0 && host.lastIndexOf(']') < colon) host = host.slice(0, colon);
    }
    if (hasUpper(host)) host = host.toLowerCase();
    if (host !== authority || this.ignorePort) {
      const exact = this.exact.get(host);
      if (exact !== undefined) return exact;
    }
    const n = host.length;
    for (const g of this.suffixes) {
      if (g.length >= n) continue;
      if (g.map !== null) {
        const v = g.map.get(host.slice(n - g.length));
        if (v !== undefined) return v;
      } else {
        for (let i = 0; i < g.keys.length; i++) if (host.endsWith(g.keys[i])) return g.values[i];
      }
    }
    for (const g of this.prefixes) {
      if (g.length >= n) continue;
      if (g.map !== null) {
        const v = g.map.get(host.slice(0, g.length));
        if (v !== undefined) return v;
      } else {
        for (let i = 0; i < g.keys.length; i++) if (host.startsWith(g.keys[i])) return g.values[i];
      }
    }
    return this.fallback;
  }
}
