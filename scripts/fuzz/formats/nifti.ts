/**
 * NIfTI-1 seeds for the fuzzers: `.nii` (several dtypes, big-endian, an extension, scaled) and
 * `.nii.gz` files from test/fixtures/nifti. Fields are the header's sizeof_hdr, dim[0..7],
 * datatype, bitpix, pixdim, vox_offset, scl_slope/inter and magic. A `.nii.gz` is fuzzed twice:
 * its decompressed bytes mutated and gzipped again (header fields reach the parser), and its
 * compressed bytes mutated as they are (the gzip reader).
 */
import { gzipSync } from "node:zlib"
import { fixture } from "../seeds.js"
import type { Field, Seed } from "../types.js"
import { gunzipSync } from "node:zlib"

export const niftiFields = (file: string, b: Uint8Array): Array<Field> => {
  const little = new DataView(b.buffer, b.byteOffset, b.byteLength).getInt32(0, true) === 348
  const f = (offset: number, width: Field["width"], name: string, values?: Array<number>): Field => ({ file, offset, width, little, name, ...(values ? { values } : {}) })
  return [
    f(0, 4, "sizeof_hdr", [348, 540]),
    ...Array.from({ length: 8 }, (_, i) => f(40 + 2 * i, 2, `dim[${i}]`, [3, 4, 7, 8])),
    f(70, 2, "datatype", [2, 4, 8, 16, 64, 256, 512, 768, 1024, 1280, 128, 32, 1536, 2304]),
    f(72, 2, "bitpix", [8, 16, 32, 64, 24, 128]),
    ...Array.from({ length: 4 }, (_, i) => f(76 + 4 * i, "f32", `pixdim[${i}]`)),
    f(108, "f32", "vox_offset", [352, 348, 0, 4, 1e9]),
    f(112, "f32", "scl_slope"),
    f(116, "f32", "scl_inter"),
    f(344, 4, "magic", [0x6e2b3100, 0x6e693100, 0x6e2b3200]),
    f(348, 4, "extension", [1, 0x01000000])
  ]
}

const NII = ["uint8.nii", "uint16.nii", "int32.nii", "float64.nii", "be-int16.nii", "extension.nii", "scaled-int16.nii"]
const GZ = ["int8.nii.gz", "float32.nii.gz", "uint32.nii.gz", "4d.nii.gz", "blocks-uint8.nii.gz", "scaled-uint8.nii.gz"]

export const niftiSeeds = (): Array<Seed> => [
  ...NII.map((f) => {
    const b = fixture(`nifti/${f}`)
    return { name: f, files: { [f]: b }, entry: f, fields: niftiFields(f, b) }
  }),
  ...GZ.map((f) => {
    const plain = new Uint8Array(gunzipSync(fixture(`nifti/${f}`)))
    return {
      name: `${f} (content)`,
      files: { [f]: plain },
      entry: f,
      fields: niftiFields(f, plain),
      finish: (files: Record<string, Uint8Array>) => Object.fromEntries(Object.entries(files).map(([k, v]) => [k, new Uint8Array(gzipSync(v, { level: 1 }))]))
    }
  }),
  ...GZ.map((f) => ({ name: `${f} (compressed)`, files: { [f]: fixture(`nifti/${f}`) }, entry: f, fields: [] }))
]
