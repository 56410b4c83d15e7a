import {
  isObject,
  readArray,
  readBool,
  readDurationMs,
  readEnum,
  readObject,
  readString,
  readUint,
  rejectUnknown,
} from '../config/fields.js';
import { type Issues, joinPath } from '../config/issues.js';
import { type ProtoObject, typeNameOf, typeUrlOf } from '../config/proto-object.js';
import { withCommonHashingConfig } from '../extensions/load-balancing-policies/common/consistent-hashing-config.js';
import type {
  ClusterModel,
  DiscoveryType,
  DnsLookupFamily,
  SocketAddressModel,
  ThresholdsModel,
} from '../model/cluster.js';
import { THRESHOLD_EXTRA_FIELDS, translateThresholdExtras } from '../upstream/circuit-breakers.js';
import { CLUSTER_HEALTH_FIELDS, translateClusterHealth } from '../upstream/health/translate.js';
import type { LbPolicyFactory } from '../upstream/load-balancer.js';
import { translateCommonLbConfig, typedLocalityWeighted, withTypedLocality } from './cluster-common-lb.js';
import {
  EMPTY_LOAD_ASSIGNMENT,
  translateLoadAssignment,
  translateSocketAddress,
} from './cluster-load-assignment.js';
import { translateProtocolOptions } from './cluster-protocol-options.js';

/**
 * envoy.config.cluster.v3.Cluster → ClusterModel. Every problem goes to `issues` with its field
 * path; the result is null when there was any error (the bootstrap exits, xDS NACKs).
 */
export interface ClusterTranslateDeps {
  /** Load-balancing policies by Cluster.lb_policy enum name (ROUND_ROBIN, LEAST_REQUEST, ...). */
  readonly lbPolicies: ReadonlyMap<string, LbPolicyFactory>;
}

const CLUSTER_FIELDS = new Set([
  'name',
  'type',
  'connect_timeout',
  'lb_policy',
  'round_robin_lb_config',
  'least_request_lb_config',
  'ring_hash_lb_config',
  'maglev_lb_config',
  'load_balancing_policy',
  'load_assignment',
  'eds_cluster_config',
  'dns_refresh_rate',
  'dns_lookup_family',
  'dns_resolvers',
  'respect_dns_ttl',
  'http2_protocol_options',
  'http_protocol_options',
  'common_http_protocol_options',
  'typed_extension_protocol_options',
  'per_connection_buffer_limit_bytes',
  'circuit_breakers',
  'common_lb_config',
  // Where to report this cluster's load. Accepted and not followed, as in Envoy (the field is
  // not-implemented there): the proxy reports every cluster to cluster_manager.load_stats_config,
  // which is the server that sends `lrs_server: {self: {}}` when it is the control plane.
  'lrs_server',
  'track_cluster_stats',
  // Informational, as in Envoy (no filter of remora reads cluster metadata yet); it stays in the
  // stored resource, so /config_dump shows it.
  'metadata',
  // remora removes a host as soon as an update drops it, which is what true asks for. proto3 cannot
  // tell an explicit false from unset, so Envoy's default (keep a removed host while it still
  // passes health checks) is a documented difference, not something this flag could select.
  'ignore_health_on_host_removal',
]);
/** Fields another part of remora will implement: rejected with a clearer message meanwhile. */
const NOT_YET = ['transport_socket', 'transport_socket_matches'];

/** The *_lb_config field that configures each lb_policy enum value. */
const LB_CONFIG_FIELD: Readonly<Record<string, string>> = {
  ROUND_ROBIN: 'round_robin_lb_config',
  LEAST_REQUEST: 'least_request_lb_config',
  RING_HASH: 'ring_hash_lb_config',
  MAGLEV: 'maglev_lb_config',
};

const DISCOVERY_TYPES: readonly DiscoveryType[] = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS'];
const DNS_FAMILIES: readonly DnsLookupFamily[] = ['AUTO', 'V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL'];
const EDS_FIELDS = new Set(['eds_config', 'service_name']);
const CB_FIELDS = new Set(['thresholds']);
const THRESHOLD_FIELDS = new Set([
  'priority',
  'max_connections',
  'max_pending_requests',
  'max_requests',
  'max_retries',
]);

