/**
 * Envoy's response flags: why a request ended the way it did. They appear in access logs
 * (%RESPONSE_FLAGS%, comma-separated short names) and drive `x-envoy-*` response details.
 * A bit set so that a stream can carry several at once at the cost of one number.
 */
export const ResponseFlag = {
  FailedLocalHealthCheck: 1 << 0, // LH
  NoHealthyUpstream: 1 << 1, // UH
  UpstreamRequestTimeout: 1 << 2, // UT
  LocalReset: 1 << 3, // LR
  UpstreamRemoteReset: 1 << 4, // UR
  UpstreamConnectionFailure: 1 << 5, // UF
  UpstreamConnectionTermination: 1 << 6, // UC
  UpstreamOverflow: 1 << 7, // UO
  NoRouteFound: 1 << 8, // NR
  DelayInjected: 1 << 9, // DI
  FaultInjected: 1 << 10, // FI
  RateLimited: 1 << 11, // RL
  UnauthorizedExternalService: 1 << 12, // UAEX
  RateLimitServiceError: 1 << 13, // RLSE
  DownstreamConnectionTermination: 1 << 14, // DC
  UpstreamRetryLimitExceeded: 1 << 15, // URX
  StreamIdleTimeout: 1 << 16, // SI
  InvalidEnvoyRequestHeaders: 1 << 17, // IH
  DownstreamProtocolError: 1 << 18, // DPE
  UpstreamMaxStreamDurationReached: 1 << 19, // UMSDR
  NoClusterFound: 1 << 20, // NC
  OverloadManager: 1 << 21, // OM
  DnsResolutionFailed: 1 << 22, // DF
  DropOverload: 1 << 23, // DO
  DurationTimeout: 1 << 24, // DT
  UpstreamProtocolError: 1 << 25, // UPE
  NoFilterConfigFound: 1 << 26, // NFCF
} as const;

export type ResponseFlagBit = (typeof ResponseFlag)[keyof typeof ResponseFlag];

/** Short names in Envoy's order of declaration, as %RESPONSE_FLAGS% prints them. */
const SHORT_NAMES: ReadonlyArray<readonly [number, string]> = [
  [ResponseFlag.FailedLocalHealthCheck, 'LH'],
  [ResponseFlag.NoHealthyUpstream, 'UH'],
  [ResponseFlag.UpstreamRequestTimeout, 'UT'],
  [ResponseFlag.LocalReset, 'LR'],
  [ResponseFlag.UpstreamRemoteReset, 'UR'],
  [ResponseFlag.UpstreamConnectionFailure, 'UF'],
  [ResponseFlag.UpstreamConnectionTermination, 'UC'],
  [ResponseFlag.UpstreamOverflow, 'UO'],
  [ResponseFlag.NoRouteFound, 'NR'],
  [ResponseFlag.DelayInjected, 'DI'],
  [ResponseFlag.FaultInjected, 'FI'],
  [ResponseFlag.RateLimited, 'RL'],
  [ResponseFlag.UnauthorizedExternalService, 'UAEX'],
  [ResponseFlag.RateLimitServiceError, 'RLSE'],
  [ResponseFlag.DownstreamConnectionTermination, 'DC'],
  [ResponseFlag.UpstreamRetryLimitExceeded, 'URX'],
  [ResponseFlag.StreamIdleTimeout, 'SI'],
  [ResponseFlag.InvalidEnvoyRequestHeaders, 'IH'],
  [ResponseFlag.DownstreamProtocolError, 'DPE'],
  [ResponseFlag.UpstreamMaxStreamDurationReached, 'UMSDR'],
  [ResponseFlag.NoClusterFound, 'NC'],
  [ResponseFlag.OverloadManager, 'OM'],
  [ResponseFlag.DnsResolutionFailed, 'DF'],
  [ResponseFlag.DropOverload, 'DO'],
  [ResponseFlag.DurationTimeout, 'DT'],
  [ResponseFlag.UpstreamProtocolError, 'UPE'],
  [ResponseFlag.NoFilterConfigFound, 'NFCF'],
];

/** `-` when no flag is set, as Envoy prints it. */
export function formatResponseFlags(flags: number): string {
  if (flags === 0) return '-';
  let out = '';
  for (const [bit, name] of SHORT_NAMES) {
    if ((flags & bit) !== 0) out = out === '' ? name : `${out},${name}`;
  }
  return out;
}
