import { type AdminContext, type AdminRequest, type AdminResponse, json, text } from '../admin-context.js';
import { RESOURCE_ELEMENT_TYPES } from '../config-dump.js';
import type { JsonObject, JsonValue } from '../sources.js';

/**
 * GET /config_dump: `{"configs":[...]}` from the sources, in the order given. `?resource=<field>`
 * (e.g. `static_clusters`, `dynamic_listeners`) returns the elements of that repeated field across
 * all configs, each with its own `@type`, as Envoy does. `?mask` and `?name_regex` are not
 * supported (400) rather than silently ignored.
 */
export function configDumpHandler(req: AdminRequest, ctx: AdminContext): AdminResponse {
  for (const p of ['mask', 'name_regex']) {
    if (req.query.has(p)) return text(`/config_dump?${p} is not supported by remora\n`, 400);
  }
  const configs = ctx.sources.configDump();
  const resource = req.query.get('resource');
  if (resource === null || resource === '') return json({ configs });
  const elementType = RESOURCE_ELEMENT_TYPES[resource];
  if (elementType === undefined) return text(`${resource} not found in config dump\n`, 404);
  const out: JsonObject[] = [];
  for (const c of configs) {
    const items: JsonValue | undefined = c[resource];
    if (!Array.isArray(items)) continue;
    for (const item of items) {
      if (typeof item === 'object' && item !== null && !Array.isArray(item))
        out.push({ '@type': elementType, ...item });
    }
  }
  return json({ configs: out });
}
