import { type Issues, joinPath } from '../config/issues.js';
import type { ListenerModel } from '../model/listener.js';
import { Listener, type ListenerDeps } from './listener.js';

/**
 * Checks a set of listeners against each other (names and addresses must be unique), reporting
 * under `path[i]` (e.g. `static_resources.listeners[1].name`). Port 0 never clashes.
 */
export function validateListenerSet(models: readonly ListenerModel[], path: string, issues: Issues): void {
  const names = new Set<string>();
  const addrs = new Set<string>();
  models.forEach((m, i) => {
    if (m.name !== '' && names.has(m.name))
      issues.error(joinPath(joinPath(path, i), 'name'), `duplicate listener name ${m.name}`);
    names.add(m.name);
    const key = `${m.address}:${m.port}`;
    if (m.port !== 0 && addrs.has(key)) {
      issues.error(joinPath(joinPath(path, i), 'address'), `another listener already uses ${key}`);
    }
    addrs.add(key);
  });
}

/**
 * Binds every listener, all or nothing: if one address can not be bound, the ones already bound
 * are closed again and the error (naming the listener and address) is thrown.
 */
export async function startListeners(
  models: readonly ListenerModel[],
  deps: ListenerDeps,
): Promise<Listener[]> {
  const started: Listener[] = [];
  try {
    for (const m of models) {
      const l = new Listener(m, deps);
      try {
        await l.listen();
      } catch (err) {
        throw new Error(
          `listener ${m.name || '(unnamed)'}: cannot bind ${m.address}:${m.port}: ${(err as Error).message}`,
        );
      }
      started.push(l);
    }
  } catch (err) {
    for (const l of started) l.forceClose();
    throw err;
  }
  return started;
}
