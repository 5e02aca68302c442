/**
 * Where a volume's voxels are in physical space: the length unit, the position of the first voxel,
 * the directions of the index axes and the anatomical frame they are given in. Spacing stays in
 * `VolumeInfo.spacing`; together they make the affine from voxel index to physical position, which
 * every reader fills as far as its format says and every writer writes as far as its format holds.
 *
 * Index-axis quantities (shape, spacing) are ordered (z, y, x) as everywhere in slicewise; physical
 * quantities (origin, the components of a direction) are ordered (x, y, z) as in NIfTI, NRRD and
 * DICOM. `direction[0]` is the unit vector of the x index axis (columns), `direction[2]` that of z.
 *
 * @example
 * ```ts
 * const info = volumeInfo("int16", [40, 256, 256], [3, 0.9, 0.9], {
 *   unit: "mm", space: "LPS", origin: [-120, -110, 40], direction: IDENTITY_DIRECTION
 * })
 * voxelToPhysical(info, [0, 0, 1])   // [-120, -110, 43]: one slice up, 3 mm
 * ```
 */

/** A point or vector in physical space, ordered (x, y, z). */
export type Vec3 = readonly [x: number, y: number, z: number]

/** Unit vectors of the x, y and z index axes, in physical space. */
export type DirectionMatrix = readonly [x: Vec3, y: Vec3, z: Vec3]

/** The length units slicewise converts between, by their SI symbol. */
export type LengthUnit = "km" | "m" | "cm" | "mm" | "µm" | "nm" | "pm" | "Å" | "in" | "ft"

/**
 * The anatomical frame of physical coordinates: "LPS" (+x left, +y posterior, +z superior: DICOM,
 * ITK, most NRRD) or "RAS" (+x right, +y anterior, +z superior: NIfTI). Absent: the image's own
 * frame, as in microscopy, where no patient is implied.
 */
export type Space = "LPS" | "RAS"

export interface Geometry {
  /** The unit of spacing and origin; absent when the file does not say. */
  readonly unit?: LengthUnit
  /** The anatomical frame of `origin` and `direction`; absent when the file names none. */
  readonly space?: Space
  /** The physical position of the centre of voxel (x, y, z) = (0, 0, 0). */
  readonly origin: Vec3
  /** The directions of the index axes; orthonormal. */
  readonly direction: DirectionMatrix
}

export const IDENTITY_DIRECTION: DirectionMatrix = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1]
]

/** What a file that says nothing about geometry means: origin 0, axes along x, y, z, no unit. */
export const DEFAULT_GEOMETRY: Geometry = { origin: [0, 0, 0], direction: IDENTITY_DIRECTION }

/** Metres in one of each unit. */
export const METRES_PER_UNIT: Readonly<Record<LengthUnit, number>> = {
  km: 1e3,
  m: 1,
  cm: 1e-2,
  mm: 1e-3,
  µm: 1e-6,
  nm: 1e-9,
  pm: 1e-12,
  Å: 1e-10,
  in: 0.0254,
  ft: 0.3048
}

/** UDUNITS-2 names, as OME-NGFF writes them. */
export const UNIT_NAMES: Readonly<Record<LengthUnit, string>> = {
  km: "kilometer",
  m: "meter",
  cm: "centimeter",
  mm: "millimeter",
  µm: "micrometer",
  nm: "nanometer",
  pm: "picometer",
  Å: "angstrom",
  in: "inch",
  ft: "foot"
}

const SPELLINGS: ReadonlyArray<readonly [LengthUnit, ReadonlyArray<string>]> = [
  ["km", ["km", "kilometer", "kilometre", "kilometers", "kilometres"]],
  ["m", ["m", "meter", "metre", "meters", "metres"]],
  ["cm", ["cm", "centimeter", "centimetre", "centimeters", "centimetres"]],
  ["mm", ["mm", "millimeter", "millimetre", "millimeters", "millimetres"]],
  // U+00B5 MICRO SIGN and U+03BC GREEK SMALL LETTER MU are both written by real tools.
  ["µm", ["µm", "μm", "um", "micron", "microns", "micrometer", "micrometre", "micrometers", "micrometres", "\\u00b5m"]],
  ["nm", ["nm", "nanometer", "nanometre", "nanometers", "nanometres"]],
  ["pm", ["pm", "picometer", "picometre", "picometers", "picometres"]],
  ["Å", ["å", "Å", "angstrom", "ångström", "angstroms"]],
  ["in", ["in", "inch", "inches"]],
  ["ft", ["ft", "foot", "feet"]]
]
const BY_SPELLING: ReadonlyMap<string, LengthUnit> = new Map(SPELLINGS.flatMap(([u, names]) => names.map((n) => [n.toLowerCase(), u] as const)))

/**
 * The unit a file names, however it spells it ("micron", "um", "µm", "micrometer", "mm" …);
 * undefined for "pixel", empty or anything else that is not a length.
 *
 * @example
 * ```ts
 * parseLengthUnit("micron")       // "µm"
 * parseLengthUnit("millimeter")   // "mm"
 * parseLengthUnit("pixel")        // undefined
 * ```
 */
