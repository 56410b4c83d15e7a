import type { Issues } from '../../../../config/issues.js';
import type { ProtoObject } from '../../../../config/proto-object.js';
import type { FilterFactoryContext, HttpFilterFactory, StreamCallbacks } from '../../../../http/filter.js';
import { type FaultConfig, parseFaultConfig } from './config.js';
import { FaultFilter } from './fault-filter.js';

export const FAULT_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

export const faultFilterFactory: HttpFilterFactory<FaultConfig> = {
  name: 'envoy.filters.http.fault',
  typeUrl: FAULT_TYPE_URL,
  terminal: false,
  parseConfig(config: ProtoObject, path: string, issues: Issues, ctx?: FilterFactoryContext): FaultConfig {
    return parseFaultConfig(config, path, issues, ctx);
  },
  create(config: FaultConfig, callbacks: StreamCallbacks): FaultFilter {
    return new FaultFilter(config, callbacks);
  },
};
