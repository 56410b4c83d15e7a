import type { FaultConfig } from '../../../../../proxy/extensions/filters/http/fault/config.js';
import { faultFilterFactory } from '../../../../../proxy/extensions/filters/http/fault/factory.js';
import { routerFilterFactory } from '../../../../../proxy/extensions/filters/http/router/factory.js';
import type { HcmConfig } from '../../../../../proxy/model/listener.js';
import { hcmConfig } from '../../../../helpers/proxy.js';
import { testRouteTable } from '../../../../helpers/test-upstream.js';

/** A connection manager routing everything to cluster `svc` through the fault filter, then the router. */
export function faultHcm(cfg: FaultConfig): HcmConfig {
  return hcmConfig(testRouteTable([{ prefix: '/', cluster: 'svc' }]), {
    httpFilters: [
      {
        name: 'envoy.filters.http.fault',
        typeUrl: faultFilterFactory.typeUrl,
        config: cfg,
        factory: faultFilterFactory,
      },
      {
        name: 'envoy.filters.http.router',
        typeUrl: routerFilterFactory.typeUrl,
        config: { suppressEnvoyHeaders: false },
        factory: routerFilterFactory,
      },
    ],
  });
}
