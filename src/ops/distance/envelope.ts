/**
 * The lower envelope of parabolas (Felzenszwalb & Huttenlocher, "Distance transforms of sampled
 * functions", 2012) on one line, for integer values and unit spacing:
 * `out[oOff + i] = min_j f[fOff + j] + (i − j)²` over the sites j whose value is ≤ `limit`.
 *
 * - Sites above `limit` are left out: callers that only ask "is the distance ≤ limit?" (ball
 *   morphology: limit R²) lose nothing, and a sparse line costs less. A line without sites gives
 *   +Infinity everywhere.
 * - `frame`: two more sites of value 0 at positions −1 and n (a background frame around the line,
 *   for erosion, where outside the volume is background).
 *
 * On integers the result is exact although the parabola intersections are divided in float64: an
 * intersection that falls exactly on an integer position is a tie (both parabolas give the same
 * value there), and one that does not is at least 1/(2·(n+1)) away from every integer, far more
 * than the rounding error at these magnitudes.
 *
 * Scratch: `v` (Int32Array) and `fv` (Float64Array) of n + 2 entries, `zb` (Float64Array) of n + 3.
 * O(n), allocates nothing.
 *
 * @example
 * ```ts
 * const f = Float64Array.of(Infinity, 0, Infinity, Infinity, 1)
 * envelopeLine(f, 0, 5, 4, false, v, fv, zb, out, 0)   // out = [1, 0, 1, 2, 1]
 * ```
 */
export const envelopeLine = (
  f: Float64Array,
  fOff: number,
  n: number,
  limit: number,
  frame: boolean,
  v: Int32Array,
  fv: Float64Array,
  zb: Float64Array,
  out: Float64Array,
  oOff: number
): void => {
  let k = -1
  const first = frame ? -1 : 0
  const last = frame ? n : n - 1
  for (let q = first; q <= last; q++) {
    const fq = q < 0 || q >= n ? 0 : f[fOff + q]!
    if (!(fq <= limit)) continue
    if (k < 0) {
      k = 0
      v[0] = q
      fv[0] = fq
      zb[0] = -Infinity
      zb[1] = Infinity
      continue
    }
    const hq = fq + q * q
    let s: number
    for (;;) {
      const p = v[k]!
      s = (hq - (fv[k]! + p * p)) / (2 * (q - p))
      // zb[0] is −∞: the loop stops at k = 0 at the latest.
      if (s > zb[k]!) break
      k--
    }
    k++
    v[k] = q
    fv[k] = fq
    zb[k] = s
    zb[k + 1] = Infinity
  }
  if (k < 0) {
    out.fill(Infinity, oOff, oOff + n)
    return
  }
  k = 0
  for (let q = 0; q < n; q++) {
    while (zb[k + 1]! < q) k++
    const d = q - v[k]!
    out[oOff + q] = fv[k]! + d * d
  }
}
