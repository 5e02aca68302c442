/**
 * One line of scipy's exact Euclidean feature transform (scipy.ndimage `_VoronoiFT`, after Maurer,
 * Qi and Raghavan, PAMI 2003), reproduced operation for operation in float64 so that the distances
 * that come out are bit-identical to scipy's.
 *
 * The line has n positions, `stride` elements apart in `p` and in `out`. Position i is a site when
 * `p[pOff + i·stride] ≥ 0`: p is then the squared distance, over the axes already done, from the
 * line to the feature voxel that site i stands for (for the y phase `(dz·sz)²`, for the x phase
 * `(dz·sz)² + (dy·sy)²`). s is the spacing along the line. For every position i the routine writes
 * to `out[oOff + i·stride]` the squared distance to the site scipy picks, `p[g] + ((g − i)·s)²`:
 * exactly the float64 value scipy sums (its per-axis terms added in axis order, z then y then x),
 * or −1 on every position when the line has no site. Returns the number of sites on the envelope.
 *
 * Two steps, as in scipy:
 * 1. The lower envelope: sites pushed on a stack g, popping the top while Maurer's predicate
 *    `c·vR − b·uR − a·wR − a·b·c > 0` says it is hidden by its neighbours (the same expression,
 *    evaluated in the same order: no fused multiply-add, which scipy's x86-64 build does not use
 *    either).
 * 2. The query: walking the stack forward from the previous position's site while the next site's
 *    float64 distance is strictly smaller (ties keep the earlier site).
 *
 * Scratch: `g` and `gp` (the stack's sites and their values) hold at least n entries each.
 * Allocates nothing.
 *
 * @example
 * ```ts
 * const p = Float64Array.of(-1, 0, -1, -1, 4)   // sites at 1 (on the line) and 4 (2 away in z)
 * voronoiLine(p, 0, 5, 1, 1, g, gp, out, 0)   // out = [1, 0, 1, 4, 4]
 * ```
 */
export const voronoiLine = (
  p: Float64Array,
  pOff: number,
  n: number,
  stride: number,
  s: number,
  g: Int32Array,
  gp: Float64Array,
  out: Float64Array,
  oOff: number
): number => {
  // The stack: sites g[0 … l] and their values gp[0 … l].
  let l = -1
  for (let i = 0, pi = pOff; i < n; i++, pi += stride) {
    const wR = p[pi]!
    if (wR < 0) continue
    while (l >= 1) {
      const i1 = g[l]!
      const a = (i1 - g[l - 1]!) * s
      const b = (i - i1) * s
      const c = a + b
      if (c * gp[l]! - b * gp[l - 1]! - a * wR - a * b * c <= 0) break
      l--
    }
    l++
    g[l] = i
    gp[l] = wR
  }
  const maxl = l
  if (maxl < 0) {
    for (let i = 0, o = oOff; i < n; i++, o += stride) out[o] = -1
    return 0
  }
  l = 0
  let site = g[0]!
  let value = gp[0]!
  for (let i = 0, o = oOff; i < n; i++, o += stride) {
    let t = (site - i) * s
    let delta1 = value + t * t
    while (l < maxl) {
      const next = g[l + 1]!
      t = (next - i) * s
      const delta2 = gp[l + 1]! + t * t
      if (delta1 <= delta2) break
      delta1 = delta2
      site = next
      value = gp[l + 1]!
      l++
    }
    out[o] = delta1
  }
  return maxl + 1
}
