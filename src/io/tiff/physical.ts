/**
 * Spacing and geometry (unit, origin) from what a TIFF says: an ImageJ description (`spacing=`,
 * `unit=`, `xorigin=` … in pixels), OME-XML (PhysicalSize*, their units, the first plane's
 * position), or only X/YResolution with ResolutionUnit (inch or centimetre). Directions are always
 * the identity: a TIFF has no way to say otherwise. Geometry is undefined when the file states no
 * unit and no origin.
 *
 * @example
 * ```ts
 * imagejPhysical(imagejFacts(descriptionFields("ImageJ=1.11a\nunit=micron\nspacing=2\nxorigin=4\n")), { x: 0.5, y: 0.5, unit: 1, stated: true })
 * // { spacing: [2, 0.5, 0.5], geometry: { unit: "µm", origin: [-2, 0, 0], direction: IDENTITY_DIRECTION }, notes: [] }
 * ```
 */
import { IDENTITY_DIRECTION, parseLengthUnit, unitFactor, type Geometry, type LengthUnit, type Vec3 } from "../../algebra/geometry.js"
import type { Spacing } from "../../algebra/volume.js"
import type { ImageJFacts } from "./description.js"
import type { OmeImage, OmeLength } from "./ome.js"

/** X/YResolution as spacings (1 when absent), and ResolutionUnit when the file has the tag. */
export interface Resolution {
  readonly x: number
  readonly y: number
  /** ResolutionUnit's value (1 none, 2 inch, 3 centimetre), undefined when the tag is absent. */
  readonly unit: number | undefined
  /** True when XResolution is present. */
  readonly stated: boolean
}

export interface Physical {
  readonly spacing: Spacing
  readonly geometry: Geometry | undefined
  /** What was stated but could not be used, for `details` ("PositionX in reference frame units"). */
  readonly notes: ReadonlyArray<string>
}

/** The unit X/YResolution are in: ResolutionUnit 2 is the inch, 3 the centimetre. */
const resolutionUnit = (r: Resolution): LengthUnit | undefined => (!r.stated ? undefined : r.unit === 2 ? "in" : r.unit === 3 ? "cm" : undefined)

const geometryOf = (unit: LengthUnit | undefined, origin: Vec3): Geometry | undefined =>
  unit === undefined && origin.every((v) => v === 0) ? undefined : { ...(unit !== undefined && { unit }), origin, direction: IDENTITY_DIRECTION }

/**
 * From the resolution tags alone: x and y spacing, z 1, and the resolution's unit.
 *
 * @example
 * ```ts
 * resolutionPhysical({ x: 0.01, y: 0.01, unit: 3, stated: true }).geometry?.unit   // "cm"
 * ```
 */
export const resolutionPhysical = (r: Resolution): Physical => ({
  spacing: [1, r.y, r.x],
  geometry: geometryOf(resolutionUnit(r), [0, 0, 0]),
  notes: []
})

/** `k` converting a length in unit `from` into `to`, 1 when either is unknown. */
const factor = (from: LengthUnit | undefined, to: LengthUnit | undefined) => (from !== undefined && to !== undefined ? unitFactor(from, to) : 1)

/**
 * From an ImageJ (or slicewise) description: z spacing from `spacing=`, x and y from the resolution
 * tags (ImageJ writes them in its unit), the unit from `unit=` (or, with none, the resolution's
 * inch or centimetre, as ImageJ reads it), y and z converted when `yunit=`/`zunit=` differ, and the
 * origin from `xorigin=` … (pixels: the physical origin is −origin · spacing).
 *
 * @example
 * ```ts
 * imagejPhysical(facts, resolution).spacing   // [2.5, 0.5, 0.25]
 * ```
 */
export const imagejPhysical = (f: ImageJFacts, r: Resolution): Physical => {
  const named = parseLengthUnit(f.unit)
  const unit = named ?? (f.unit === undefined || f.unit.toLowerCase() === "pixel" ? resolutionUnit(r) : undefined)
  const notes = f.unit !== undefined && named === undefined && f.unit.toLowerCase() !== "pixel" ? [`unit "${f.unit}" is not a length`] : []
  const y = r.y * factor(parseLengthUnit(f.yunit), named)
  const z = (f.spacing ?? 1) * factor(parseLengthUnit(f.zunit), named)
  const spacing: Spacing = [z, y, r.x]
  const [ox, oy, oz] = f.originPixels
  // `+ 0` makes −0 (no origin) 0.
  const origin: Vec3 = [-ox * spacing[2] + 0, -oy * spacing[1] + 0, -oz * spacing[0] + 0]
  return { spacing, geometry: geometryOf(unit, origin), notes }
}

/** OME's default length unit for PhysicalSize*; Plane positions default to "reference frame", no length. */
const OME_DEFAULT_UNIT = "µm"

/**
 * From OME-XML: PhysicalSizeX/Y/Z in one unit (the first stated one's; µm by default), the
 * resolution tags for sizes not stated, and the origin from the position of plane (z 0, c, t) when
 * its units are lengths.
 *
 * @example
 * ```ts
 * omePhysical(image, resolution, 0, 0).spacing   // [2, 0.5, 0.5] for PhysicalSizeZ="2" PhysicalSizeX="0.5" …
 * ```
 */
export const omePhysical = (image: OmeImage, r: Resolution, c: number, t: number): Physical => {
  const p = image.physical
  const notes: string[] = []
  const unitOf = (l: OmeLength | undefined) => (l === undefined ? undefined : parseLengthUnit(l.unit ?? OME_DEFAULT_UNIT))
  const target = unitOf(p.x) ?? unitOf(p.y) ?? unitOf(p.z)
  const size = (l: OmeLength | undefined, axis: string, fallback: number): number => {
    if (l === undefined || !(l.value > 0)) return fallback
    const u = unitOf(l)
    if (u === undefined) notes.push(`PhysicalSize${axis} in "${l.unit}", not a length`)
    return l.value * factor(u, target)
  }
  const stated = p.x !== undefined || p.y !== undefined || p.z !== undefined
  const base = resolutionPhysical(r)
  const spacing: Spacing = stated ? [size(p.z, "Z", 1), size(p.y, "Y", r.y), size(p.x, "X", r.x)] : base.spacing
  const unit = stated ? target : base.geometry?.unit
  return { spacing, geometry: geometryOf(unit, planeOrigin(image, c, t, unit, notes)), notes }
}

/** The position of the chosen channel and time point's first plane, in `unit`; 0 where unusable. */
const planeOrigin = (image: OmeImage, c: number, t: number, unit: LengthUnit | undefined, notes: string[]): Vec3 => {
  const plane = image.planes.find((q) => q.Z === 0 && q.C === c && q.T === t)
  if (plane === undefined) return [0, 0, 0]
  const at = (l: OmeLength | undefined, axis: string): number => {
    if (l === undefined) return 0
    const u = l.unit === undefined ? undefined : parseLengthUnit(l.unit)
    if (u === undefined || unit === undefined) {
      notes.push(`Position${axis} in ${l.unit === undefined ? "reference frame units (the default)" : `"${l.unit}"`}${unit === undefined ? " without a physical size unit" : ""}: not used`)
      return 0
    }
    return l.value * unitFactor(u, unit) + 0
  }
  return [at(plane.position.x, "X"), at(plane.position.y, "Y"), at(plane.position.z, "Z")]
}
