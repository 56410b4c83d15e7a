/**
 * Walker's alias method (Vose's O(n) construction): after building, a weighted draw costs one
 * uniform number and one comparison, whatever the number of entries or the spread of weights.
 */
export class AliasTable {
  /** Probability of keeping column i (scaled so the mean column is 1). */
  private readonly keep: Float64Array;
  /** Where column i sends the rest of its probability mass. */
  private readonly alias: Int32Array;
  readonly size: number;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    this.size = n;
    this.keep = new Float64Array(n);
    this.alias = new Int32Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i];
    if (n === 0 || !(total > 0)) {
      this.keep.fill(1);
      for (let i = 0; i < n; i++) this.alias[i] = i;
      return;
    }
    const scaled = new Float64Array(n);
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    let ns = 0;
    let nl = 0;
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i] * n) / total;
      if (scaled[i] < 1) small[ns++] = i;
      else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns];
      const l = large[nl - 1];
      this.keep[s] = scaled[s];
      this.alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1;
      if (scaled[l] < 1) {
        nl--;
        small[ns++] = l;
      }
    }
    // What is left is 1 up to rounding error.
    while (nl > 0) {
      const l = large[--nl];
      this.keep[l] = 1;
      this.alias[l] = l;
    }
    while (ns > 0) {
      const s = small[--ns];
      this.keep[s] = 1;
      this.alias[s] = s;
    }
  }

  /** The entry for a uniform `u` in [0, 1): column floor(u * n), kept or sent to its alias. */
  sample(u: number): number {
    const x = u * this.size;
    const i = Math.floor(x);
    return x - i < this.keep[i] ? i : this.alias[i];
  }
}
