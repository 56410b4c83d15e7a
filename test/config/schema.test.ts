import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  lookupType,
  projectRoot,
  schema,
  TYPE_URL_PREFIX,
  typeForUrl,
  typeUrlFor,
} from '../../proxy/config/schema.js';

describe('schema', () => {
  it('finds the project root holding proto/ from the source tree', () => {
    expect(
      existsSync(join(projectRoot(), 'proto', 'envoy', 'config', 'bootstrap', 'v3', 'bootstrap.proto')),
    ).toBe(true);
  });

  it('loads once and looks message types up by full name, with or without the leading dot', () => {
    expect(schema()).toBe(schema());
    const t = lookupType('envoy.config.cluster.v3.Cluster');
    expect(lookupType('.envoy.config.cluster.v3.Cluster')).toBe(t);
    expect(t.fields.connect_timeout.id).toBe(4);
    expect(lookupType('envoy.config.cluster.v3.Cluster.RingHashLbConfig').fields.maximum_ring_size.id).toBe(
      4,
    );
    expect(() => lookupType('envoy.config.cluster.v3.Clusterr')).toThrow(
      /no message type envoy\.config\.cluster\.v3\.Clusterr/,
    );
  });

  it('maps Any type URLs to types whatever the prefix, and nothing else', () => {
    const hcm = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
    expect(typeForUrl(`${TYPE_URL_PREFIX}${hcm}`)).toBe(lookupType(hcm));
    expect(typeForUrl(`example.com/x/${hcm}`)).toBe(lookupType(hcm));
    expect(typeForUrl(hcm)).toBeNull();
    expect(typeForUrl('type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC')).toBeNull();
    expect(typeUrlFor(`.${hcm}`)).toBe(`type.googleapis.com/${hcm}`);
  });

  it('knows every resource and extension type remora decodes', () => {
    const urls = new Set(schema().knownTypeUrls());
    for (const name of [
      'envoy.config.listener.v3.Listener',
      'envoy.config.route.v3.RouteConfiguration',
      'envoy.config.cluster.v3.Cluster',
      'envoy.config.endpoint.v3.ClusterLoadAssignment',
      'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
      'envoy.extensions.filters.http.router.v3.Router',
      'envoy.extensions.access_loggers.file.v3.FileAccessLog',
      'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
      'envoy.extensions.access_loggers.stream.v3.StderrAccessLog',
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
      'udpa.type.v1.TypedStruct',
      'xds.type.v3.TypedStruct',
    ]) {
      expect(urls.has(typeUrlFor(name)), name).toBe(true);
    }
  });
});
