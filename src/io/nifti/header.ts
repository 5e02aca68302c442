/**
 * The NIfTI-1 header: 348 bytes at the start of a `.nii` (or of the decompressed `.nii.gz`),
 * parsed into the facts slicewise needs and written back from them.
 *
 * Only what a reader needs is interpreted (dims, datatype, spacing, vox_offset, scaling, the two
 * orientations); the rest is kept as raw bytes so that a writer given the source's header as a
 * template preserves it (descrip, intent, units, slice timing …).
 *
 * @example
 * ```ts
 * const h = parseNiftiHeader(first352Bytes, "brain.nii")   // Either<NiftiHeader, IoError>
 * const bytes = formatNiftiHeader(info, { template: h })   // 352 bytes: header + empty extension flag
 * ```
 */
import * as Either from "effect/Either"
import type { DType } from "../../algebra/dtype.js"
import { bytesPerVoxel } from "../../algebra/dtype.js"
import type { VolumeInfo } from "../../algebra/volume.js"
import { FormatError, UnsupportedError, type IoError } from "../../algebra/io-errors.js"
import { sameGeometry } from "../../algebra/geometry.js"
import { niftiGeometry, niftiOrientation, type NiftiOrientation } from "./orientation.js"

/** Size of the NIfTI-1 header proper. */
export const HEADER_BYTES = 348
/** Header plus the 4-byte extension flag: where a single-file `.nii` normally puts its data. */
export const MIN_VOX_OFFSET = 352

/** NIfTI-1 datatype codes of the dtypes slicewise handles. */
const CODE_OF: Record<DType, number> = {
  uint8: 2,
  int16: 4,
  int32: 8,
  float32: 16,
  float64: 64,
  int8: 256,
  uint16: 512,
  uint32: 768
}

/** Names of the codes slicewise does not handle, for a useful message. */
const OTHER_CODES: Record<number, string> = {
  1: "binary (1 bit)",
  32: "complex64",
  128: "rgb24",
  1024: "int64",
  1280: "uint64",
  1536: "float128",
  1792: "complex128",
  2048: "complex256",
  2304: "rgba32"
}

const DTYPE_OF = new Map<number, DType>(Object.entries(CODE_OF).map(([d, c]) => [c, d as DType]))

/** The NIfTI datatype code of a dtype. */
export const niftiDatatype = (d: DType): number => CODE_OF[d]

/** What slicewise reads from a NIfTI-1 header. */
export interface NiftiHeader {
  readonly littleEndian: boolean
  /** "n+1" (single file) or "ni1" (separate .hdr/.img). */
  readonly magic: string
  /** dim[0..7]. */
  readonly dim: ReadonlyArray<number>
  readonly dtype: DType
  /** pixdim[0..7]; pixdim[0] is qfac. */
  readonly pixdim: ReadonlyArray<number>
  readonly voxOffset: number
  readonly sclSlope: number
  readonly sclInter: number
  readonly xyztUnits: number
  readonly qformCode: number
  readonly sformCode: number
  /** quatern_b, c, d, qoffset_x, y, z. */
  readonly quatern: ReadonlyArray<number>
  /** srow_x, srow_y, srow_z: the sform affine's first three rows. */
  readonly srow: ReadonlyArray<ReadonlyArray<number>>
  readonly descrip: string
  /** The 348 header bytes as read (in the file's byte order), for writers that keep the header. */
  readonly raw: Uint8Array
}

const text = (bytes: Uint8Array, start: number, length: number): string => {
  const part = bytes.subarray(start, start + length)
  const end = part.indexOf(0)
  return Buffer.from(end < 0 ? part : part.subarray(0, end)).toString("latin1")
}

/**
 * Parses the first 348 (or more) bytes of a NIfTI-1 file. Fails with FormatError (not NIfTI-1,
 * inconsistent fields) or UnsupportedError (NIfTI-2, a datatype slicewise does not handle).
 */
