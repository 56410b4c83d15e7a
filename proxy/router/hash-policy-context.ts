import type { OutgoingHttpHeaders } from 'node:http';
import type { StreamInfo } from '../http/stream-info.js';
import type { Host } from '../upstream/host.js';
import type { LbContext } from '../upstream/load-balancer.js';
import { HashOutcome, type HashPolicy, type HashRequest } from './hash-policy.js';

/**
 * The LbContext the router hands to cluster.chooseHost for one request: the route's hash (if it
 * has hash policies), the host a filter pinned (stateful session) and the downstream address.
 * One object per request that needs it; requests with neither pass null and allocate nothing.
 */
export class RequestLbContext implements LbContext {
  hashKey: number | undefined = undefined;
  readonly previousHosts: readonly Host[] | null = null;
  readonly downstreamAddress: string;
  readonly overrideHost: string | null;
  /** Set-Cookie value a cookie hash policy generated; the router adds it to the response. */
  setCookie: string | null = null;

  constructor(downstreamAddress: string, overrideHost: string | null) {
    this.downstreamAddress = downstreamAddress;
    this.overrideHost = overrideHost;
  }
}

// Reused: evaluate is synchronous and its result is copied out at once.
const outcome = new HashOutcome();

/** The request's LbContext, or null when the route hashes nothing and no filter pinned a host. */
export function requestLbContext(
  policy: HashPolicy | null,
  req: HashRequest,
  info: StreamInfo,
): RequestLbContext | null {
  const override = info.upstreamOverrideHost;
  if (policy === null && override === '') return null;
  const ctx = new RequestLbContext(info.downstreamRemoteAddress, override === '' ? null : override);
  if (policy !== null) {
    policy.evaluate(req, info.downstreamRemoteAddress, info.downstreamLocalAddress, outcome);
    ctx.hashKey = outcome.key;
    ctx.setCookie = outcome.setCookie;
  }
  return ctx;
}

/** Adds a Set-Cookie line to response headers, keeping any the upstream sent. */
export function appendSetCookie(headers: OutgoingHttpHeaders, value: string): void {
  const cur = headers['set-cookie'];
  if (cur === undefined) headers['set-cookie'] = [value];
  else if (Array.isArray(cur)) cur.push(value);
  else headers['set-cookie'] = [String(cur), value];
}
