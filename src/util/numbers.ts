/**
 * Numbers for people, printed to the precision they were stored with. A NIfTI-1 pixdim of 0.9 is
 * the float32 0.89999997615814208984375; JavaScript prints it as 0.8999999761581421, the shortest
 * decimal that gives the same *float64*. `shortestFloat32(v)` is the shortest decimal that gives the
 * same *float32*: 0.9. Only how a value prints changes, never the value kept.
 *
 * @example
 * ```ts
 * shortestFloat32(Math.fround(0.9))           // 0.9
 * numberText(Math.fround(0.9), "float32")     // "0.9"
 * numberText(Math.fround(0.9), "float64")     // "0.8999999761581421"
 * ```
 */

/** How precisely a value was stored: a float32 field (NIfTI-1 pixdim) or a float64 (JSON, text, rationals). */
export type Precision = "float32" | "float64"

/**
 * The number with the shortest decimal (1 to 9 significant digits) whose float32 is the float32 of
 * `v`. Values that are not finite, or beyond float32's range, come back unchanged.
 */
export const shortestFloat32 = (v: number): number => {
  const f = Math.fround(v)
  if (!Number.isFinite(v) || !Number.isFinite(f) || f === 0) return f === 0 ? f : v
  for (let p = 1; p <= 9; p++) {
    const t = Number(f.toPrecision(p))
    if (Math.fround(t) === f) return t
  }
  return f // not reached: 9 significant digits always round-trip a float32
}

/** `v` as a value of its precision: the shortest float32 decimal, or `v` itself for float64. */
export const shortest = (v: number, precision: Precision): number => (precision === "float32" ? shortestFloat32(v) : v)

/** The shortest text that reads back as `v` at its precision. */
export const numberText = (v: number, precision: Precision): string => String(shortest(v, precision))
