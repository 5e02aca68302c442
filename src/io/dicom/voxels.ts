/**
 * DICOM pixels to voxels: the stored dtype (BitsAllocated, PixelRepresentation), the bits outside
 * BitsStored, and the modality rescale (RescaleSlope, RescaleIntercept) with the dtype it delivers.
 *
 * Bits outside BitsStored are not part of the value (old files keep overlays there): they are
 * cleared for unsigned data and replaced by the sign bit for signed data, as GDCM and pydicom ≥ 3
 * do (pydicom 2.3's `pixel_array` leaves them as stored; its `apply_modality_lut` then scales them).
 *
 * Rescale (applied when any slice's slope or intercept is not 1 and 0): pydicom's
 * `apply_modality_lut` computes `stored · slope + intercept` in float64. slicewise delivers the
 * same values in the narrowest dtype that holds them exactly:
 * - every slice's slope and intercept integers, and the rescaled range of BitsStored values inside
 *   int16: int16 (CT Hounsfield units: slope 1, intercept −1024); inside int32: int32;
 * - otherwise float32 (float64 for 32-bit stored data), the float64 result rounded once, as
 *   `apply_modality_lut(arr, ds).astype(np.float32)` gives it.
 * Slopes and intercepts may differ between slices (PET does this): each slice is rescaled with its own.
 *
 * @example
 * ```ts
 * const fmt = pixelFormat(header)                          // { stored: "int16", bitsStored: 12, … }
 * rescaledDtype(fmt, [{ slope: 1, intercept: -1024 }])     // "int16"
 * rescaledDtype(fmt, [{ slope: 0.5, intercept: 0 }])       // "float32"
 * ```
 */
import { bytesPerVoxel, type DType, type VoxelArray } from "../../algebra/dtype.js"
import type { DicomHeader } from "./parse.js"

/** How the pixels of a series are stored. */
export interface PixelFormat {
  readonly rows: number
  readonly columns: number
  /** uint8/int8/uint16/int16/uint32/int32, from BitsAllocated and PixelRepresentation. */
  readonly stored: DType
  readonly bitsAllocated: number
  readonly bitsStored: number
  readonly signed: boolean
}

/** The attributes a slice cannot be read without: field, name and tag. */
const REQUIRED = [
  ["rows", "Rows", "(0028,0010)"],
  ["columns", "Columns", "(0028,0011)"],
  ["bitsAllocated", "BitsAllocated", "(0028,0100)"]
] as const

/** The pixel format a header states, or a phrase saying what is missing or not supported. */
export const pixelFormat = (h: DicomHeader): PixelFormat | { readonly problem: string; readonly unsupported: boolean; readonly tag: string } => {
  const missing = REQUIRED.filter(([k]) => h[k] === undefined)
  if (missing.length > 0)
    return { problem: `it has PixelData but no ${missing.map(([, name, tag]) => `${name} ${tag}`).join(", ")}`, unsupported: false, tag: missing[0]![2] }
  const found = (tag: string, problem: string, unsupported = true) => ({ problem, unsupported, tag })
  const samples = h.samplesPerPixel ?? 1
  if (samples !== 1)
    return found("(0028,0002)", `${h.photometric ?? "colour"} pixels (SamplesPerPixel ${samples}); slicewise reads one sample per pixel (MONOCHROME1/2)`)
  if ((h.frames ?? 1) > 1) return found("(0028,0008)", `a multi-frame image (NumberOfFrames ${h.frames}); slicewise reads one slice per file`)
  const ba = h.bitsAllocated!
  if (ba !== 8 && ba !== 16 && ba !== 32) return found("(0028,0100)", `BitsAllocated ${ba} (8, 16 or 32 are read)`)
  const bs = h.bitsStored ?? ba
  if (bs < 1 || bs > ba) return found("(0028,0101)", `BitsStored ${bs} with BitsAllocated ${ba}`, false)
  if (h.highBit !== undefined && h.highBit !== bs - 1)
    return found("(0028,0102)", `HighBit ${h.highBit} with BitsStored ${bs} (stored bits not at the bottom of the word)`)
  const signed = h.pixelRepresentation === 1
  const stored: DType = ba === 8 ? (signed ? "int8" : "uint8") : ba === 16 ? (signed ? "int16" : "uint16") : signed ? "int32" : "uint32"
  return { rows: h.rows!, columns: h.columns!, stored, bitsAllocated: ba, bitsStored: bs, signed }
}

/** The stored bytes of one slice. */
export const rawSliceBytes = (f: PixelFormat): number => f.rows * f.columns * bytesPerVoxel(f.stored)

/** A slice's rescale. */
export interface Rescale {
  readonly slope: number
  readonly intercept: number
}

/** The rescale a header states; absent values are 1 and 0. */
export const rescaleOf = (h: DicomHeader): Rescale => ({ slope: h.slope ?? 1, intercept: h.intercept ?? 0 })

const isIdentity = (r: Rescale) => r.slope === 1 && r.intercept === 0

/** True when any slice's rescale changes its values. */
export const rescales = (all: ReadonlyArray<Rescale>): boolean => all.some((r) => !isIdentity(r))

/** The range of values BitsStored holds. */
const storedRange = (f: PixelFormat): readonly [number, number] =>
  f.signed ? [-(2 ** (f.bitsStored - 1)), 2 ** (f.bitsStored - 1) - 1] : [0, 2 ** f.bitsStored - 1]

/**
 * The dtype rescaled voxels are delivered in (see the module doc); the stored dtype when no slice
 * rescales.
 */
export const rescaledDtype = (f: PixelFormat, all: ReadonlyArray<Rescale>): DType => {
  if (!rescales(all)) return f.stored
  const [lo, hi] = storedRange(f)
  let min = Infinity
  let max = -Infinity
  let integral = true
  for (const r of all) {
    if (!Number.isInteger(r.slope) || !Number.isInteger(r.intercept)) integral = false
    const a = lo * r.slope + r.intercept
    const b = hi * r.slope + r.intercept
    min = Math.min(min, a, b)
    max = Math.max(max, a, b)
  }
  if (integral && min >= -32768 && max <= 32767) return "int16"
  if (integral && min >= -(2 ** 31) && max <= 2 ** 31 - 1) return "int32"
  return f.bitsAllocated === 32 ? "float64" : "float32"
}

/**
 * Clears (unsigned) or sign-extends (signed) the bits above BitsStored of the stored voxels in
 * `v`, in place. A no-op when BitsStored fills the word.
 */
export const maskStored = (f: PixelFormat, v: VoxelArray, n: number): void => {
  const bs = f.bitsStored
  if (bs >= f.bitsAllocated) return
  if (!f.signed) {
    const mask = bs === 32 ? 0xffffffff : 2 ** bs - 1
    for (let i = 0; i < n; i++) v[i] = v[i]! & mask
    return
  }
  // Shift the sign bit to bit 31 and back: an arithmetic shift copies it into the upper bits.
  const shift = 32 - bs
  for (let i = 0; i < n; i++) v[i] = (v[i]! << shift) >> shift
}

/**
 * Writes `stored · slope + intercept` of the `n` stored voxels `src` into `out` (of the delivered
 * dtype). Computed in float64 as pydicom does; an integer `out` receives exact integers (the dtype
 * rule guarantees they fit), a float32 one the float64 value rounded once.
 */
export const rescaleInto = (src: VoxelArray, out: VoxelArray, n: number, r: Rescale): void => {
  const { slope, intercept } = r
  for (let i = 0; i < n; i++) out[i] = src[i]! * slope + intercept
}
