/**
 * The dynamic bootstrap the whole-proxy xDS tests start from: the ADS cluster (HTTP/2, STATIC,
 * one loopback endpoint) is the only static cluster, LDS and CDS come over the ADS stream.
 * One writer so every test spells the same shape; tests that probe refusals edit the text.
 */
export interface AdsBootstrapOptions {
  xdsPort: number;
  /** ads_config.api_type; GRPC unless given. */
  apiType?: string;
  /** Adds an admin listener on this port (0 = any free port); none when absent. */
  adminPort?: number;
  /** The node line's value; `{ id: sidecar-1, cluster: web }` unless given. */
  node?: string;
  setNodeOnFirstMessageOnly?: boolean;
  ldsInitialFetchTimeout?: string;
  cdsInitialFetchTimeout?: string;
  /** Appended verbatim after dynamic_resources (top-level YAML keys). */
  extra?: string;
}

function configSource(timeout: string | undefined): string {
  const t = timeout === undefined ? '' : `, initial_fetch_timeout: ${timeout}`;
  return `{ ads: {}, resource_api_version: V3${t} }`;
}

export function adsBootstrap(o: AdsBootstrapOptions): string {
  const admin =
    o.adminPort === undefined
      ? ''
      : `admin:\n  address: { socket_address: { address: 127.0.0.1, port_value: ${o.adminPort} } }\n`;
  const nodeOnce = o.setNodeOnFirstMessageOnly === true ? '    set_node_on_first_message_only: true\n' : '';
  return `
node: ${o.node ?? '{ id: sidecar-1, cluster: web }'}
${admin}static_resources:
  clusters:
    - name: xds
      type: STATIC
      connect_timeout: 1s
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config: { http2_protocol_options: {} }
      load_assignment:
        cluster_name: xds
        endpoints:
          - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${o.xdsPort} } } }
dynamic_resources:
  ads_config:
    api_type: ${o.apiType ?? 'GRPC'}
    transport_api_version: V3
    grpc_services: [{ envoy_grpc: { cluster_name: xds } }]
${nodeOnce}  lds_config: ${configSource(o.ldsInitialFetchTimeout)}
  cds_config: ${configSource(o.cdsInitialFetchTimeout)}
${o.extra ?? ''}`;
}
