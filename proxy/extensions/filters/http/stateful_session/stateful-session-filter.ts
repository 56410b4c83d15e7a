import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { FilterStatus, HttpFilter, RequestHead, StreamCallbacks } from '../../../../http/filter.js';
import { appendSetCookie } from '../../../../router/hash-policy-context.js';
import type { CookieSessionState } from './cookie-session-state.js';

/**
 * envoy.filters.http.stateful_session: on the request, a valid session cookie names a host and
 * the filter asks the router for it (StreamInfo.upstreamOverrideHost; the cluster honours it
 * while that host is a healthy member, else balances as usual). On the response, when the host
 * that served the request is not the one the cookie named, the cookie is (re)set to it, so the
 * client sticks from then on and moves when its host goes away.
 */
export class StatefulSessionFilter implements HttpFilter {
  /** The host the request's cookie named ('' none); null when the session does not apply. */
  private requested: string | null = null;

  constructor(
    private readonly state: CookieSessionState | null,
    private readonly cb: StreamCallbacks,
  ) {}

  decodeHeaders(head: RequestHead, _endStream: boolean): FilterStatus {
    const state = this.state;
    if (state === null || !state.appliesTo(head.path)) return 'continue';
    const host = state.hostFrom(head.headers);
    this.requested = host;
    if (host !== '') this.cb.info.upstreamOverrideHost = host;
    return 'continue';
  }

  decodeData(_chunk: Buffer, _endStream: boolean): FilterStatus {
    return 'continue';
  }

  decodeTrailers(_trailers: IncomingHttpHeaders): FilterStatus {
    return 'continue';
  }

  encodeHeaders(_status: number, headers: OutgoingHttpHeaders, _endStream: boolean): void {
    const requested = this.requested;
    if (requested === null || this.state === null) return;
    const served = this.cb.info.upstreamHost;
    if (served === '' || served === requested) return;
    appendSetCookie(headers, this.state.setCookieFor(served));
  }

  onDestroy(): void {}
}
