import { type Issues, joinPath } from '../../../config/issues.js';
import type { ProtoObject } from '../../../config/proto-object.js';
import type { Host } from '../../../upstream/host.js';
import type { LbPolicyFactory, LoadBalancer } from '../../../upstream/load-balancer.js';
import {
  configRoot,
  readBool,
  readEnum,
  readMessage,
  readRuntimeDouble,
  readUint,
} from '../common/config-fields.js';
import { defaultRng, type Rng } from '../common/rng.js';
import { LeastRequestLoadBalancer } from './least-request-lb.js';

export type SelectionMethod = 'N_CHOICES' | 'FULL_SCAN';

export interface LeastRequestConfig {
  /** Hosts drawn per pick on the equal-weights path (choice_count, default 2, at least 2). */
  readonly choiceCount: number;
  /** Exponent of the active-request scaling on the weighted path (default 1.0, >= 0). */
  readonly activeRequestBias: number;
  readonly selectionMethod: SelectionMethod;
}

export const DEFAULT_CHOICE_COUNT = 2;
export const DEFAULT_ACTIVE_REQUEST_BIAS = 1.0;
const UINT32_MAX = 4294967295;

export interface LeastRequestFactoryOptions {
  readonly rng?: Rng;
}

export class LeastRequestLbFactory implements LbPolicyFactory<LeastRequestConfig> {
  readonly name = 'envoy.load_balancing_policies.least_request';
  readonly lbPolicyEnum = 'LEAST_REQUEST';
  readonly typeUrl =
    'type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest';
  private readonly rng: Rng;

  constructor(options: LeastRequestFactoryOptions = {}) {
    this.rng = options.rng ?? defaultRng();
  }

  /**
   * Cluster.LeastRequestLbConfig or the typed LeastRequest: choice_count, active_request_bias,
   * slow_start_config (accepted, not applied: warned), and for the typed form selection_method,
   * the deprecated enable_full_scan and locality_lb_config (handled by the cluster's host sets).
   */
  parseConfig(config: ProtoObject | undefined, path: string, issues: Issues): LeastRequestConfig {
    const root = configRoot(config, path, issues);
    const choiceCount =
      readUint(root, 'choice_count', path, issues, { min: 2, max: UINT32_MAX }) ?? DEFAULT_CHOICE_COUNT;
    let bias = readRuntimeDouble(root, 'active_request_bias', path, issues);
    if (bias !== undefined && bias < 0) {
      issues.error(joinPath(joinPath(path, 'active_request_bias'), 'default_value'), 'must be >= 0');
      bias = undefined;
    }
    if (readMessage(root, 'slow_start_config', path, issues) !== undefined) {
      issues.warn(joinPath(path, 'slow_start_config'), 'slow start is not supported by remora; ignored');
    }
    readMessage(root, 'locality_lb_config', path, issues);
    let method = readEnum(root, 'selection_method', path, issues, ['N_CHOICES', 'FULL_SCAN'] as const);
    // Envoy scans fully when either the deprecated flag or the selection method asks for it.
    if (readBool(root, 'enable_full_scan', path, issues) === true) method = 'FULL_SCAN';
    return Object.freeze({
      choiceCount,
      activeRequestBias: bias ?? DEFAULT_ACTIVE_REQUEST_BIAS,
      selectionMethod: method ?? 'N_CHOICES',
    });
  }

  create(hosts: readonly Host[], config: LeastRequestConfig, _previous: LoadBalancer | null): LoadBalancer {
    return new LeastRequestLoadBalancer(hosts, config, this.rng);
  }
}

export const leastRequestFactory: LbPolicyFactory<LeastRequestConfig> = new LeastRequestLbFactory();
