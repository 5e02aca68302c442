/**
 * Boundary modes: what a neighbourhood sees past the edge of the volume, on every axis, as
 * scipy.ndimage defines them (shown for a row a b c d):
 *
 * | mode     | left extension | right extension |
 * | -------- | -------------- | --------------- |
 * | reflect  | … c d d c b a  | d c b a …       |  (default, half-sample symmetric)
 * | mirror   | … d c b        | c b a …         |  (whole-sample symmetric)
 * | nearest  | … a a a        | d d d …         |
 * | wrap     | … b c d        | a b c …         |
 * | constant | … k k k        | k k k …         |  (k = cval)
 *
 * @example
 * ```ts
 * boundaryIndex("reflect", -1, 4)  // 0
 * boundaryIndex("mirror", -1, 4)   // 1
 * boundaryIndex("constant", 9, 4)  // -1: use cval
 * ```
 */
export const BOUNDARY_MODES = ["reflect", "mirror", "nearest", "wrap", "constant"] as const

export type BoundaryMode = (typeof BOUNDARY_MODES)[number]

export const isBoundaryMode = (s: string): s is BoundaryMode =>
  (BOUNDARY_MODES as ReadonlyArray<string>).includes(s)

/**
 * The index inside [0, n) whose value position `i` takes, or -1 where mode `constant` gives cval.
 * Repeats periodically, so it is right for extensions longer than the axis (depth-1 volumes).
 */
export const boundaryIndex = (mode: BoundaryMode, i: number, n: number): number => {
  if (i >= 0 && i < n) return i
  switch (mode) {
    case "constant":
      return -1
    case "nearest":
      return i < 0 ? 0 : n - 1
    case "wrap":
      return ((i % n) + n) % n
    case "reflect": {
      const m = ((i % (2 * n)) + 2 * n) % (2 * n)
      return m < n ? m : 2 * n - 1 - m
    }
    case "mirror": {
      if (n === 1) return 0
      const p = 2 * n - 2
      const m = ((i % p) + p) % p
      return m < n ? m : p - m
    }
  }
}

/**
 * Fills `index` (length n + before + after) with the source position of each position of a line of
 * length n extended by `before` and `after` samples; -1 marks cval. Kernels build such tables once
 * per run so that their inner loops only index arrays.
 */
export const extensionTable = (mode: BoundaryMode, n: number, before: number, after: number): Int32Array => {
  const index = new Int32Array(n + before + after)
  for (let i = 0; i < index.length; i++) index[i] = boundaryIndex(mode, i - before, n)
  return index
}