export function translateCluster(
  c: ProtoObject,
  path: string,
  issues: Issues,
  deps: ClusterTranslateDeps,
): ClusterModel | null {
  const before = issues.errorCount;
  for (const f of NOT_YET) {
    if (c[f] !== undefined) issues.error(joinPath(path, f), 'not supported yet');
  }
  const known = new Set([...CLUSTER_FIELDS, ...NOT_YET, ...CLUSTER_HEALTH_FIELDS]);
  rejectUnknown(c, known, path, issues);

  const name = readString(c, 'name', path, issues);
  if (name === '') issues.error(joinPath(path, 'name'), 'is required');
  const type = readEnum(c, 'type', path, issues, DISCOVERY_TYPES, 'STATIC');
  const connectTimeoutMs = readDurationMs(c, 'connect_timeout', path, issues, 5000);
  if (c.connect_timeout !== undefined && connectTimeoutMs <= 0) {
    issues.error(joinPath(path, 'connect_timeout'), 'must be positive');
  }

  const lb = translateLbPolicy(c, path, issues, deps);

  // Endpoints.
  let loadAssignment = EMPTY_LOAD_ASSIGNMENT;
  const la = readObject(c, 'load_assignment', path, issues);
  let edsServiceName = '';
  if (type === 'EDS') {
    if (la)
      issues.error(
        joinPath(path, 'load_assignment'),
        'must not be set on an EDS cluster (endpoints come from EDS)',
      );
    const eds = readObject(c, 'eds_cluster_config', path, issues);
    const ep = joinPath(path, 'eds_cluster_config');
    if (!eds) issues.error(ep, 'is required when type is EDS');
    else {
      rejectUnknown(eds, EDS_FIELDS, ep, issues);
      readObject(eds, 'eds_config', ep, issues);
      edsServiceName = readString(eds, 'service_name', ep, issues);
    }
    if (edsServiceName === '') edsServiceName = name;
  } else {
    if (c.eds_cluster_config !== undefined) {
      issues.error(joinPath(path, 'eds_cluster_config'), 'only applies when type is EDS');
    }
    if (la) {
      const kind = type === 'STATIC' ? 'ip' : 'dns';
      loadAssignment = translateLoadAssignment(la, joinPath(path, 'load_assignment'), issues, kind);
    }
    if (type === 'LOGICAL_DNS') {
      let n = 0;
      for (const l of loadAssignment.localities) n += l.endpoints.length;
      if (n !== 1)
        issues.error(
          joinPath(path, 'load_assignment'),
          'LOGICAL_DNS clusters must have exactly one endpoint',
        );
    }
  }

  // DNS.
  const dnsRefreshRateMs = readDurationMs(c, 'dns_refresh_rate', path, issues, 5000);
  if (c.dns_refresh_rate !== undefined && dnsRefreshRateMs < 1) {
    issues.error(joinPath(path, 'dns_refresh_rate'), 'must be at least 1ms');
  }
  const dnsLookupFamily = readEnum(c, 'dns_lookup_family', path, issues, DNS_FAMILIES, 'AUTO');
  const dnsResolvers: SocketAddressModel[] = [];
  const resolvers = readArray(c, 'dns_resolvers', path, issues);
  for (let i = 0; i < resolvers.length; i++) {
    const rp = joinPath(joinPath(path, 'dns_resolvers'), i);
    const r = resolvers[i];
    if (!isObject(r)) issues.error(rp, 'must be a message');
    else {
      const sa = translateSocketAddress(r, rp, issues, 'ip');
      if (sa) dnsResolvers.push(sa);
    }
  }
  const respectDnsTtl = readBool(c, 'respect_dns_ttl', path, issues);

  const proto = translateProtocolOptions(c, path, issues);
  const perConnectionBufferLimitBytes = readUint(
    c,
    'per_connection_buffer_limit_bytes',
    path,
    issues,
    1024 * 1024,
  );
  const circuitBreakers = translateCircuitBreakers(c, path, issues);
  const commonLb = withTypedLocality(translateCommonLbConfig(c, path, issues), lb?.localityWeighted === true);
  const health = translateClusterHealth(c, path, issues);
  const perEndpointStats = translateTrackClusterStats(c, path, issues);

  if (issues.errorCount !== before || lb === null) return null;
  return {
    name,
    type,
    connectTimeoutMs,
    lbPolicy: lb.policy,
    lbFactory: lb.factory,
    lbConfig: lb.config,
    loadAssignment,
    edsServiceName,
    dnsRefreshRateMs,
    dnsLookupFamily,
    dnsResolvers,
    respectDnsTtl,
    protocol: proto.http2 ? 'http2' : 'http1',
    http2: proto.http2,
    idleTimeoutMs: proto.idleTimeoutMs,
    maxRequestsPerConnection: proto.maxRequestsPerConnection,
    perConnectionBufferLimitBytes,
    circuitBreakers,
    ...(perEndpointStats ? { perEndpointStats } : {}),
    ...(commonLb === undefined ? {} : { commonLb }),
    ...health,
  };
}

interface LbChoice {
  policy: string;
  factory: LbPolicyFactory;
  config: unknown;
  /** A typed policy asked for locality weighting (its locality_[lb_]config). */
  localityWeighted?: boolean;
}

