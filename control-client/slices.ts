/**
 * Long control-path work (decoding a 10,000-cluster response, building the clusters) runs in
 * slices of a few milliseconds with a macrotask turn between them, so that meanwhile the proxy
 * keeps serving requests and the xDS client reads further responses. Work that fits in one slice
 * finishes synchronously, exactly as if it had not been sliced.
 */

/** How long one slice may hold the event loop. */
export const SLICE_MS = 5;

/** A step function: does some work until `deadline` (performance.now()), true when finished. */
export type SlicedStep = (deadline: number) => boolean;

/**
 * Runs `step` until it finishes: the first slice now; null when that was enough, otherwise a
 * promise that settles after the last slice (rejects if a step throws).
 */
export function runInSlices(step: SlicedStep, sliceMs = SLICE_MS): Promise<void> | null {
  if (step(performance.now() + sliceMs)) return null;
  return new Promise<void>((resolve, reject) => {
    const again = (): void => {
      try {
        if (step(performance.now() + sliceMs)) resolve();
        else setImmediate(again);
      } catch (err) {
        reject(err);
      }
    };
    setImmediate(again);
  });
}

/**
 * A SlicedStep over items 0..count-1: `each(i)` for each in order, looking at the clock every
 * `checkEvery` items (one item takes microseconds; the clock costs more than that).
 */
export function sliceOver(count: number, each: (i: number) => void, checkEvery = 32): SlicedStep {
  let i = 0;
  return (deadline) => {
    while (i < count) {
      const stop = Math.min(count, i + checkEvery);
      for (; i < stop; i++) each(i);
      if (i < count && performance.now() >= deadline) return false;
    }
    return true;
  };
}
