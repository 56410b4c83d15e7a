import type { OutgoingHttpHeaders } from 'node:http';
import type { HeaderMutationLevel, HeaderMutations, HeaderToAdd } from './types.js';

/**
 * Applies route header mutations in place, level by level, as Envoy's HeaderParser does: each
 * level first removes its names, then decides every addition against the headers as they are at
 * that moment (so two add_if_absent entries for one name both fire and the later one wins), then
 * performs the overwrites, then the appends. Levels come in `mutations.levels` order.
 */
export function applyHeaderMutations(headers: OutgoingHttpHeaders, mutations: HeaderMutations): void {
  const levels = mutations.levels;
  for (let i = 0; i < levels.length; i++) applyLevel(headers, levels[i]);
}

function applyLevel(headers: OutgoingHttpHeaders, level: HeaderMutationLevel): void {
  const remove = level.remove;
  for (let i = 0; i < remove.length; i++) delete headers[remove[i]];
  const add = level.add;
  if (add.length === 0) return;
  // Conditional actions look at the headers before this level writes anything.
  let decided: boolean[] | null = null;
  for (let i = 0; i < add.length; i++) {
    const a = add[i];
    if (a.action === 'add_if_absent' || a.action === 'overwrite_if_exists') {
      if (decided === null) decided = new Array<boolean>(add.length).fill(true);
      const present = headers[a.name] !== undefined;
      decided[i] = a.action === 'add_if_absent' ? !present : present;
    }
  }
  for (let i = 0; i < add.length; i++) {
    const a = add[i];
    if (a.action === 'append' || (decided !== null && !decided[i])) continue;
    headers[a.name] = a.value;
  }
  for (let i = 0; i < add.length; i++) {
    const a = add[i];
    if (a.action === 'append') appendValue(headers, a);
  }
}

function appendValue(headers: OutgoingHttpHeaders, a: HeaderToAdd): void {
  const cur = headers[a.name];
  if (cur === undefined) headers[a.name] = a.value;
  else if (Array.isArray(cur)) cur.push(a.value);
  else headers[a.name] = [String(cur), a.value];
}

/** Builds the HeaderMutations view from levels in application order. */
export function headerMutations(levels: readonly HeaderMutationLevel[]): HeaderMutations {
  const used = levels.filter((l) => l.add.length > 0 || l.remove.length > 0);
  return {
    add: used.flatMap((l) => l.add),
    remove: used.flatMap((l) => l.remove),
    levels: used,
  };
}

export const NO_MUTATIONS: HeaderMutations = Object.freeze({ add: [], remove: [], levels: [] });
