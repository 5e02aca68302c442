/**
 * TIFF/BigTIFF seeds for the fuzzers: classic, BigTIFF, big-endian, compressed (deflate, LZW,
 * PackBits, zstd, predictors), tiled, ImageJ and OME files and a stack, from test/fixtures/tiff.
 * Their fields are every IFD entry's type, count and value/offset, each IFD's entry count and its
 * next-IFD pointer (tried with the IFD's own offset and the first IFD's: loops).
 */
import { fixture, fixtureTree } from "../seeds.js"
import type { Field, Seed } from "../types.js"

/** The fields of a TIFF's header and IFD chain (at most 8 IFDs), found by walking it. */
export const tiffFields = (file: string, b: Uint8Array): Array<Field> => {
  const fields: Array<Field> = []
  if (b.length < 16) return fields
  const little = b[0] === 0x49
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const big = v.getUint16(2, little) === 43
  const off = (at: number) => (big ? Number(v.getBigUint64(at, little)) : v.getUint32(at, little))
  const w = big ? 8 : 4
  const first = off(big ? 8 : 4)
  fields.push({ file, offset: big ? 8 : 4, width: w, little, name: "first IFD offset", values: [0, 1, b.length, b.length - 2] })
  let ifd = first
  for (let k = 0; k < 8 && ifd > 0 && ifd + (big ? 8 : 2) <= b.length; k++) {
    const count = big ? Number(v.getBigUint64(ifd, little)) : v.getUint16(ifd, little)
    fields.push({ file, offset: ifd, width: big ? 8 : 2, little, name: `IFD ${k} entry count`, values: [0, 1, 0xffff] })
    const entries = ifd + (big ? 8 : 2)
    const size = big ? 20 : 12
    for (let e = 0; e < count && entries + (e + 1) * size <= b.length; e++) {
      const at = entries + e * size
      const tag = v.getUint16(at, little)
      fields.push({ file, offset: at + 2, width: 2, little, name: `IFD ${k} tag ${tag} type`, values: [1, 2, 3, 4, 5, 11, 12, 16, 17] })
      fields.push({ file, offset: at + 4, width: w, little, name: `IFD ${k} tag ${tag} count` })
      fields.push({ file, offset: at + 4 + w, width: w, little, name: `IFD ${k} tag ${tag} value`, values: [b.length, b.length - 1, ifd] })
      if (!big) fields.push({ file, offset: at + 8, width: 2, little, name: `IFD ${k} tag ${tag} short value` })
    }
    const nextAt = entries + count * size
    if (nextAt + w > b.length) break
    fields.push({ file, offset: nextAt, width: w, little, name: `IFD ${k} next`, values: [ifd, first, b.length] })
    ifd = off(nextAt)
  }
  return fields
}

const FILES = [
  "classic/uint8.tif", "classic/int16.tif", "classic/float32.tif", "bigtiff/uint16.tif", "bigtiff/float64.tif",
  "be/int32.tif", "be/bigtiff_uint16.tif", "compressed/lzw_uint8.tif", "compressed/lzw_pred_uint16.tif",
  "compressed/zlib_int16.tif", "compressed/deflate_fpred_float32.tif", "compressed/packbits_uint16.tif",
  "compressed/zstd_pred_uint16.tif", "compressed/be_zlib_pred_int32.tif", "tiled/tiled_uint16.tif",
  "tiled/tiled_zlib_pred_int16.tif", "special/reversed_strips_uint16.tif", "special/imagej_one_ifd_uint16.tif",
  "axes/imagej_stack.tif", "axes/ome_xyzct.ome.tif", "axes/shaped_zyx.tif"
]

export const tiffSeeds = (): Array<Seed> => {
  const seeds: Array<Seed> = FILES.map((rel) => {
    const name = rel.split("/").pop()!.replace(/^/, "x-")
    const bytes = fixture(`tiff/${rel}`)
    return { name: rel, files: { [name]: bytes }, entry: name, fields: tiffFields(name, bytes) }
  })
  const stack = fixtureTree("tiff/stack_be_zlib_float32", "stack")
  seeds.push({ name: "stack_be_zlib_float32", files: stack, entry: "stack", fields: Object.entries(stack).flatMap(([k, b]) => tiffFields(k, b)) })
  return seeds
}
