/**
 * The DICOM Part 10 header parser on hand-made bytes: nested sequences and items of undefined
 * length are skipped, files without a preamble are read, the parse stops at PixelData without
 * touching its value, and malformed headers are FormatErrors naming the tag.
 */
import { describe, expect, it } from "vitest"
import { FormatError } from "../../src/algebra/io-errors.js"
import { compressedSyntaxName, memoryBytes, parseDicom, type ByteSource } from "../../src/io/dicom.js"

/** Little-endian element writers. */
const u16 = (v: number) => [v & 0xff, v >> 8]
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]
const tag = (g: number, e: number) => [...u16(g), ...u16(e)]
const text = (s: string) => [...Buffer.from(s.length % 2 ? `${s} ` : s, "latin1")]
const UNDEFINED = 0xffffffff

/** Implicit VR: tag, 4-byte length, value. */
const implicit = (g: number, e: number, value: number[] | "undefined") =>
  value === "undefined" ? [...tag(g, e), ...u32(UNDEFINED)] : [...tag(g, e), ...u32(value.length), ...value]
/** Explicit VR LE, short form. */
const explicit = (g: number, e: number, vr: string, value: number[]) => [...tag(g, e), ...Buffer.from(vr), ...u16(value.length), ...value]
/** Explicit VR LE, long form (OB, OW, SQ, UN …). */
const explicitLong = (g: number, e: number, vr: string, length: number, value: number[] = []) => [...tag(g, e), ...Buffer.from(vr), 0, 0, ...u32(length), ...value]
const item = (length: number) => [...tag(0xfffe, 0xe000), ...u32(length)]
const itemEnd = [...tag(0xfffe, 0xe00d), ...u32(0)]
const seqEnd = [...tag(0xfffe, 0xe0dd), ...u32(0)]

/** A ByteSource that remembers the furthest byte asked for. */
const tracked = (bytes: Uint8Array): ByteSource & { furthest: () => number } => {
  const m = memoryBytes(bytes)
  let furthest = 0
  return { size: m.size, get: (o, n) => ((furthest = Math.max(furthest, o + n)), m.get(o, n)), furthest: () => furthest }
}

/** A Part 10 file: preamble, "DICM", a meta group naming `syntax`, then `dataset`. */
const part10 = (syntax: string, dataset: number[]) =>
  new Uint8Array([...new Array(128).fill(0), ...Buffer.from("DICM"), ...explicit(0x0002, 0x0010, "UI", text(`${syntax}\0`).slice(0, syntax.length + (syntax.length % 2))), ...dataset])

describe("dicom parser", () => {
  it("implicit VR without preamble: skips nested sequences of undefined length, stops at PixelData without reading it", () => {
    const pixels = new Array(2 * 3 * 2).fill(9)
    const bytes = new Uint8Array([
      ...implicit(0x0008, 0x0060, text("MR")),
      // A sequence of undefined length: an item of undefined length holding another such sequence,
      // then an item of defined length.
      ...implicit(0x0008, 0x1140, "undefined"),
      ...item(UNDEFINED),
      ...implicit(0x0008, 0x1150, text("1.2")),
      ...implicit(0x0040, 0xa730, "undefined"),
      ...item(UNDEFINED),
      ...implicit(0x0028, 0x0010, [99, 0]), // a Rows inside a sequence: not the image's
      ...itemEnd,
      ...seqEnd,
      ...itemEnd,
      ...item(4),
      1,
      2,
      3,
      4,
      ...seqEnd,
      ...implicit(0x0020, 0x0032, text("-1.5\\2\\3.25")),
      ...implicit(0x0028, 0x0010, u16(2)),
      ...implicit(0x0028, 0x0011, u16(3)),
      ...implicit(0x0028, 0x0100, u16(16)),
      ...implicit(0x0028, 0x0103, u16(1)),
      ...implicit(0x7fe0, 0x0010, pixels)
    ])
    const src = tracked(bytes)
    const h = parseDicom(src, "bare.dcm")!
    expect(h.transferSyntax).toBe("1.2.840.10008.1.2")
    expect(h.modality).toBe("MR")
    expect([h.rows, h.columns, h.bitsAllocated, h.pixelRepresentation]).toEqual([2, 3, 16, 1])
    expect(h.position).toEqual([-1.5, 2, 3.25])
    expect(h.pixelData).toEqual({ offset: bytes.length - pixels.length, length: pixels.length })
    expect(src.furthest()).toBe(bytes.length - pixels.length)
  })

  it("explicit VR with preamble: a UN of undefined length holds implicit VR items; encapsulated PixelData has no length", () => {
    const dataset = [
      ...explicit(0x0008, 0x0060, "CS", text("CT")),
      ...explicitLong(0x0009, 0x1010, "UN", UNDEFINED),
      ...item(UNDEFINED),
      ...implicit(0x0009, 0x1011, text("private")),
      ...itemEnd,
      ...seqEnd,
      ...explicit(0x0028, 0x0010, "US", u16(4)),
      ...explicit(0x0028, 0x0011, "US", u16(5)),
      ...explicit(0x0028, 0x0030, "DS", text("0.5\\0.25")),
      ...explicit(0x0028, 0x1053, "DS", text("2.5")),
      ...explicitLong(0x7fe0, 0x0010, "OB", UNDEFINED),
      ...item(0),
      ...item(2),
      7,
      7,
      ...seqEnd
    ]
    const h = parseDicom(memoryBytes(part10("1.2.840.10008.1.2.4.90", dataset)), "j2k.dcm")!
    expect(h.modality).toBe("CT")
    expect([h.rows, h.columns]).toEqual([4, 5])
    expect(h.pixelSpacing).toEqual([0.5, 0.25])
    expect(h.slope).toBe(2.5)
    expect(h.pixelData?.length).toBeUndefined()
    expect(compressedSyntaxName(h.transferSyntax)).toBe("JPEG 2000 Image Compression (Lossless Only)")
    expect(compressedSyntaxName("1.2.840.10008.1.2.2")).toBeUndefined()
  })

  it("bytes that are not DICOM are undefined, not an error", () => {
    expect(parseDicom(memoryBytes(new Uint8Array(Buffer.from("hello, this is a README file with some words in it"))), "README")).toBeUndefined()
    expect(parseDicom(memoryBytes(new Uint8Array(300)), "zeros")).toBeUndefined()
  })

  it("a header that ends inside an element: FormatError naming the file and the tag", () => {
    const full = part10("1.2.840.10008.1.2.1", [...explicit(0x0008, 0x0060, "CS", text("CT")), ...explicit(0x0028, 0x0030, "DS", text("0.5\\0.25"))])
    const cut = full.subarray(0, full.length - 3)
    let err: unknown
    try {
      parseDicom(memoryBytes(cut), "cut.dcm")
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(FormatError)
    expect((err as FormatError).message).toMatch(/^cut\.dcm: tag \(0028,0030\), byte \d+: the file ends inside this element/)
  })

  it("a malformed number: FormatError naming the tag", () => {
    const bytes = part10("1.2.840.10008.1.2.1", [...explicit(0x0020, 0x0032, "DS", text("1\\x\\3"))])
    expect(() => parseDicom(memoryBytes(bytes), "bad.dcm")).toThrow(/bad\.dcm: tag \(0020,0032\): 3 numbers expected, found "1\\\\x\\\\3"/)
  })
})
