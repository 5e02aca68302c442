/**
 * From the headers of a directory's DICOM files to one series laid out as a volume: grouping by
 * SeriesInstanceUID, choosing a series, ordering its slices along the slice normal and deriving
 * spacing and geometry, with the refusals that keep a wrong volume from being presented as right
 * (uneven spacing, gantry tilt, repeated positions, mixed sizes). Pure: no I/O.
 *
 * Ordering is what pydicom users write: the slice normal n = row cosine × column cosine
 * (ImageOrientationPatient), each slice's ImagePositionPatient projected on n, ascending. So the z
 * index runs along +n, and the geometry's direction is [row cosine, column cosine, n] with the
 * first sorted slice's position as the origin (LPS, mm, as DICOM states them).
 *
 * @example
 * ```ts
 * const groups = groupSeries(files)                  // one entry per SeriesInstanceUID
 * const chosen = chooseSeries(dir, groups, "3", false)
 * const layout = layOut(dir, chosen)                  // files in z order, spacing, geometry
 * ```
 */
import { FormatError, UnsupportedError } from "../../algebra/io-errors.js"
import type { Geometry, Vec3 } from "../../algebra/geometry.js"
import type { DicomHeader } from "./parse.js"

/** A file of the directory with its parsed header. */
export interface DicomFile {
  readonly path: string
  readonly name: string
  readonly size: number
  readonly header: DicomHeader
}

/** One series of a directory, as `slicewise info` lists it. */
export interface DicomSeriesSummary {
  readonly uid: string
  readonly number?: number
  readonly description?: string
  readonly modality?: string
  /** Image files of the series. */
  readonly slices: number
  /** Rows × columns of its first file. */
  readonly size: string
}

export interface DicomSeriesGroup extends DicomSeriesSummary {
  readonly files: ReadonlyArray<DicomFile>
}

/** The UID shown for files without SeriesInstanceUID (they form one series). */
export const NO_UID = "(no SeriesInstanceUID)"

/**
 * Image files grouped by SeriesInstanceUID, ordered by SeriesNumber (then UID); files in each
 * group keep their order (names in natural order).
 *
 * @example
 * ```ts
 * groupSeries(files).map((g) => g.number)   // [1, 2, 301]
 * ```
 */
export const groupSeries = (files: ReadonlyArray<DicomFile>): ReadonlyArray<DicomSeriesGroup> => {
  const byUid = new Map<string, DicomFile[]>()
  for (const f of files) {
    const uid = f.header.seriesUid || NO_UID
    const list = byUid.get(uid)
    if (list === undefined) byUid.set(uid, [f])
    else list.push(f)
  }
  const groups = [...byUid].map(([uid, list]): DicomSeriesGroup => {
    const h = list[0]!.header
    return {
      uid,
      ...(h.seriesNumber !== undefined ? { number: h.seriesNumber } : {}),
      ...(h.seriesDescription ? { description: h.seriesDescription } : {}),
      ...(h.modality ? { modality: h.modality } : {}),
      slices: list.length,
      size: `${h.rows ?? "?"}×${h.columns ?? "?"}`,
      files: list
    }
  })
  return groups.sort((a, b) => (a.number ?? Infinity) - (b.number ?? Infinity) || (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0))
}

/**
 * One line about a series: `3 "T1 axial" MR, 12 slices of 256×256, UID 1.2.3…`.
 *
 * @example
 * ```ts
 * seriesLine({ uid: "1.2.3", number: 3, modality: "MR", slices: 12, size: "256×256" })
 * // "3 MR, 12 slices of 256×256, UID 1.2.3"
 * ```
 */
export const seriesLine = (s: DicomSeriesSummary): string => `${s.number !== undefined ? String(s.number) : "(no SeriesNumber)"} ${seriesText(s)}`

/**
 * A series without its number: `"T1 axial" MR, 12 slices of 256×256, UID 1.2.3…`.
 *
 * @example
 * ```ts
 * seriesText({ uid: "1.2.3", modality: "MR", slices: 1, size: "64×64" })   // "MR, 1 slice of 64×64, UID 1.2.3"
 * ```
 */
export const seriesText = (s: DicomSeriesSummary): string =>
  [
    s.description !== undefined ? JSON.stringify(s.description) : "",
    s.modality !== undefined ? `${s.description !== undefined ? " " : ""}${s.modality}` : "",
    `${s.description !== undefined || s.modality !== undefined ? ", " : ""}${s.slices} slice${s.slices === 1 ? "" : "s"} of ${s.size}, UID ${s.uid}`
  ].join("")

