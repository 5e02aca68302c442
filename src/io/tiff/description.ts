/**
 * The ImageJ-style ImageDescription, read and written: the hyperstack sizes (images, channels,
 * slices, frames, order), the z spacing, the unit and the origin (ImageJ stores it in pixels).
 * slicewise writes ImageJ's own description for the dtypes ImageJ reads (uint8, uint16, float32)
 * and the same lines under `slicewise=1` for the others, so that one parser reads both.
 *
 * @example
 * ```ts
 * const fields = descriptionFields("ImageJ=1.11a\nimages=32\nchannels=2\nslices=16\nunit=micron\n")
 * imagejFacts(fields)   // { images: 32, channels: 2, slices: 16, frames: 1, order: "czt", unit: "micron", … }
 * describeVolume(volumeInfo("uint16", [16, 64, 64], [2, 0.5, 0.5], { unit: "µm", origin: [0, 0, 0], direction: IDENTITY_DIRECTION }), 16)
 * // "ImageJ=1.11a\nimages=16\nslices=16\nunit=micron\nspacing=2\nloop=false\n"
 * ```
 */
import { convertUnit, geometryOf, geometryDrops, type Geometry, type LengthUnit, type Vec3 } from "../../algebra/geometry.js"
import type { Spacing, VolumeInfo } from "../../algebra/volume.js"

/**
 * key=value lines of an ImageJ-style description; a value may itself hold "=" (ImageJ's `info=`).
 *
 * @example
 * ```ts
 * descriptionFields("ImageJ=1.53t\nspacing=2.5\n").get("spacing")   // "2.5"
 * ```
 */
export const descriptionFields = (text: string): Map<string, string> => {
  const fields = new Map<string, string>()
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=")
    if (eq > 0) fields.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim())
  }
  return fields
}

/**
 * ImageJ escapes non-ASCII characters of its description as "\u00B5"; this undoes it.
 *
 * @example
 * ```ts
 * unescapeImageJ("\\u00B5m")   // "µm"
 * ```
 */
export const unescapeImageJ = (s: string): string => s.replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))

/** What an ImageJ (or slicewise) description says, in its own terms: sizes, pixels, unit names. */
export interface ImageJFacts {
  /** `images=`: pages of pixel data in the file (ImageJ's one-IFD files store them after IFD 0). */
  readonly images: number | undefined
  readonly channels: number
  readonly slices: number
  readonly frames: number
  /** `order=`, lower case; ImageJ's default "czt" is channels fastest, then slices, then frames. */
  readonly order: string
  /** `spacing=`, the z spacing, when positive. */
  readonly spacing: number | undefined
  /** `unit=`, unescaped ("µm", "micron", "pixel" …); `yunit=`/`zunit=` where ImageJ wrote them. */
  readonly unit: string | undefined
  readonly yunit: string | undefined
  readonly zunit: string | undefined
  /** `xorigin=`, `yorigin=`, `zorigin=`: where the physical origin is, in pixels. */
  readonly originPixels: Vec3
}

const positiveInteger = (text: string | undefined, fallback: number): number => {
  const n = Number(text)
  return text !== undefined && Number.isInteger(n) && n >= 1 ? n : fallback
}

const finiteOr = (text: string | undefined, fallback: number): number => {
  const n = Number(text)
  return text !== undefined && text !== "" && Number.isFinite(n) ? n : fallback
}

const textOf = (text: string | undefined): string | undefined => (text === undefined || text === "" ? undefined : unescapeImageJ(text))

/**
 * The facts of an ImageJ description's fields.
 *
 * @example
 * ```ts
 * imagejFacts(descriptionFields("ImageJ=1.11a\nxorigin=4\n")).originPixels   // [4, 0, 0]
 * ```
 */
