import { ENVOY_LOG_LEVELS } from '../../observability/logger.js';
import {
  type AdminContext,
  type AdminHandler,
  type AdminRequest,
  type AdminResponse,
  text,
} from '../admin-context.js';

/** POST /healthcheck/fail, /healthcheck/ok, /drain_listeners, /quitquitquit, /logging. */

export function healthcheckHandler(fail: boolean): AdminHandler {
  return (_req, ctx) => {
    ctx.healthCheckFailed = fail;
    ctx.sources.healthCheckChanged?.(fail);
    return text('OK\n');
  };
}

export function drainHandler(req: AdminRequest, ctx: AdminContext): AdminResponse {
  ctx.sources.drainListeners({
    graceful: req.query.has('graceful'),
    inboundOnly: req.query.has('inboundonly'),
  });
  return text('OK\n');
}

export function quitHandler(_req: AdminRequest, ctx: AdminContext): AdminResponse {
  return { ...text('OK\n'), after: () => ctx.sources.quit() };
}

const USAGE =
  'usage: /logging?<name>=<level> (change single level)\n' +
  'usage: /logging?level=<level> (change all levels)\n' +
  `levels: ${ENVOY_LOG_LEVELS.filter((l) => l !== 'warn').join(' ')}\n`;

function listing(ctx: AdminContext): string {
  let s = 'active loggers:\n';
  for (const [name, level] of ctx.sources.logs.levels()) s += `  ${name}: ${level}\n`;
  return s;
}

/**
 * `?level=X` sets every logger; `?<component>=X` sets one. No parameters lists the loggers.
 * A bad level or an unknown component is answered with the usage, as Envoy does (404).
 */
export function loggingHandler(req: AdminRequest, ctx: AdminContext): AdminResponse {
  const logs = ctx.sources.logs;
  const params = [...req.query.entries()];
  if (params.length === 0) return text(listing(ctx));
  if (params.length > 1) return text(`${USAGE}${listing(ctx)}`, 404);
  const [name, level] = params[0];
  const ok = name === 'level' ? logs.setLevel(level) : logs.setComponentLevel(name, level);
  if (!ok) return text(`${USAGE}${listing(ctx)}`, 404);
  return text(listing(ctx));
}