/**
 * The series `choice` names (its SeriesNumber or SeriesInstanceUID); without a choice, the only
 * series, or with `describe` the first by SeriesNumber. Several series and no choice, or a choice
 * that names none, is an UnsupportedError listing them all.
 */
export const chooseSeries = (
  dir: string,
  groups: ReadonlyArray<DicomSeriesGroup>,
  choice: string | undefined,
  describe: boolean
): DicomSeriesGroup | UnsupportedError => {
  const list = groups.map((g) => `series ${seriesLine(g)}`).join("; ")
  if (choice !== undefined) {
    const c = choice.trim()
    const found = groups.filter((g) => g.uid === c || (g.number !== undefined && String(g.number) === c) || (g.number === undefined && c === ""))
    if (found.length === 1) return found[0]!
    return new UnsupportedError({
      path: dir,
      detail:
        found.length === 0
          ? `no DICOM series ${JSON.stringify(c)} in the directory, which holds ${list}`
          : `${found.length} DICOM series have SeriesNumber ${c}: ${found.map((g) => `series ${seriesLine(g)}`).join("; ")}`,
      hint: found.length === 0 ? "choose one with --series <SeriesNumber or SeriesInstanceUID>" : "choose one by its SeriesInstanceUID with --series"
    })
  }
  if (groups.length === 1 || describe) return groups[0]!
  return new UnsupportedError({
    path: dir,
    detail: `the directory holds ${groups.length} DICOM series: ${list}`,
    hint: "choose one with --series <SeriesNumber or SeriesInstanceUID>; slicewise info lists them"
  })
}

/** A series laid out as a volume. */
export interface SeriesLayout {
  /** The files in z order. */
  readonly files: ReadonlyArray<DicomFile>
  /** Spacing (z, y, x) in mm. */
  readonly spacing: readonly [number, number, number]
  /** Undefined when the files give no ImagePositionPatient/ImageOrientationPatient. */
  readonly geometry?: Geometry
  /** How the slices were ordered and spaced, for `details`. */
  readonly ordering: string
}

const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
const unit = (a: Vec3): Vec3 => {
  const n = Math.sqrt(dot(a, a))
  return n > 0 ? [a[0] / n, a[1] / n, a[2] / n] : a
}
const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]]

/** Relative tolerance of slice steps: steps differing from their mean by more are "uneven". */
export const STEP_TOLERANCE = 0.01
/** Tilt tolerated (sine of the angle between the slice direction and the normal), for rounding of positions. */
export const TILT_TOLERANCE = 1e-3
/** Positions closer than this along the normal (mm) are the same position. */
const SAME_POSITION = 1e-4

/** Shortest decimals for messages: 2.5, not 2.4999999999999996. */
const num = (v: number) => String(Number(v.toPrecision(6)))

/**
 * The files of a series in z order with spacing and geometry; an UnsupportedError (uneven spacing,
 * gantry tilt, repeated positions, orientations that differ) or FormatError (a file whose size or
 * pixel format differs from the first's) naming the series and the files.
 *
 * @example
 * ```ts
 * const layout = layOut("/data/ct", group)
 * if (!(layout instanceof Error)) layout.spacing   // [2.5, 0.7, 0.7]
 * ```
 */
