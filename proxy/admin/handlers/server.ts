import { type AdminContext, type AdminRequest, type AdminResponse, json, text } from '../admin-context.js';

/** GET /ready, /server_info, /memory, /listeners. */

export type ServerState = 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING' | 'INITIALIZING';

/** Envoy's rule: the init manager's state first; once initialized, a failed health check is DRAINING. */
export function serverState(ctx: AdminContext): ServerState {
  switch (ctx.sources.initState()) {
    case 'pre_initializing':
      return 'PRE_INITIALIZING';
    case 'initializing':
      return 'INITIALIZING';
    case 'initialized':
      return ctx.healthCheckFailed ? 'DRAINING' : 'LIVE';
  }
}

/** 200 `LIVE` when serving, else 503 with the state name. */
export function readyHandler(_req: AdminRequest, ctx: AdminContext): AdminResponse {
  const state = serverState(ctx);
  return text(`${state}\n`, state === 'LIVE' ? 200 : 503);
}

/** A google.protobuf.Duration in proto3 JSON, whole seconds as Envoy reports uptime. */
function durationJson(ms: number): string {
  return `${Math.max(0, Math.floor(ms / 1000))}s`;
}

export function serverInfoHandler(_req: AdminRequest, ctx: AdminContext): AdminResponse {
  const s = ctx.sources;
  const uptime = durationJson(Date.now() - s.startTimeMs);
  return json({
    version: s.serverInfo.version,
    state: serverState(ctx),
    uptime_current_epoch: uptime,
    uptime_all_epochs: uptime,
    hot_restart_version: 'disabled',
    command_line_options: s.serverInfo.commandLineOptions,
    node: s.serverInfo.node,
  });
}

/** Envoy's tcmalloc figures mapped onto V8's: uint64 values as strings, as proto3 JSON prints them. */
export function memoryHandler(): AdminResponse {
  const m = process.memoryUsage();
  return json({
    allocated: String(m.heapUsed + m.external),
    heap_size: String(m.heapTotal),
    pageheap_unmapped: '0',
    pageheap_free: String(Math.max(0, m.heapTotal - m.heapUsed)),
    total_thread_cache: '0',
    total_physical_bytes: String(m.rss),
  });
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Text: `name::address:port` per listener; `?format=json`: Envoy's listener_statuses. */
export function listenersHandler(req: AdminRequest, ctx: AdminContext): AdminResponse {
  const ls = ctx.sources.listeners();
  if (req.query.get('format') === 'json') {
    return json({
      listener_statuses: ls.map((l) => ({
        name: l.name,
        local_address: { socket_address: { address: l.address, port_value: l.port } },
      })),
    });
  }
  let s = '';
  for (const l of ls) s += `${l.name}::${hostPort(l.address, l.port)}\n`;
  return text(s);
}
