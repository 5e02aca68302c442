/**
 * NIfTI-1 orientation ↔ slicewise Geometry. A NIfTI's world is RAS+ in the unit of xyzt_units;
 * the sform (when its code is set) is preferred to the qform, as nibabel and ITK do. A header with
 * neither code set says nothing about position: its geometry is the unit alone.
 *
 * Written headers carry both: the sform is the affine itself, the qform its rotation as a
 * quaternion with qfac = −1 when the directions mirror (det < 0), and the origin as qoffset.
 *
 * @example
 * ```ts
 * const g = niftiGeometry(header)            // { unit: "mm", space: "RAS", origin, direction }
 * const o = niftiOrientation(spacing, g)    // the header fields that write it back
 * ```
 */
import {
  convertUnit,
  DEFAULT_GEOMETRY,
  fromColumns,
  handedness,
  inSpace,
  type DirectionMatrix,
  type Geometry,
  type LengthUnit,
  type Vec3
} from "../../algebra/geometry.js"
import type { Spacing } from "../../algebra/volume.js"
import { shortestFloat32 } from "../../util/numbers.js"

/** The header fields that state orientation (a NiftiHeader has them). */
export interface OrientationFields {
  readonly xyztUnits: number
  readonly pixdim: ReadonlyArray<number>
  readonly qformCode: number
  readonly sformCode: number
  readonly quatern: ReadonlyArray<number>
  readonly srow: ReadonlyArray<ReadonlyArray<number>>
}

const UNIT_OF_CODE: Readonly<Record<number, LengthUnit>> = { 1: "m", 2: "mm", 3: "µm" }
const CODE_OF_UNIT: Partial<Record<LengthUnit, number>> = { m: 1, mm: 2, µm: 3 }

/** The rotation of a quaternion (b, c, d; a ≥ 0 implied), as columns. */
const quaternionColumns = (b: number, c: number, d: number): DirectionMatrix => {
  // nifti1.h: a = sqrt(1 − b² − c² − d²), clamped when rounding makes the sum exceed 1.
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)))
  return [
    [a * a + b * b - c * c - d * d, 2 * (b * c + a * d), 2 * (b * d - a * c)],
    [2 * (b * c - a * d), a * a + c * c - b * b - d * d, 2 * (c * d + a * b)],
    [2 * (b * d + a * c), 2 * (c * d - a * b), a * a + d * d - c * c - b * b]
  ]
}

/** The geometry a header states: sform first, then qform, else the unit alone. */
export const niftiGeometry = (h: OrientationFields): Geometry | undefined => {
  const unit = UNIT_OF_CODE[h.xyztUnits & 7]
  const withUnit = unit === undefined ? {} : { unit }
  if (h.sformCode > 0) {
    const r = h.srow
    const column = (c: number): Vec3 => [r[0]![c]!, r[1]![c]!, r[2]![c]!]
    const origin: Vec3 = [shortestFloat32(r[0]![3]!), shortestFloat32(r[1]![3]!), shortestFloat32(r[2]![3]!)]
    // The spacing is pixdim's; the sform gives the directions (orthonormalised if sheared).
    return { ...withUnit, space: "RAS", origin, direction: fromColumns([column(0), column(1), column(2)]).direction }
  }
  if (h.qformCode > 0) {
    const [b, c, d, x, y, z] = h.quatern as [number, number, number, number, number, number]
    const [cx, cy, cz] = quaternionColumns(b, c, d)
    const qfac = h.pixdim[0] === -1 ? -1 : 1
    const origin: Vec3 = [shortestFloat32(x), shortestFloat32(y), shortestFloat32(z)]
    return { ...withUnit, space: "RAS", origin, direction: [cx, cy, [cz[0] * qfac, cz[1] * qfac, cz[2] * qfac]] }
  }
  return unit === undefined ? undefined : { ...DEFAULT_GEOMETRY, unit }
}

