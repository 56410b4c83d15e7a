import { isIP } from 'node:net';
import {
  isObject,
  readArray,
  readEnum,
  readObject,
  readString,
  readUint,
  rejectUnknown,
} from '../config/fields.js';
import { type Issues, joinPath } from '../config/issues.js';
import type { ProtoObject } from '../config/proto-object.js';
import type {
  EndpointHealthStatus,
  EndpointModel,
  LoadAssignmentModel,
  LocalityEndpointsModel,
  SocketAddressModel,
} from '../model/cluster.js';
import { type Locality, NO_LOCALITY } from '../upstream/host.js';

/**
 * envoy.config.endpoint.v3.ClusterLoadAssignment → LoadAssignmentModel. Shared by the Cluster
 * translator (load_assignment) and, later, EDS. `addressKind` says what an endpoint address may be:
 * an IP literal (STATIC, EDS) or a DNS name (STRICT_DNS, LOGICAL_DNS).
 */
const ASSIGNMENT_FIELDS = new Set(['cluster_name', 'endpoints', 'policy']);
const POLICY_FIELDS = new Set(['overprovisioning_factor', 'drop_overloads']);
const LOCALITY_LB_FIELDS = new Set(['locality', 'lb_endpoints', 'load_balancing_weight', 'priority']);
const LOCALITY_FIELDS = new Set(['region', 'zone', 'sub_zone']);
const LB_ENDPOINT_FIELDS = new Set(['endpoint', 'health_status', 'load_balancing_weight']);
const ENDPOINT_FIELDS = new Set(['address', 'hostname', 'health_check_config']);
const ADDRESS_FIELDS = new Set(['socket_address']);
const SOCKET_ADDRESS_FIELDS = new Set(['address', 'port_value', 'protocol']);

const HEALTH_STATUSES: readonly EndpointHealthStatus[] = [
  'UNKNOWN',
  'HEALTHY',
  'UNHEALTHY',
  'DRAINING',
  'TIMEOUT',
  'DEGRADED',
];

export const EMPTY_LOAD_ASSIGNMENT: LoadAssignmentModel = Object.freeze({
  clusterName: '',
  localities: [],
  overprovisioningFactor: 140,
});

export function translateLoadAssignment(
  la: ProtoObject,
  path: string,
  issues: Issues,
  addressKind: 'ip' | 'dns',
): LoadAssignmentModel {
  rejectUnknown(la, ASSIGNMENT_FIELDS, path, issues);
  const clusterName = readString(la, 'cluster_name', path, issues);
  let overprovisioningFactor = 140;
  const policy = readObject(la, 'policy', path, issues);
  if (policy) {
    const pp = joinPath(path, 'policy');
    rejectUnknown(policy, POLICY_FIELDS, pp, issues);
    // Not implemented: remora would route requests the control plane asked it to drop.
    if (policy.drop_overloads !== undefined)
      issues.error(
        joinPath(pp, 'drop_overloads'),
        'not supported by remora (requests are never dropped by category); remove it',
      );
    overprovisioningFactor = readUint(policy, 'overprovisioning_factor', pp, issues, 140);
    if (overprovisioningFactor === 0) {
      issues.error(joinPath(pp, 'overprovisioning_factor'), 'must be greater than 0');
      overprovisioningFactor = 140;
    }
  }
  const localities: LocalityEndpointsModel[] = [];
  const list = readArray(la, 'endpoints', path, issues);
  for (let i = 0; i < list.length; i++) {
    const lp = joinPath(joinPath(path, 'endpoints'), i);
    const le = list[i];
    if (!isObject(le)) {
      issues.error(lp, 'must be a message');
      continue;
    }
    localities.push(translateLocalityEndpoints(le, lp, issues, addressKind));
  }
  return { clusterName, localities, overprovisioningFactor };
}

function translateLocalityEndpoints(
  le: ProtoObject,
  path: string,
  issues: Issues,
  addressKind: 'ip' | 'dns',
): LocalityEndpointsModel {
  rejectUnknown(le, LOCALITY_LB_FIELDS, path, issues);
  let locality: Locality = NO_LOCALITY;
  const loc = readObject(le, 'locality', path, issues);
  if (loc) {
    const p = joinPath(path, 'locality');
    rejectUnknown(loc, LOCALITY_FIELDS, p, issues);
    locality = Object.freeze({
      region: readString(loc, 'region', p, issues),
      zone: readString(loc, 'zone', p, issues),
      subZone: readString(loc, 'sub_zone', p, issues),
    });
  }
  const weight = readUint(le, 'load_balancing_weight', path, issues, 0);
  if (le.load_balancing_weight !== undefined && weight === 0) {
    issues.error(joinPath(path, 'load_balancing_weight'), 'must be at least 1');
  }
  const priority = readUint(le, 'priority', path, issues, 0, 128);
  const endpoints: EndpointModel[] = [];
  const list = readArray(le, 'lb_endpoints', path, issues);
  for (let i = 0; i < list.length; i++) {
    const ep = joinPath(joinPath(path, 'lb_endpoints'), i);
    const lbe = list[i];
    if (!isObject(lbe)) {
      issues.error(ep, 'must be a message');
      continue;
    }
    const e = translateLbEndpoint(lbe, ep, issues, addressKind);
    if (e) endpoints.push(e);
  }
  return { locality, weight, priority, endpoints };
}

