import { ResponseFlag } from '../../../../http/response-flags.js';
import type { LocalFailure } from '../../../../upstream/host.js';
import type { UpstreamFailure } from '../../../../upstream/upstream-stream.js';

/**
 * What an upstream failure becomes: the local reply's status, the response flag and the
 * `upstream_reset_before_response_started{<reason>}` detail (Envoy's), and how it counts for
 * outlier detection.
 */
export const FAILURE: Record<UpstreamFailure, { flag: number; status: number; reason: string }> = {
  connect_failure: {
    flag: ResponseFlag.UpstreamConnectionFailure,
    status: 503,
    reason: 'connection_failure',
  },
  connect_timeout: {
    flag: ResponseFlag.UpstreamConnectionFailure,
    status: 503,
    reason: 'connection_timeout',
  },
  remote_reset: { flag: ResponseFlag.UpstreamRemoteReset, status: 503, reason: 'remote_reset' },
  connection_termination: {
    flag: ResponseFlag.UpstreamConnectionTermination,
    status: 503,
    reason: 'connection_termination',
  },
  overflow: { flag: ResponseFlag.UpstreamOverflow, status: 503, reason: 'overflow' },
  protocol_error: { flag: ResponseFlag.UpstreamProtocolError, status: 502, reason: 'protocol_error' },
};

/** How each upstream failure counts for outlier detection (Envoy: connect failures vs resets). */
export const OUTLIER_FAILURE: Record<UpstreamFailure, LocalFailure> = {
  connect_failure: 'connect_failed',
  connect_timeout: 'connect_failed',
  remote_reset: 'reset',
  connection_termination: 'reset',
  overflow: 'reset',
  protocol_error: 'reset',
};