export const parseNiftiHeader = (bytes: Uint8Array, path: string): Either.Either<NiftiHeader, IoError> => {
  if (bytes.length < HEADER_BYTES)
    return Either.left(
      new FormatError({
        path,
        position: `byte ${bytes.length}`,
        detail: `the file ends after ${bytes.length} bytes, inside the ${HEADER_BYTES}-byte NIfTI-1 header`,
        hint: "the file is truncated or not NIfTI"
      })
    )
  const dv = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES)
  const le = dv.getInt32(0, true)
  const be = dv.getInt32(0, false)
  if (le === 540 || be === 540)
    return Either.left(new UnsupportedError({ path, detail: "NIfTI-2 (540-byte header)", hint: "convert to NIfTI-1, e.g. with nibabel: nib.Nifti1Image(img.dataobj, img.affine)" }))
  if (le !== HEADER_BYTES && be !== HEADER_BYTES)
    return Either.left(
      new FormatError({ path, position: "header field sizeof_hdr (byte 0)", detail: `sizeof_hdr is ${le}, not 348: not a NIfTI-1 file` })
    )
  const little = le === HEADER_BYTES
  const i16 = (o: number) => dv.getInt16(o, little)
  const f32 = (o: number) => dv.getFloat32(o, little)
  const magic = text(bytes, 344, 4)
  if (magic !== "n+1" && magic !== "ni1")
    return Either.left(
      new UnsupportedError({
        path,
        detail: `magic "${magic}" (ANALYZE 7.5 or damaged NIfTI)`,
        hint: 'slicewise reads NIfTI-1, whose magic is "n+1" (.nii) or "ni1" (.hdr/.img)'
      })
    )
  const dim = Array.from({ length: 8 }, (_, i) => i16(40 + 2 * i))
  if (dim[0]! < 1 || dim[0]! > 7)
    return Either.left(new FormatError({ path, position: "header field dim[0] (byte 40)", detail: `dim[0] is ${dim[0]}; it must be 1…7` }))
  for (let i = 1; i <= dim[0]!; i++)
    if (dim[i]! < 1)
      return Either.left(new FormatError({ path, position: `header field dim[${i}] (byte ${40 + 2 * i})`, detail: `dim[${i}] is ${dim[i]}; sizes must be at least 1` }))
  const code = i16(70)
  const dtype = DTYPE_OF.get(code)
  if (dtype === undefined)
    return Either.left(
      new UnsupportedError({
        path,
        detail: `datatype ${code}${OTHER_CODES[code] ? ` (${OTHER_CODES[code]})` : ""}`,
        hint: "slicewise reads uint8, int8, uint16, int16, uint32, int32, float32 and float64"
      })
    )
  const bitpix = i16(72)
  if (bitpix !== 8 * bytesPerVoxel(dtype))
    return Either.left(
      new FormatError({ path, position: "header field bitpix (byte 72)", detail: `bitpix is ${bitpix} but datatype ${code} (${dtype}) has ${8 * bytesPerVoxel(dtype)} bits` })
    )
  const pixdim = Array.from({ length: 8 }, (_, i) => f32(76 + 4 * i))
  const voxOffset = f32(108)
  if (!Number.isInteger(voxOffset) || voxOffset < 0)
    return Either.left(new FormatError({ path, position: "header field vox_offset (byte 108)", detail: `vox_offset is ${voxOffset}; it must be a whole number of bytes` }))
  if (magic === "n+1" && voxOffset < MIN_VOX_OFFSET)
    return Either.left(
      new FormatError({ path, position: "header field vox_offset (byte 108)", detail: `vox_offset is ${voxOffset}, inside the header; a single-file NIfTI-1 puts data at byte 352 or later` })
    )
  return Either.right({
    littleEndian: little,
    magic,
    dim,
    dtype,
    pixdim,
    voxOffset,
    sclSlope: f32(112),
    sclInter: f32(116),
    xyztUnits: bytes[123]!,
    qformCode: i16(252),
    sformCode: i16(254),
    quatern: Array.from({ length: 6 }, (_, i) => f32(256 + 4 * i)),
    srow: [0, 1, 2].map((r) => Array.from({ length: 4 }, (_, c) => f32(280 + 16 * r + 4 * c))),
    descrip: text(bytes, 148, 80),
    raw: bytes.slice(0, HEADER_BYTES)
  })
}

const SPACE_UNITS: Record<number, string> = { 0: "unknown", 1: "m", 2: "mm", 3: "µm" }
const XFORM: Record<number, string> = { 0: "unknown", 1: "scanner", 2: "aligned", 3: "talairach", 4: "mni152", 5: "template" }

const fmt = (v: number): string => String(Number(v.toPrecision(7)))

/** Facts for `slicewise info`: orientation, spacing units, scaling. */
export const headerDetails = (h: NiftiHeader): Record<string, string | number | boolean> => ({
  endian: h.littleEndian ? "little" : "big",
  "vox_offset": h.voxOffset,
  dim: h.dim.slice(1, h.dim[0]! + 1).join("×") + " (x×y×z…)",
  "spacing units": SPACE_UNITS[h.xyztUnits & 7] ?? `code ${h.xyztUnits & 7}`,
  scl_slope: h.sclSlope,
  scl_inter: h.sclInter,
  qform: `${h.qformCode} (${XFORM[h.qformCode] ?? "?"}) quatern ${h.quatern.map(fmt).join(" ")}`,
  sform: `${h.sformCode} (${XFORM[h.sformCode] ?? "?"}) ${h.srow.map((r) => `[${r.map(fmt).join(" ")}]`).join(" ")}`,
  ...(h.descrip ? { descrip: h.descrip } : {})
})

/** True when scl_slope asks for scaling (0 and NaN mean "none", as in the standard). */
export const hasScaling = (h: Pick<NiftiHeader, "sclSlope" | "sclInter">): boolean =>
  h.sclSlope !== 0 && Number.isFinite(h.sclSlope) && !(h.sclSlope === 1 && (h.sclInter === 0 || !Number.isFinite(h.sclInter)))

