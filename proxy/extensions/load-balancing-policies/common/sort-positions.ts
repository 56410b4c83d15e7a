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

/** Digit d of a 53-bit position: bits [0,16), [16,32), [32,43), [43,53). */
function digit(pos: number, d: number): number {
  if (d === 0) return (pos >>> 0) & 0xffff;
  if (d === 1) return (pos >>> 0) >>> 16;
  const hi = Math.floor(pos / TWO_POW_32);
  return d === 2 ? hi & 0x7ff : hi >>> 11;
}

function radixSort(positions: Float64Array, values: Int32Array): void {
  const n = positions.length;
  let srcP: Float64Array = positions;
  let srcV: Int32Array = values;
  let dstP: Float64Array = new Float64Array(n);
  let dstV: Int32Array = new Int32Array(n);
  const counts = new Int32Array(65536);
  for (let d = 0; d < 4; d++) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[digit(srcP[i], d)]++;
    let sum = 0;
    for (let b = 0; b < 65536; b++) {
      const c = counts[b];
      counts[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const slot = counts[digit(srcP[i], d)]++;
      dstP[slot] = srcP[i];
      dstV[slot] = srcV[i];
    }
    const tp = srcP;
    const tv = srcV;
    srcP = dstP;
    srcV = dstV;
    dstP = tp;
    dstV = tv;
  }
  // After an even number of passes the sorted data is back in the caller's arrays.
}