export const layOut = (dir: string, group: DicomSeriesGroup): SeriesLayout | UnsupportedError | FormatError => {
  const files = group.files
  const first = files[0]!
  const seriesName = `series ${group.number ?? group.uid}`
  const ps = first.header.pixelSpacing
  const [dy, dx] = ps !== undefined && ps[0]! > 0 && ps[1]! > 0 ? [ps[0]!, ps[1]!] : [1, 1]
  const located = files.every((f) => f.header.position !== undefined && f.header.orientation !== undefined)
  if (!located) {
    // No positions: the order the scanner numbered them in, and the spacing it states.
    const sorted = [...files].sort((a, b) => (a.header.instanceNumber ?? 0) - (b.header.instanceNumber ?? 0))
    const step = first.header.spacingBetweenSlices ?? first.header.sliceThickness
    return {
      files: sorted,
      spacing: [step !== undefined && step > 0 ? step : 1, dy, dx],
      ordering: `by InstanceNumber (no ImagePositionPatient/ImageOrientationPatient); z spacing ${step !== undefined && step > 0 ? `from ${first.header.spacingBetweenSlices !== undefined ? "SpacingBetweenSlices" : "SliceThickness"}` : "unknown (1)"}`
    }
  }
  const o = first.header.orientation!
  const row = unit([o[0]!, o[1]!, o[2]!])
  const col = unit([o[3]!, o[4]!, o[5]!])
  for (const f of files) {
    const p = f.header.orientation!
    if (p.some((v, i) => Math.abs(v - o[i]!) > 1e-4))
      return new UnsupportedError({
        path: f.path,
        detail: `${seriesName}: ImageOrientationPatient ${p.map(num).join("\\")} differs from ${first.name}'s ${o.map(num).join("\\")}`,
        hint: "the slices of a volume share one orientation; a localizer or a second stack may be mixed in"
      })
  }
  const normal = unit(cross(row, col))
  const keyed = files.map((f) => ({ f, d: dot(f.header.position!, normal) }))
  keyed.sort((a, b) => a.d - b.d || (a.f.header.instanceNumber ?? 0) - (b.f.header.instanceNumber ?? 0))
  for (let i = 1; i < keyed.length; i++) {
    if (keyed[i]!.d - keyed[i - 1]!.d < SAME_POSITION) {
      const same = keyed.filter((k) => Math.abs(k.d - keyed[i]!.d) < SAME_POSITION).length
      const a = keyed[i - 1]!.f.header
      const b = keyed[i]!.f.header
      const why =
        a.echoNumber !== b.echoNumber
          ? " (EchoNumbers differ: several echoes)"
          : a.temporalPosition !== b.temporalPosition
            ? " (TemporalPositionIdentifier differs: several time points)"
            : ""
      return new UnsupportedError({
        path: dir,
        detail: `${seriesName}: ${same} files share one slice position (${keyed[i - 1]!.f.name} and ${keyed[i]!.f.name}, ${num(keyed[i]!.d)} mm along the normal)${why}`,
        hint: "slicewise reads one 3D volume per series; split the echoes or time points into directories of their own"
      })
    }
  }
  const origin = keyed[0]!.f.header.position!
  const geometry: Geometry = { unit: "mm", space: "LPS", origin: [origin[0], origin[1], origin[2]], direction: [row, col, normal] }
  if (keyed.length === 1) {
    const step = first.header.spacingBetweenSlices ?? first.header.sliceThickness
    return { files: [first], spacing: [step !== undefined && step > 0 ? step : 1, dy, dx], geometry, ordering: "one slice; z spacing from SpacingBetweenSlices or SliceThickness" }
  }
  const steps = keyed.slice(1).map((k, i) => k.d - keyed[i]!.d)
  const extent = keyed[keyed.length - 1]!.d - keyed[0]!.d
  const mean = extent / steps.length
  const uneven = steps.some((s) => Math.abs(s - mean) > STEP_TOLERANCE * mean)
  if (uneven) {
    const shown = steps.length <= 12 ? steps.map(num).join(", ") : `${steps.slice(0, 12).map(num).join(", ")}, …`
    const min = Math.min(...steps)
    const max = Math.max(...steps)
    return new UnsupportedError({
      path: dir,
      detail: `${seriesName}: uneven slice spacing: steps of ${num(min)} to ${num(max)} mm along the normal (${shown})${max > 1.5 * min ? "; a slice may be missing" : ""}`,
      hint: `a volume needs one z spacing; steps may differ by ${STEP_TOLERANCE * 100} % at most`
    })
  }
  // Gantry tilt: the slices advance obliquely to their own normal.
  const along = sub(keyed[keyed.length - 1]!.f.header.position!, origin)
  const sideways = sub(along, [normal[0] * extent, normal[1] * extent, normal[2] * extent])
  const offset = Math.sqrt(dot(sideways, sideways))
  if (offset > Math.max(0.01, TILT_TOLERANCE * extent)) {
    const degrees = (Math.atan2(offset, extent) * 180) / Math.PI
    return new UnsupportedError({
      path: dir,
      detail: `${seriesName}: gantry tilt: the slices advance ${num(degrees)}° off their normal (the last slice is ${num(offset)} mm sideways of the first over ${num(extent)} mm)`,
      hint: "a tilted stack is not a rectilinear volume; resample it (e.g. dcm2niix's tilt correction) first"
    })
  }
  return { files: keyed.map((k) => k.f), spacing: [mean, dy, dx], geometry, ordering: "by ImagePositionPatient along the slice normal" }
}