function translateLbEndpoint(
  lbe: ProtoObject,
  path: string,
  issues: Issues,
  addressKind: 'ip' | 'dns',
): EndpointModel | null {
  rejectUnknown(lbe, LB_ENDPOINT_FIELDS, path, issues);
  const healthStatus = readEnum(lbe, 'health_status', path, issues, HEALTH_STATUSES, 'UNKNOWN');
  const weight = readUint(lbe, 'load_balancing_weight', path, issues, 1);
  if (weight === 0) issues.error(joinPath(path, 'load_balancing_weight'), 'must be at least 1');
  const endpoint = readObject(lbe, 'endpoint', path, issues);
  const ep = joinPath(path, 'endpoint');
  if (!endpoint) {
    issues.error(ep, 'is required');
    return null;
  }
  rejectUnknown(endpoint, ENDPOINT_FIELDS, ep, issues);
  const hostname = readString(endpoint, 'hostname', ep, issues);
  const address = readObject(endpoint, 'address', ep, issues);
  if (!address) {
    issues.error(joinPath(ep, 'address'), 'is required');
    return null;
  }
  const sa = translateSocketAddress(address, joinPath(ep, 'address'), issues, addressKind);
  const healthCheckPort = translateHealthCheckConfig(endpoint, ep, issues);
  if (!sa) return null;
  return {
    address: sa.address,
    port: sa.port,
    hostname,
    healthStatus,
    weight: weight === 0 ? 1 : weight,
    ...(healthCheckPort === 0 ? {} : { healthCheckPort }),
  };
}

/**
 * Endpoint.health_check_config: port_value sends active health checks to another port of the same
 * address (implemented). hostname, address and disable_active_health_check are not: refused.
 */
function translateHealthCheckConfig(endpoint: ProtoObject, path: string, issues: Issues): number {
  const hc = readObject(endpoint, 'health_check_config', path, issues);
  if (!hc) return 0;
  const hp = joinPath(path, 'health_check_config');
  for (const k of ['hostname', 'address', 'disable_active_health_check'])
    if (hc[k] !== undefined) issues.error(joinPath(hp, k), 'not supported by remora');
  return readUint(hc, 'port_value', hp, issues, 0, 65535);
}

/** core.v3.Address with a socket_address (pipes and internal addresses are not supported). */
/**
 * True for an IPv4 address in the form net.isIP accepts (four decimal octets 0-255, no leading
 * zeros). net.isIP runs a large regular expression; an EDS update of 100,000 endpoints spent most
 * of its address validation there. Anything else (IPv6, or not an address) goes to net.isIP.
 */
function isDottedQuad(s: string): boolean {
  let octets = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // a '.' after the end closes the last octet
    if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return false; // leading zero
      value = value * 10 + (c - 48);
      digits++;
      if (value > 255) return false;
    } else if (c === 46) {
      if (digits === 0) return false;
      octets++;
      value = 0;
      digits = 0;
    } else return false;
  }
  return octets === 4;
}

export function translateSocketAddress(
  address: ProtoObject,
  path: string,
  issues: Issues,
  addressKind: 'ip' | 'dns',
): SocketAddressModel | null {
  rejectUnknown(address, ADDRESS_FIELDS, path, issues);
  const sa = readObject(address, 'socket_address', path, issues);
  const sp = joinPath(path, 'socket_address');
  if (!sa) {
    issues.error(sp, 'is required');
    return null;
  }
  rejectUnknown(sa, SOCKET_ADDRESS_FIELDS, sp, issues);
  readEnum(sa, 'protocol', sp, issues, ['TCP'], 'TCP');
  const host = readString(sa, 'address', sp, issues);
  const before = issues.errorCount;
  const port = readUint(sa, 'port_value', sp, issues, 0, 65535);
  if (host === '') issues.error(joinPath(sp, 'address'), 'is required');
  else if (addressKind === 'ip' && !isDottedQuad(host) && isIP(host) === 0) {
    issues.error(
      joinPath(sp, 'address'),
      `${host} is not an IP address (use a STRICT_DNS or LOGICAL_DNS cluster)`,
    );
  } else if (addressKind === 'dns' && !/^[A-Za-z0-9._:-]+$/.test(host)) {
    issues.error(joinPath(sp, 'address'), `${host} is not a valid host name`);
  }
  if (sa.port_value === undefined || port === 0)
    issues.error(joinPath(sp, 'port_value'), 'must be between 1 and 65535');
  if (issues.errorCount !== before || host === '' || port === 0) return null;
  return { address: host, port };
}
