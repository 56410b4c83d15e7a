/**
 * Envoy's default tag extraction: a flat stat name such as `cluster.backend.upstream_rq_200` becomes
 * a tag-extracted name (`cluster.upstream_rq`) plus tags (`envoy.response_code=200`,
 * `envoy.cluster_name=backend`). Prometheus output is built from the result, so remora's metric
 * names and labels match Envoy's and existing dashboards work.
 *
 * Each rule is a regular expression whose first capture group is the part of the name to remove
 * and whose second group (or the first, when there is no second) is the tag value. Rules run
 * against the original name; their removals are merged at the end, as Envoy does.
 *
 * Only the rules for stats remora emits are here (listed in docs/stats.md); the order follows
 * Envoy's well-known tag list.
 */
export interface Tag {
  readonly name: string;
  readonly value: string;
}

export interface ExtractedName {
  /** The name with every tag's removal applied (`cluster.upstream_rq`). */
  readonly name: string;
  readonly tags: readonly Tag[];
}

interface Rule {
  readonly tag: string;
  readonly re: RegExp;
  /** A substring the name must contain for the rule to be tried (cheap pre-check). */
  readonly substr: string;
}

const RULES: readonly Rule[] = [
  // <...>_rq(_<code>)
  { tag: 'envoy.response_code', re: /_rq(_(\d{3}))$/d, substr: '_rq_' },
  // <...>_rq_(<class>)xx
  { tag: 'envoy.response_code_class', re: /_rq_(\d)xx$/d, substr: '_rq_' },
  // vhost.[<vhost>.]vcluster.(<vcluster>.)<stat>
  { tag: 'envoy.virtual_cluster', re: /^vhost(?=\.).*?\.vcluster\.((.*?)\.)\w+?$/d, substr: '.vcluster.' },
  // listener.[<address>.]ssl.cipher.(<cipher>)
  { tag: 'envoy.ssl_cipher', re: /^listener(?=\.).*?\.ssl\.cipher(\.(.*?))$/d, substr: '.ssl.cipher' },
  // cluster.[<name>.]ssl.ciphers.(<cipher>)
  {
    tag: 'envoy.ssl_cipher_suite',
    re: /^cluster(?=\.).*?\.ssl\.ciphers(\.(.*?))$/d,
    substr: '.ssl.ciphers.',
  },
  // tcp.(<stat_prefix>.)<stat>
  { tag: 'envoy.tcp_prefix', re: /^tcp\.((.*?)\.)\w+?$/d, substr: '' },
  // ratelimit.(<stat_prefix>.)<stat>
  { tag: 'envoy.ratelimit_prefix', re: /^ratelimit\.((.*?)\.)\w+?$/d, substr: '' },
  // cluster.(<name>.)* : one dot-free segment, as Envoy's rule takes it
  { tag: 'envoy.cluster_name', re: /^cluster\.(([^.]+)\.)/d, substr: '' },
  // cluster.<name>.endpoint.(<address>.)<stat> : per_endpoint_stats, address as in listener names
  {
    tag: 'envoy.endpoint_address',
    re: /^cluster\.[^.]+\.endpoint\.(((?:[_.\d]*|[_[\]a-fA-F\d]*))\.)\w+$/d,
    substr: '.endpoint.',
  },
  // listener.[<address>.]http.(<stat_prefix>.)*
  { tag: 'envoy.http_conn_manager_prefix', re: /^listener(?=\.).*?\.http\.((.*?)\.)/d, substr: '.http.' },
  // http.(<stat_prefix>.)*
  { tag: 'envoy.http_conn_manager_prefix', re: /^http\.((.*?)\.)/d, substr: '' },
  // listener.(<address>.)* : IPv4 `0.0.0.0_10000` or bracketed IPv6 `[__1]_10000` forms
  { tag: 'envoy.listener_address', re: /^listener\.(((?:[_.\d]*|[_[\]a-fA-F\d]*))\.)/d, substr: '' },
  // vhost.(<name>.)*
  { tag: 'envoy.virtual_host', re: /^vhost\.((.*?)\.)/d, substr: '' },
  // http.[<stat_prefix>.]rds.(<route_config>.)<stat>
  { tag: 'envoy.rds_route_config', re: /^http(?=\.).*?\.rds\.((.*?)\.)\w+?$/d, substr: '.rds.' },
  // listener_manager.(worker_<id>.)*
  { tag: 'envoy.worker_id', re: /^listener_manager\.((worker_\d+)\.)/d, substr: 'listener_manager.worker_' },
];

/**
 * Extracts tags from stat names, remembering each answer: names are fixed once a stat exists, so a
 * scrape after the first costs one map lookup per stat.
 */
export class TagExtractor {
  private readonly cache = new Map<string, ExtractedName>();

  extract(statName: string): ExtractedName {
    let r = this.cache.get(statName);
    if (r === undefined) {
      r = extractTags(statName);
      this.cache.set(statName, r);
    }
    return r;
  }
}

export function extractTags(statName: string): ExtractedName {
  let tags: Tag[] | null = null;
  // Removal ranges [start, end) in the original name.
  let ranges: Array<[number, number]> | null = null;
  for (const rule of RULES) {
    if (rule.substr !== '' && !statName.includes(rule.substr)) continue;
    const m = rule.re.exec(statName);
    if (m === null || m[1] === undefined || m[1] === '') continue;
    if (tags?.some((t) => t.name === rule.tag)) continue;
    const value = m[2] ?? m[1];
    // The `d` flag gives the group's exact span; the cost is paid once per name (results are cached).
    const span = m.indices?.[1];
    if (span === undefined) continue;
    const start = span[0];
    tags ??= [];
    ranges ??= [];
    tags.push({ name: rule.tag, value });
    ranges.push([start, start + m[1].length]);
  }
  if (tags === null || ranges === null) return { name: statName, tags: [] };
  ranges.sort((a, b) => a[0] - b[0]);
  let out = '';
  let pos = 0;
  for (const [s, e] of ranges) {
    if (s > pos) out += statName.slice(pos, s);
    if (e > pos) pos = e;
  }
  out += statName.slice(pos);
  return { name: out, tags };
}

/** Prometheus metric and label names allow [a-zA-Z0-9_:]; Envoy maps everything else to `_`. */
export function sanitizePrometheusName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}
