/**
 * Counters the client keeps, as plain objects the proxy maps onto Envoy's stat names:
 * `control_plane.connected_state`, and per subscription `<prefix>.update_attempt`, `update_success`,
 * `update_rejected`, `update_failure`, `init_fetch_timeout`, `version_text`, `update_time`.
 */
export interface XdsTypeStats {
  /** Responses received for the type (accepted or rejected). */
  update_attempt: number;
  /** Responses accepted (ACKed). */
  update_success: number;
  /** Responses rejected (NACKed) for decode or validation errors. */
  update_rejected: number;
  /** Stream failures while the type was subscribed (Envoy counts these as update_failure). */
  update_failure: number;
  /** Subscribed names (or wildcard subscriptions) whose initial_fetch_timeout expired. */
  init_fetch_timeout: number;
  /** The last accepted version: version_info (SotW) or system_version_info (delta). */
  version_text: string;
  /** When the last response was accepted, ms since the epoch; 0 = never. */
  update_time: number;
  /** The errors of the last rejected response ('' when the last response was accepted). */
  last_error: string;
}

export function newTypeStats(): XdsTypeStats {
  return {
    update_attempt: 0,
    update_success: 0,
    update_rejected: 0,
    update_failure: 0,
    init_fetch_timeout: 0,
    version_text: '',
    update_time: 0,
    last_error: '',
  };
}

export interface ControlPlaneStats {
  /** 1 while the ADS stream is up (a response arrived on it and it has not ended), else 0. */
  connected_state: 0 | 1;
  /** Streams started, including the first. */
  stream_attempts: number;
  /** Streams that ended (any status) while the client was open. */
  stream_failures: number;
  /** Responses received, all types. */
  responses_received: number;
  /** The management server's self-description (ControlPlane.identifier of the last response that had one). */
  identifier: string;
}

export function newControlPlaneStats(): ControlPlaneStats {
  return {
    connected_state: 0,
    stream_attempts: 0,
    stream_failures: 0,
    responses_received: 0,
    identifier: '',
  };
}
