import type { OutgoingHttpHeaders } from 'node:http';
import type { HeaderMutations } from '../../../../router/types.js';

/**
 * Applies compiled header mutations in place (removals first, then additions, as Envoy does).
 * Mutations were validated and lower-cased when the route table was compiled.
 */
export function applyHeaderMutations(headers: OutgoingHttpHeaders, m: HeaderMutations): void {
  const remove = m.remove;
  for (let i = 0; i < remove.length; i++) delete headers[remove[i]];
  const add = m.add;
  for (let i = 0; i < add.length; i++) {
    const h = add[i];
    const cur = headers[h.name];
    switch (h.action) {
      case 'append':
        if (cur === undefined) headers[h.name] = h.value;
        else if (Array.isArray(cur)) headers[h.name] = [...cur, h.value];
        else headers[h.name] = [String(cur), h.value];
        break;
      case 'add_if_absent':
        if (cur === undefined) headers[h.name] = h.value;
        break;
      case 'overwrite':
        headers[h.name] = h.value;
        break;
      case 'overwrite_if_exists':
        if (cur !== undefined) headers[h.name] = h.value;
        break;
    }
  }
}