export interface FormatOptions {
  /** A header to keep (orientation, units, description …); dims, datatype and offsets are replaced. */
  readonly template?: NiftiHeader
  /** scl_slope / scl_inter to record (default 0 / 0: no scaling). */
  readonly scale?: { readonly slope: number; readonly inter: number }
}

/**
 * The 352 bytes a slicewise `.nii` starts with: a little-endian NIfTI-1 header (magic "n+1",
 * vox_offset 352) and an extension flag of zeros (no extensions). The sform and qform state the
 * volume's geometry (see orientation.ts), or the template's when that is the same geometry.
 */
export const formatNiftiHeader = (info: VolumeInfo, options: FormatOptions = {}): Uint8Array => {
  const out = new Uint8Array(MIN_VOX_OFFSET)
  const t = options.template
  const dv = new DataView(out.buffer)
  if (t !== undefined) {
    // Keep every field of the template, converting its byte order field by field where it is not ours.
    out.set(t.raw)
    if (!t.littleEndian) swapHeaderFields(out)
  }
  const [nz, ny, nx] = info.shape
  const [sz, sy, sx] = info.spacing
  dv.setInt32(0, HEADER_BYTES, true)
  const dims = [3, nx, ny, nz, 1, 1, 1, 1]
  dims.forEach((d, i) => dv.setInt16(40 + 2 * i, d, true))
  dv.setInt16(70, niftiDatatype(info.dtype), true)
  dv.setInt16(72, 8 * bytesPerVoxel(info.dtype), true)
  const qfac = t !== undefined && t.pixdim[0] === -1 ? -1 : 1
  const pix = [qfac, sx, sy, sz, t?.pixdim[4] ?? 0, t?.pixdim[5] ?? 0, t?.pixdim[6] ?? 0, t?.pixdim[7] ?? 0]
  pix.forEach((p, i) => dv.setFloat32(76 + 4 * i, p, true))
  // A template whose orientation is the volume's is kept bit for bit (codes, quaternion rounding).
  if (t === undefined || !statesGeometry(t, info)) writeOrientation(dv, out, niftiOrientation(info.spacing, info.geometry))
  dv.setFloat32(108, MIN_VOX_OFFSET, true)
  dv.setFloat32(112, options.scale?.slope ?? 0, true)
  dv.setFloat32(116, options.scale?.inter ?? 0, true)
  // cal_max/cal_min and glmax/glmin describe the template's voxels, not these: clear them.
  dv.setFloat32(124, 0, true)
  dv.setFloat32(128, 0, true)
  dv.setInt32(140, 0, true)
  dv.setInt32(144, 0, true)
  out.set([0x6e, 0x2b, 0x31, 0], 344) // "n+1\0"
  return out
}

/** True when the template's orientation and units are the volume's geometry. */
const statesGeometry = (t: NiftiHeader, info: VolumeInfo): boolean => {
  const g = niftiGeometry(t)
  return g === undefined || info.geometry === undefined ? g === info.geometry : sameGeometry(g, info.geometry)
}

/** Writes pixdim[0..3], the space unit (time unit kept), qform and sform. */
const writeOrientation = (dv: DataView, out: Uint8Array, o: NiftiOrientation): void => {
  dv.setFloat32(76, o.qfac, true)
  o.pixdim.forEach((p, i) => dv.setFloat32(80 + 4 * i, p, true))
  out[123] = (out[123]! & ~7) | o.unitCode
  dv.setInt16(252, o.formCode, true)
  dv.setInt16(254, o.formCode, true)
  o.quatern.forEach((q, i) => dv.setFloat32(256 + 4 * i, q, true))
  o.srow.forEach((r, i) => r.forEach((v, j) => dv.setFloat32(280 + 16 * i + 4 * j, v, true)))
}

/** Byte-swaps, in place, every multi-byte field of a NIfTI-1 header (big-endian template → little). */
const swapHeaderFields = (h: Uint8Array): void => {
  const swap = (o: number, w: number) => h.subarray(o, o + w).reverse()
  // int32 sizeof_hdr, extents; int16 session_error; int16 dim[8]; floats intent_p1..3; int16 intent_code, datatype,
  // bitpix, slice_start; float pixdim[8], vox_offset, scl_slope, scl_inter; int16 slice_end; float cal_max, cal_min,
  // slice_duration, toffset; int32 glmax, glmin; int16 qform_code, sform_code; float quatern…srow_z.
  swap(0, 4)
  swap(32, 4)
  swap(36, 2)
  for (let i = 0; i < 8; i++) swap(40 + 2 * i, 2)
  for (let o = 56; o < 68; o += 4) swap(o, 4)
  for (let o = 68; o < 76; o += 2) swap(o, 2)
  for (let o = 76; o < 120; o += 4) swap(o, 4)
  swap(120, 2)
  for (let o = 124; o < 148; o += 4) swap(o, 4)
  swap(252, 2)
  swap(254, 2)
  for (let o = 256; o < 328; o += 4) swap(o, 4)
}
