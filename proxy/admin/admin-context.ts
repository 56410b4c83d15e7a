import { PrometheusFormatter } from '../observability/stats-prometheus.js';
import type { AdminSources } from './sources.js';

/** The request/response shapes and shared state of admin handlers. */

export interface AdminRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
}

export interface AdminResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** Runs once the response has been written (e.g. quitquitquit). */
  readonly after?: () => void;
}

export const TEXT = 'text/plain; charset=UTF-8';
export const JSON_TYPE = 'application/json';

export function text(body: string, status = 200): AdminResponse {
  return { status, contentType: TEXT, body };
}

export function json(value: unknown, status = 200): AdminResponse {
  return { status, contentType: JSON_TYPE, body: `${JSON.stringify(value, null, 1)}\n` };
}

/** State the handlers share: the sources, the health-check flag, formatters kept between calls. */
export class AdminContext {
  healthCheckFailed = false;
  readonly prometheus = new PrometheusFormatter();
  constructor(readonly sources: AdminSources) {}
}

export type AdminHandler = (req: AdminRequest, ctx: AdminContext) => AdminResponse;