function translateLbPolicy(
  c: ProtoObject,
  path: string,
  issues: Issues,
  deps: ClusterTranslateDeps,
): LbChoice | null {
  const typed = readObject(c, 'load_balancing_policy', path, issues);
  if (typed) return translateTypedLbPolicy(typed, joinPath(path, 'load_balancing_policy'), issues, deps);
  const lbPath = joinPath(path, 'lb_policy');
  const v = c.lb_policy;
  const policy = v === undefined || v === null ? 'ROUND_ROBIN' : v;
  if (typeof policy !== 'string') {
    issues.error(lbPath, 'must be an enum value name');
    return null;
  }
  for (const [enumName, field] of Object.entries(LB_CONFIG_FIELD)) {
    if (enumName !== policy && c[field] !== undefined) {
      issues.error(joinPath(path, field), `only applies when lb_policy is ${enumName}`);
    }
  }
  const factory = deps.lbPolicies.get(policy);
  if (!factory) {
    issues.error(lbPath, `lb_policy ${policy} is not supported`);
    return null;
  }
  const field = LB_CONFIG_FIELD[policy];
  const own = field === undefined ? undefined : readObject(c, field, path, issues);
  // RING_HASH / MAGLEV take common_lb_config.consistent_hashing_lb_config as part of their config.
  const common =
    policy === 'RING_HASH' || policy === 'MAGLEV'
      ? readObject(c, 'common_lb_config', path, issues)
      : undefined;
  const cfg = withCommonHashingConfig(own, common);
  const config = factory.parseConfig(cfg, field === undefined ? lbPath : joinPath(path, field), issues);
  return { policy, factory, config };
}

/** load_balancing_policy.policies[]: the first policy remora knows is used, as Envoy does. */
function translateTypedLbPolicy(
  typed: ProtoObject,
  path: string,
  issues: Issues,
  deps: ClusterTranslateDeps,
): LbChoice | null {
  rejectUnknown(typed, new Set(['policies']), path, issues);
  const list = readArray(typed, 'policies', path, issues);
  const seen: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const pp = joinPath(joinPath(path, 'policies'), i);
    const p = list[i];
    const ext = isObject(p) ? readObject(p, 'typed_extension_config', pp, issues) : undefined;
    const cfg = ext
      ? readObject(ext, 'typed_config', joinPath(pp, 'typed_extension_config'), issues)
      : undefined;
    if (!cfg) {
      issues.error(joinPath(pp, 'typed_extension_config.typed_config'), 'is required');
      continue;
    }
    const url = typeUrlOf(cfg);
    seen.push(typeNameOf(url));
    for (const factory of deps.lbPolicies.values()) {
      if (factory.typeUrl !== null && typeNameOf(factory.typeUrl) === typeNameOf(url)) {
        const { '@type': _t, ...body } = cfg;
        const config = factory.parseConfig(body, joinPath(pp, 'typed_extension_config.typed_config'), issues);
        return { policy: factory.name, factory, config, localityWeighted: typedLocalityWeighted(body) };
      }
    }
  }
  issues.error(
    joinPath(path, 'policies'),
    `none of the policies is supported (${seen.join(', ') || 'empty list'})`,
  );
  return null;
}

function translateCircuitBreakers(c: ProtoObject, path: string, issues: Issues): ThresholdsModel[] {
  const cb = readObject(c, 'circuit_breakers', path, issues);
  if (!cb) return [];
  const cp = joinPath(path, 'circuit_breakers');
  rejectUnknown(cb, CB_FIELDS, cp, issues);
  const out: ThresholdsModel[] = [];
  const list = readArray(cb, 'thresholds', cp, issues);
  for (let i = 0; i < list.length; i++) {
    const tp = joinPath(joinPath(cp, 'thresholds'), i);
    const t = list[i];
    if (!isObject(t)) {
      issues.error(tp, 'must be a message');
      continue;
    }
    rejectUnknown(t, new Set([...THRESHOLD_FIELDS, ...THRESHOLD_EXTRA_FIELDS]), tp, issues);
    const priority = readEnum(t, 'priority', tp, issues, ['DEFAULT', 'HIGH'] as const, 'DEFAULT');
    if (out.some((o) => o.priority === priority))
      issues.error(joinPath(tp, 'priority'), `${priority} given twice`);
    out.push({
      priority,
      maxConnections: readUint(t, 'max_connections', tp, issues, 1024),
      maxPendingRequests: readUint(t, 'max_pending_requests', tp, issues, 1024),
      maxRequests: readUint(t, 'max_requests', tp, issues, 1024),
      maxRetries: readUint(t, 'max_retries', tp, issues, 3),
      ...translateThresholdExtras(t, tp, issues),
    });
  }
  return out;
}

/**
 * track_cluster_stats: per_endpoint_stats is implemented (cluster.<name>.endpoint.<address>.*);
 * the timeout-budget and request/response-size histograms are not, so asking for them is an error
 * rather than a silent no-op.
 */
function translateTrackClusterStats(c: ProtoObject, path: string, issues: Issues): boolean {
  const t = readObject(c, 'track_cluster_stats', path, issues);
  if (t === undefined) return false;
  const tp = joinPath(path, 'track_cluster_stats');
  for (const f of ['timeout_budgets', 'request_response_sizes'])
    if (t[f] === true) issues.error(joinPath(tp, f), 'not supported by remora');
  return readBool(t, 'per_endpoint_stats', tp, issues, false);
}
