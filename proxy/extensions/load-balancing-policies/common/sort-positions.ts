/**
 * Sorts ring entries by position: `positions` (integers below 2^53) and `values` are permuted
 * together, in place. Small rings use a comparator sort; large ones (Envoy allows 8M entries) an
 * LSD radix sort in four 16/16/11/10-bit passes, O(n), because a comparator sort of millions of
 * entries would take seconds on the control path. Both are stable, so equal positions keep the
 * order they were generated in (the same on every proxy).
 */
const RADIX_THRESHOLD = 4096;
const TWO_POW_32 = 4294967296;

export function sortByPosition(positions: Float64Array, values: Int32Array): void {
  const n = positions.length;
  if (n < 2) return;
  if (n < RADIX_THRESHOLD) {
    comparatorSort(positions, values);
    return;
  }
  radixSort(positions, values);
}

function comparatorSort(positions: Float64Array, values: Int32Array): void {
  const n = positions.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => positions[a] - positions[b] || a - b);
  const p = positions.slice();
  const v = values.slice();
  for (let i = 0; i < n; i++) {
    positions[i] = p[order[i]];
    values[i] = v[order[i]];
  }
}

/**
 * LSD radix sort on the position split into its high 21 and low 32 bits (integer arrays, so the
 * passes do no float division): digits lo[0,16), lo[16,32), hi[0,11), hi[11,21).
 */
function radixSort(positions: Float64Array, values: Int32Array): void {
  const n = positions.length;
  let hi = new Int32Array(n);
  let lo = new Int32Array(n);
  let val = values.slice();
  for (let i = 0; i < n; i++) {
    const p = positions[i];
    const h = Math.floor(p / TWO_POW_32);
    hi[i] = h;
    lo[i] = p - h * TWO_POW_32;
  }
  let hi2 = new Int32Array(n);
  let lo2 = new Int32Array(n);
  let val2 = new Int32Array(n);
  const counts = new Int32Array(65536);
  for (let d = 0; d < 4; d++) {
    const shift = d === 0 || d === 2 ? 0 : d === 1 ? 16 : 11;
    const mask = d < 2 ? 0xffff : d === 2 ? 0x7ff : 0x3ff;
    const key = d < 2 ? lo : hi;
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(key[i] >>> shift) & mask]++;
    let sum = 0;
    for (let b = 0; b <= mask; b++) {
      const c = counts[b];
      counts[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const slot = counts[(key[i] >>> shift) & mask]++;
      hi2[slot] = hi[i];
      lo2[slot] = lo[i];
      val2[slot] = val[i];
    }
    [hi, hi2] = [hi2, hi];
    [lo, lo2] = [lo2, lo];
    [val, val2] = [val2, val];
  }
  for (let i = 0; i < n; i++) {
    positions[i] = hi[i] * TWO_POW_32 + (lo[i] >>> 0);
    values[i] = val[i];
  }
}