/** The quaternion (b, c, d) of a proper rotation given as columns, with a ≥ 0 (nifti_mat44_to_quatern). */
const quaternionOf = (m: DirectionMatrix): readonly [number, number, number] => {
  const r = (row: number, col: number) => m[col]![row]!
  const trace = r(0, 0) + r(1, 1) + r(2, 2)
  let a: number, b: number, c: number, d: number
  if (trace > -0.5) {
    a = 0.5 * Math.sqrt(1 + trace)
    b = (0.25 * (r(2, 1) - r(1, 2))) / a
    c = (0.25 * (r(0, 2) - r(2, 0))) / a
    d = (0.25 * (r(1, 0) - r(0, 1))) / a
  } else if (r(0, 0) >= r(1, 1) && r(0, 0) >= r(2, 2)) {
    b = 0.5 * Math.sqrt(1 + r(0, 0) - r(1, 1) - r(2, 2))
    c = (0.25 * (r(0, 1) + r(1, 0))) / b
    d = (0.25 * (r(0, 2) + r(2, 0))) / b
    a = (0.25 * (r(2, 1) - r(1, 2))) / b
  } else if (r(1, 1) >= r(2, 2)) {
    c = 0.5 * Math.sqrt(1 + r(1, 1) - r(0, 0) - r(2, 2))
    b = (0.25 * (r(0, 1) + r(1, 0))) / c
    d = (0.25 * (r(1, 2) + r(2, 1))) / c
    a = (0.25 * (r(0, 2) - r(2, 0))) / c
  } else {
    d = 0.5 * Math.sqrt(1 + r(2, 2) - r(0, 0) - r(1, 1))
    b = (0.25 * (r(0, 2) + r(2, 0))) / d
    c = (0.25 * (r(1, 2) + r(2, 1))) / d
    a = (0.25 * (r(1, 0) - r(0, 1))) / d
  }
  return a < 0 ? [-b, -c, -d] : [b, c, d]
}

/** The header fields that state a geometry: what `formatNiftiHeader` writes. */
export interface NiftiOrientation {
  /** pixdim[1..3] (x, y, z), in the written unit. */
  readonly pixdim: Vec3
  /** pixdim[0]: −1 when the directions mirror. */
  readonly qfac: 1 | -1
  readonly unitCode: number
  readonly formCode: number
  /** quatern_b, c, d, qoffset_x, y, z. */
  readonly quatern: readonly [number, number, number, number, number, number]
  readonly srow: ReadonlyArray<readonly [number, number, number, number]>
}

/** The unit a NIfTI writes for `unit`: m, mm and µm as they are; others in mm, or µm below a µm. */
export const niftiUnit = (unit: LengthUnit | undefined): LengthUnit | undefined =>
  unit === undefined || CODE_OF_UNIT[unit] !== undefined ? unit : unit === "nm" || unit === "pm" || unit === "Å" ? "µm" : "mm"

/**
 * How a header states `spacing` and `geometry`: in RAS (LPS is mirrored in x and y; a geometry
 * without a frame is taken as RAS), in a unit NIfTI names. Codes 1 ("scanner") for a geometry with
 * an anatomical frame, 2 ("aligned") for one without, as slicewise has always written.
 */
export const niftiOrientation = (spacing: Spacing, geometry: Geometry | undefined): NiftiOrientation => {
  const g0 = geometry ?? DEFAULT_GEOMETRY
  const target = niftiUnit(g0.unit)
  const { spacing: s, geometry: g1 } = target === undefined ? { spacing, geometry: g0 } : convertUnit(spacing, g0, target)
  const g = inSpace(g1, "RAS")
  const qfac = handedness(g.direction) < 0 ? -1 : 1
  const [dx, dy, dz] = g.direction
  const [b, c, d] = quaternionOf([dx, dy, [dz[0] * qfac, dz[1] * qfac, dz[2] * qfac]])
  const sx = s[2], sy = s[1], sz = s[0]
  // + 0 turns the −0 of a mirrored zero into 0, which is what nibabel and fslhd print.
  const srow = [0, 1, 2].map((r) => [dx[r]! * sx + 0, dy[r]! * sy + 0, dz[r]! * sz + 0, g.origin[r]! + 0] as const)
  return {
    pixdim: [sx, sy, sz],
    qfac,
    unitCode: target === undefined ? 0 : CODE_OF_UNIT[target]!,
    formCode: geometry?.space === undefined ? 2 : 1,
    quatern: [b, c, d, g.origin[0], g.origin[1], g.origin[2]],
    srow
  }
}