export const parseLengthUnit = (text: string | undefined): LengthUnit | undefined =>
  text === undefined ? undefined : BY_SPELLING.get(text.trim().toLowerCase())

/** Powers of ten of the metric units, so that conversions between them are exact decimals. */
const DECADE: Partial<Record<LengthUnit, number>> = { km: 3, m: 0, cm: -2, mm: -3, µm: -6, nm: -9, Å: -10, pm: -12 }

/**
 * The factor that turns a length in `from` into one in `to`.
 *
 * @example
 * ```ts
 * unitFactor("mm", "µm")   // 1000
 * unitFactor("in", "mm")   // 25.4
 * ```
 */
export const unitFactor = (from: LengthUnit, to: LengthUnit): number => {
  if (from === to) return 1
  const a = DECADE[from]
  const b = DECADE[to]
  // 1e-3 / 1e-6 is 1000.0000000000001 in floating point; 10 ** 3 is 1000.
  if (a !== undefined && b !== undefined) return a >= b ? 10 ** (a - b) : 1 / 10 ** (b - a)
  return METRES_PER_UNIT[from] / METRES_PER_UNIT[to]
}

const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
const norm = (a: Vec3): number => Math.sqrt(dot(a, a))

/** The geometry of a volume: its own, or the default when its source said nothing. */
export const geometryOf = (info: { readonly geometry?: Geometry | undefined }): Geometry => info.geometry ?? DEFAULT_GEOMETRY

/** True when every direction is within `tolerance` of its axis (no rotation, no flip). */
export const isIdentityDirection = (d: DirectionMatrix, tolerance = 1e-6): boolean =>
  d.every((v, c) => v.every((x, r) => Math.abs(x - (r === c ? 1 : 0)) <= tolerance))

/** True for what a file that says nothing means: no unit, no frame, origin 0, identity directions. */
export const isDefaultGeometry = (g: Geometry): boolean =>
  g.unit === undefined && g.space === undefined && g.origin.every((v) => v === 0) && isIdentityDirection(g.direction, 0)

/** Mirrors x and y: LPS ↔ RAS. */
const flipXY = (v: Vec3): Vec3 => [0 - v[0], 0 - v[1], v[2]] // 0 − 0 is +0: no "-0" in headers

/**
 * The same geometry in another anatomical frame (LPS ↔ RAS flips x and y). A geometry without a
 * frame is returned as it is: its coordinates are the image's own and mean the same in either.
 */
export const inSpace = (g: Geometry, space: Space): Geometry => {
  if (g.space === undefined || g.space === space) return g
  return { ...g, space, origin: flipXY(g.origin), direction: [flipXY(g.direction[0]), flipXY(g.direction[1]), flipXY(g.direction[2])] }
}

/**
 * The affine from voxel index (x, y, z) to physical position, as three rows [r0 r1 r2 t]: column c
 * is the direction of index axis c times its spacing; t is the origin.
 */
export const affineOf = (spacing: readonly [number, number, number], g: Geometry): ReadonlyArray<readonly [number, number, number, number]> => {
  const s: Vec3 = [spacing[2], spacing[1], spacing[0]]
  return [0, 1, 2].map((r) => [g.direction[0][r]! * s[0], g.direction[1][r]! * s[1], g.direction[2][r]! * s[2], g.origin[r]!] as const)
}

/** The physical position of voxel `index` = (x, y, z) of a volume. */
export const voxelToPhysical = (
  info: { readonly spacing: readonly [number, number, number]; readonly geometry?: Geometry | undefined },
  index: Vec3
): Vec3 => {
  const a = affineOf(info.spacing, geometryOf(info))
  return [0, 1, 2].map((r) => a[r]![0] * index[0] + a[r]![1] * index[1] + a[r]![2] * index[2] + a[r]![3]) as unknown as Vec3
}

/**
 * Spacing (z, y, x) and directions from an affine's 3×3 part, given as its columns for the x, y
 * and z index axes: the spacing is each column's length, the direction the column over its length.
 * Directions that are not orthogonal (sheared grids) are orthonormalised, keeping x's direction.
 */
export const fromColumns = (columns: readonly [Vec3, Vec3, Vec3]): { spacing: readonly [number, number, number]; direction: DirectionMatrix } => {
  const lengths = columns.map(norm)
  const unit = columns.map((c, i) => (lengths[i]! > 0 ? (c.map((v) => v / lengths[i]!) as unknown as Vec3) : IDENTITY_DIRECTION[i]!))
  const sheared = Math.abs(dot(unit[0]!, unit[1]!)) > 1e-4 || Math.abs(dot(unit[0]!, unit[2]!)) > 1e-4 || Math.abs(dot(unit[1]!, unit[2]!)) > 1e-4
  const direction: DirectionMatrix = sheared ? orthonormalise(unit[0]!, unit[1]!, unit[2]!) : [unit[0]!, unit[1]!, unit[2]!]
  return { spacing: [lengths[2] || 1, lengths[1] || 1, lengths[0] || 1], direction }
}