export const imagejFacts = (fields: ReadonlyMap<string, string>): ImageJFacts => {
  const spacing = Number(fields.get("spacing"))
  const images = positiveInteger(fields.get("images"), 0)
  return {
    images: images > 0 ? images : undefined,
    channels: positiveInteger(fields.get("channels"), 1),
    slices: positiveInteger(fields.get("slices"), 1),
    frames: positiveInteger(fields.get("frames"), 1),
    order: (fields.get("order") ?? "czt").toLowerCase(),
    spacing: fields.has("spacing") && Number.isFinite(spacing) && spacing > 0 ? spacing : undefined,
    unit: textOf(fields.get("unit")),
    yunit: textOf(fields.get("yunit")),
    zunit: textOf(fields.get("zunit")),
    originPixels: [finiteOr(fields.get("xorigin"), 0), finiteOr(fields.get("yorigin"), 0), finiteOr(fields.get("zorigin"), 0)]
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * The unit names ImageJ reads, and what slicewise writes a unit ImageJ has no name for in:
 * ImageJ writes "micron" for µm (Fiji's files say `unit=micron`), and knows nm, mm, cm, m, km and
 * inch; picometres and ångströms become nanometres, feet inches.
 */
const IMAGEJ_UNIT: Readonly<Record<LengthUnit, readonly [written: LengthUnit, name: string]>> = {
  km: ["km", "km"],
  m: ["m", "m"],
  cm: ["cm", "cm"],
  mm: ["mm", "mm"],
  µm: ["µm", "micron"],
  nm: ["nm", "nm"],
  pm: ["nm", "nm"],
  Å: ["nm", "nm"],
  in: ["in", "inch"],
  ft: ["in", "inch"]
}

/** Spacing, unit and origin as a TIFF holds them: in a unit ImageJ names, origin in pixels. */
export interface WrittenPhysical {
  /** (z, y, x), in `unit`: X/YResolution and `spacing=`. */
  readonly spacing: Spacing
  /** ImageJ's name of the unit ("micron"); absent when the volume has none. */
  readonly unitName: string | undefined
  /** `xorigin=`, `yorigin=`, `zorigin=`: minus the origin over the spacing; absent when the origin is 0. */
  readonly originPixels: Vec3 | undefined
}

/**
 * How a TIFF writer writes the spacing, unit and origin of `info` (see WrittenPhysical).
 *
 * @example
 * ```ts
 * writtenPhysical(volumeInfo("uint8", [2, 4, 4], [2, 1, 1], { unit: "pm", origin: [-1000, 0, 0], direction: IDENTITY_DIRECTION }))
 * // { spacing: [0.002, 0.001, 0.001], unitName: "nm", originPixels: [1000, 0, 0] }
 * ```
 */
export const writtenPhysical = (info: VolumeInfo): WrittenPhysical => {
  const g = geometryOf(info)
  const target = g.unit === undefined ? undefined : IMAGEJ_UNIT[g.unit][0]
  const { spacing, geometry } = target === undefined ? { spacing: info.spacing, geometry: g } : convertUnit(info.spacing, g, target)
  const o = geometry.origin
  const zero = o[0] === 0 && o[1] === 0 && o[2] === 0
  // ImageJ's calibrated position of pixel p is (p − origin) · spacing, so origin = −position / spacing;
  // `+ 0` turns −0 into 0 for the text.
  const pixels = (v: number, s: number) => -v / s + 0
  return {
    spacing,
    unitName: target === undefined ? undefined : IMAGEJ_UNIT[target][1],
    originPixels: zero ? undefined : [pixels(o[0], spacing[2]), pixels(o[1], spacing[1]), pixels(o[2], spacing[0])]
  }
}

/**
 * The description slicewise writes in a file of `pages` pages: ImageJ's, for every dtype — tifffile
 * reads an ImageJ description whatever the sample format (int8 … float64), and Fiji takes the
 * calibration from it. Lines in ImageJ's order: sizes, unit, spacing, loop, then non-zero origins.
 * The raw and compressed writers both take it from here. (Files written before said `slicewise=1`
 * for dtypes other than uint8, uint16 and float32; the reader still reads those.)
 *
 * @example
 * ```ts
 * describeVolume(volumeInfo("uint8", [5, 8, 8], [2.5, 1, 1]), 5)
 * // "ImageJ=1.11a\nimages=5\nslices=5\nspacing=2.5\nloop=false\n"
 * ```
 */
export const describeVolume = (info: VolumeInfo, pages: number): string => {
  const w = writtenPhysical(info)
  const lines = ["ImageJ=1.11a"]
  if (pages > 1) lines.push(`images=${pages}`, `slices=${pages}`)
  if (w.unitName !== undefined) lines.push(`unit=${w.unitName}`)
  lines.push(`spacing=${w.spacing[0]}`, "loop=false")
  if (w.originPixels !== undefined) {
    const [x, y, z] = w.originPixels
    if (x !== 0) lines.push(`xorigin=${x}`)
    if (y !== 0) lines.push(`yorigin=${y}`)
    if (z !== 0) lines.push(`zorigin=${z}`)
  }
  return lines.join("\n") + "\n"
}

/**
 * What a TIFF cannot hold of a volume's geometry, as short phrases (see SliceSink.drops): the
 * direction unless axis-aligned, the anatomical frame; and, when the description is not written,
 * the z spacing, unit and origin.
 *
 * @example
 * ```ts
 * tiffDrops(volumeInfo("int16", [4, 4, 4], [1, 1, 1], { space: "LPS", origin: [0, 0, 0], direction: IDENTITY_DIRECTION }), true)
 * // ["the anatomical frame (LPS)"]
 * ```
 */
export const tiffDrops = (info: VolumeInfo, withDescription: boolean): ReadonlyArray<string> => {
  const g: Geometry | undefined = info.geometry
  const out = [...geometryDrops(info, { spacing: true, unit: true, origin: true, direction: false, space: false })]
  // Without the description only X/YResolution is left: the z spacing, unit and origin go too.
  if (!withDescription) {
    if (info.shape[0] > 1 && info.spacing[0] !== 1) out.push("the z spacing")
    if (g?.unit !== undefined) out.push("the unit")
    if (g !== undefined && g.origin.some((v) => v !== 0)) out.push("the origin")
  }
  return out
}
