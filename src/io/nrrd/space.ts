/**
 * NRRD's physical space ↔ slicewise Geometry: `space` (or `space dimension`), `space directions`,
 * `space origin` and `space units`, or for headers without a space, per-axis `units`.
 *
 * Named spaces map onto the two anatomical frames slicewise keeps: left-posterior-superior is LPS,
 * right-anterior-superior RAS, left-anterior-superior is RAS with x mirrored; scanner-xyz and the
 * 3D-handed spaces are the image's own frame. Written headers name LPS or RAS, or give
 * `space dimension: 3` for a geometry without a frame.
 *
 * @example
 * ```ts
 * nrrdGeometry({ space: "left-posterior-superior", directions: [[0.5,0,0],[0,0.5,0],[0,0,2]], origin: [-10,20,30], units: ["mm","mm","mm"] })
 * // { spacing: [2, 0.5, 0.5], geometry: { unit: "mm", space: "LPS", origin: [-10, 20, 30], direction: identity } }
 * ```
 */
import {
  DEFAULT_GEOMETRY,
  fromColumns,
  IDENTITY_DIRECTION,
  isDefaultGeometry,
  parseLengthUnit,
  type Geometry,
  type LengthUnit,
  type Space,
  type Vec3
} from "../../algebra/geometry.js"
import type { Spacing } from "../../algebra/volume.js"

/** The frame of a named NRRD space, and whether x is mirrored relative to it (LAS). */
const FRAMES: ReadonlyMap<string, { readonly space: Space; readonly mirrorX: boolean }> = new Map([
  ["left-posterior-superior", { space: "LPS", mirrorX: false }],
  ["lps", { space: "LPS", mirrorX: false }],
  ["left-posterior-superior-time", { space: "LPS", mirrorX: false }],
  ["lpst", { space: "LPS", mirrorX: false }],
  ["right-anterior-superior", { space: "RAS", mirrorX: false }],
  ["ras", { space: "RAS", mirrorX: false }],
  ["right-anterior-superior-time", { space: "RAS", mirrorX: false }],
  ["rast", { space: "RAS", mirrorX: false }],
  ["left-anterior-superior", { space: "RAS", mirrorX: true }],
  ["las", { space: "RAS", mirrorX: true }],
  ["left-anterior-superior-time", { space: "RAS", mirrorX: true }],
  ["last", { space: "RAS", mirrorX: true }]
])

/** What a header says about the image axes x, y and (for 3-D) z, in that order. */
export interface NrrdSpaceFields {
  /** The `space:` value, when given. */
  readonly space?: string | undefined
  /** Space directions of the image axes (x, y[, z]); absent when the header has none. */
  readonly directions?: ReadonlyArray<ReadonlyArray<number>> | undefined
  readonly origin?: ReadonlyArray<number> | undefined
  /** `space units`, or else per-axis `units` of the image axes. */
  readonly units?: ReadonlyArray<string> | undefined
}

const vec3 = (v: ReadonlyArray<number> | undefined): Vec3 => [v?.[0] ?? 0, v?.[1] ?? 0, v?.[2] ?? 0]

const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]

/** One unit when every image axis names the same one; undefined otherwise. */
const commonUnit = (units: ReadonlyArray<string> | undefined): LengthUnit | undefined => {
  const parsed = (units ?? []).map(parseLengthUnit)
  return parsed.length > 0 && parsed.every((u) => u !== undefined && u === parsed[0]) ? parsed[0] : undefined
}

/**
 * The geometry a header states, and the spacing its directions give (absent without directions:
 * the caller's spacing from `spacings` stands). Undefined when the header says nothing physical.
 */
export const nrrdGeometry = (f: NrrdSpaceFields): { readonly geometry?: Geometry; readonly spacing?: Spacing } | undefined => {
  const unit = commonUnit(f.units)
  if (f.space === undefined && f.directions === undefined && f.origin === undefined && unit === undefined) return undefined
  const frame = f.space === undefined ? undefined : FRAMES.get(f.space.toLowerCase())
  const mirror = (v: Vec3): Vec3 => (frame?.mirrorX ? [-v[0], v[1], v[2]] : v)
  const withUnit = unit === undefined ? {} : { unit }
  const withSpace = frame === undefined ? {} : { space: frame.space }
  const origin = mirror(vec3(f.origin))
  if (f.directions === undefined || f.directions.length < 2)
    return { geometry: { ...withUnit, ...withSpace, origin, direction: IDENTITY_DIRECTION } }
  const dx = mirror(vec3(f.directions[0]))
  const dy = mirror(vec3(f.directions[1]))
  // A 2-D image's third direction is the normal of its plane, one unit long.
  const dz = f.directions[2] !== undefined ? mirror(vec3(f.directions[2])) : cross(dx, dy)
  const { spacing, direction } = fromColumns([dx, dy, dz])
  const geometry: Geometry = { ...withUnit, ...withSpace, origin, direction }
  return {
    // Axis-aligned directions and nothing else say only the spacing: no geometry, as a TIFF's.
    ...(isDefaultGeometry(geometry) ? {} : { geometry }),
    spacing: f.directions[2] !== undefined ? spacing : [1, spacing[1], spacing[2]]
  }
}

/** ASCII spellings for `space units` (Teem reads the header as ASCII). */
const NRRD_UNIT: Partial<Record<LengthUnit, string>> = { µm: "um", Å: "angstrom" }

const num = (v: number): string => String(v === 0 ? 0 : v)
const vector = (v: Vec3): string => `(${v.map(num).join(",")})`

/**
 * The header lines that state `spacing` and `geometry`: the space (or its dimension), the
 * directions (each index axis's direction times its spacing), the origin and the units.
 */
export const spaceLines = (spacing: Spacing, geometry: Geometry | undefined): ReadonlyArray<string> => {
  const g = geometry ?? DEFAULT_GEOMETRY
  const [sz, sy, sx] = spacing
  const [dx, dy, dz] = g.direction
  const scaled = (d: Vec3, s: number): Vec3 => [d[0] * s, d[1] * s, d[2] * s]
  const space = g.space === "LPS" ? "space: left-posterior-superior" : g.space === "RAS" ? "space: right-anterior-superior" : "space dimension: 3"
  const unit = g.unit === undefined ? undefined : `"${NRRD_UNIT[g.unit] ?? g.unit}"`
  return [
    space,
    `space directions: ${vector(scaled(dx, sx))} ${vector(scaled(dy, sy))} ${vector(scaled(dz, sz))}`,
    ...(geometry === undefined ? [] : [`space origin: ${vector(g.origin)}`]),
    ...(unit === undefined ? [] : [`space units: ${unit} ${unit} ${unit}`])
  ]
}