const orthonormalise = (x: Vec3, y: Vec3, z: Vec3): DirectionMatrix => {
  const minus = (a: Vec3, b: Vec3, k: number): Vec3 => [a[0] - k * b[0], a[1] - k * b[1], a[2] - k * b[2]]
  const unitOf = (a: Vec3): Vec3 => {
    const n = norm(a)
    return [a[0] / n, a[1] / n, a[2] / n]
  }
  const y1 = unitOf(minus(y, x, dot(y, x)))
  const z1 = unitOf(minus(minus(z, x, dot(z, x)), y1, dot(z, y1)))
  return [x, y1, z1]
}

/** The determinant of the direction matrix: +1 for a rotation, −1 when it also mirrors. */
export const handedness = (d: DirectionMatrix): number => {
  const [a, b, c] = d
  const det = a[0] * (b[1] * c[2] - b[2] * c[1]) - b[0] * (a[1] * c[2] - a[2] * c[1]) + c[0] * (a[1] * b[2] - a[2] * b[1])
  return det < 0 ? -1 : 1
}

/**
 * Spacing and geometry expressed in another unit. A geometry without a unit is left as it is: its
 * numbers have no unit to convert from.
 */
export const convertUnit = (
  spacing: readonly [number, number, number],
  g: Geometry,
  to: LengthUnit
): { spacing: readonly [number, number, number]; geometry: Geometry } => {
  if (g.unit === undefined || g.unit === to) return { spacing, geometry: g }
  const k = unitFactor(g.unit, to)
  return {
    spacing: [spacing[0] * k, spacing[1] * k, spacing[2] * k],
    geometry: { ...g, unit: to, origin: [g.origin[0] * k, g.origin[1] * k, g.origin[2] * k] }
  }
}

/** Two geometries equal to within `tolerance` (relative, for origins of any size). */
export const sameGeometry = (a: Geometry, b: Geometry, tolerance = 1e-6): boolean => {
  const close = (x: number, y: number) => Math.abs(x - y) <= tolerance * Math.max(1, Math.abs(x), Math.abs(y))
  return (
    a.unit === b.unit &&
    a.space === b.space &&
    a.origin.every((v, i) => close(v, b.origin[i]!)) &&
    a.direction.every((v, c) => v.every((x, r) => close(x, b.direction[c]![r]!)))
  )
}

/** What of a volume's geometry a format can hold. */
export interface GeometryHeld {
  /** Any spacing (not only 1). */
  readonly spacing: boolean
  readonly unit: boolean
  readonly origin: boolean
  /** Directions other than the identity (rotations, flips). */
  readonly direction: boolean
  /** An anatomical frame (LPS, RAS). */
  readonly space: boolean
}

/**
 * What of `info`'s spacing and geometry a format holding `held` drops, as short phrases for the
 * one line a run prints ("the direction (not axis-aligned)", "the anatomical frame (LPS)").
 *
 * @example
 * ```ts
 * geometryDrops(info, { spacing: true, unit: true, origin: true, direction: false, space: false })
 * ```
 */
export const geometryDrops = (
  info: { readonly spacing: readonly [number, number, number]; readonly geometry?: Geometry | undefined },
  held: GeometryHeld
): ReadonlyArray<string> => {
  const g = geometryOf(info)
  const out: Array<string> = []
  if (!held.spacing && info.spacing.some((s) => s !== 1)) out.push(`the spacing (${info.spacing.join("×")})`)
  if (!held.unit && g.unit !== undefined) out.push(`the unit (${g.unit})`)
  if (!held.origin && g.origin.some((v) => v !== 0)) out.push(`the origin (${g.origin.join(", ")})`)
  if (!held.direction && !isIdentityDirection(g.direction)) out.push("the direction (not axis-aligned)")
  if (!held.space && g.space !== undefined) out.push(`the anatomical frame (${g.space})`)
  return out
}

/**
 * A geometry as text for `slicewise info`: origins with `fmt` (the precision the format stores),
 * directions to six significant digits (they are computed, not stored, in most formats).
 *
 * @example
 * ```ts
 * describeGeometry(g)   // { unit: "mm", space: "LPS", origin: "(-10, 20, 30)", direction: "identity" }
 * ```
 */
export const describeGeometry = (g: Geometry, fmt: (n: number) => string = String): Record<string, string> => {
  const vec = (v: Vec3, f: (n: number) => string) => `(${v.map(f).join(", ")})`
  const six = (n: number) => String(Number(n.toPrecision(6)) + 0)
  return {
    unit: g.unit ?? "not stated",
    ...(g.space !== undefined ? { space: g.space } : {}),
    origin: vec(g.origin, fmt),
    direction: isIdentityDirection(g.direction) ? "identity" : g.direction.map((v) => vec(v, six)).join(" ")
  }
}
