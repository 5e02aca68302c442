/**
 * DICOM seeds for the fuzzers: single files (explicit and implicit VR, big-endian, RLE, deflated,
 * padded, CT) and small series directories, from test/fixtures/dicom. Fields are the image-pixel
 * elements (Rows, Columns, Bits Allocated/Stored, High Bit, Pixel Representation, Samples per
 * Pixel, Number of Frames) and Pixel Data's length, wherever their tags occur, read as explicit
 * or implicit VR in either byte order.
 */
import { fixture, fixtureTree } from "../seeds.js"
import type { Field, Seed } from "../types.js"

const TAGS: ReadonlyArray<readonly [number, number, string]> = [
  [0x0028, 0x0010, "Rows"], [0x0028, 0x0011, "Columns"], [0x0028, 0x0100, "BitsAllocated"], [0x0028, 0x0101, "BitsStored"],
  [0x0028, 0x0102, "HighBit"], [0x0028, 0x0103, "PixelRepresentation"], [0x0028, 0x0002, "SamplesPerPixel"],
  [0x0028, 0x0008, "NumberOfFrames"], [0x7fe0, 0x0010, "PixelData"], [0x0002, 0x0000, "MetaGroupLength"], [0x0028, 0x1053, "RescaleSlope"]
]

export const dicomFields = (file: string, b: Uint8Array): Array<Field> => {
  const fields: Array<Field> = []
  for (const little of [true, false]) {
    for (const [g, e, name] of TAGS) {
      const pat = little ? [g & 0xff, g >> 8, e & 0xff, e >> 8] : [g >> 8, g & 0xff, e >> 8, e & 0xff]
      for (let i = 0; i + 12 <= b.length && fields.length < 400; i++) {
        if (b[i] !== pat[0] || b[i + 1] !== pat[1] || b[i + 2] !== pat[2] || b[i + 3] !== pat[3]) continue
        // Explicit VR short form: length at +6 (2 bytes), value at +8; long form (OB/OW/UN): length at +8 (4);
        // implicit VR: length at +4 (4), value at +8.
        fields.push({ file, offset: i + 6, width: 2, little, name: `${name} length (explicit)` })
        fields.push({ file, offset: i + 8, width: 4, little, name: `${name} value or long length` })
        fields.push({ file, offset: i + 4, width: 4, little, name: `${name} length (implicit)` })
        fields.push({ file, offset: i + 8, width: 2, little, name: `${name} value` })
      }
    }
  }
  return fields
}

const FILES = ["MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_RLE.dcm", "image_dfl.dcm", "MR_small_padded.dcm", "CT_small.dcm", "SC_rgb_small_odd.dcm"]
const SERIES = ["bigendian", "deflated", "implicit", "rle", "int32", "tilt", "perslice"]

export const dicomSeeds = (): Array<Seed> => [
  ...FILES.map((f) => {
    const b = fixture(`dicom/real/${f}`)
    return { name: f, files: { [f]: b }, entry: f, fields: dicomFields(f, b) }
  }),
  ...SERIES.map((s) => {
    const files = fixtureTree(`dicom/series/${s}`, s)
    return { name: `series/${s}`, files, entry: s, fields: Object.entries(files).flatMap(([k, b]) => dicomFields(k, b)) }
  })
]
