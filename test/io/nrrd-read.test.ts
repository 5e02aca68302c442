/** Reading hand-written NRRD headers: spellings, comments, skips, geometry, axis rules. */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { bytesPerVoxel, viewOf, type DType } from "../../src/algebra/dtype.js"
import { openNrrd } from "../../src/io/nrrd.js"
import { makeTempDir, readVolume, removeDir, writeFile } from "./nrrd-helpers.js"

let dir = ""
beforeEach(() => {
  dir = makeTempDir()
})
afterEach(() => removeDir(dir))

const at = (name: string) => nodePath.join(dir, name)
const header = (...lines: ReadonlyArray<string>) => lines.join("\n") + "\n"

/** `values` stored as `dtype` in the given byte order. */
const encode = (dtype: DType, values: ReadonlyArray<number>, endian: "little" | "big"): Uint8Array => {
  const width = { uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, float64: 8 }[dtype]
  const dv = new DataView(new ArrayBuffer(values.length * width))
  const le = endian === "little"
  values.forEach((v, i) => {
    const o = i * width
    switch (dtype) {
      case "uint8":
        return dv.setUint8(o, v)
      case "int8":
        return dv.setInt8(o, v)
      case "uint16":
        return dv.setUint16(o, v, le)
      case "int16":
        return dv.setInt16(o, v, le)
      case "uint32":
        return dv.setUint32(o, v, le)
      case "int32":
        return dv.setInt32(o, v, le)
      case "float32":
        return dv.setFloat32(o, v, le)
      case "float64":
        return dv.setFloat64(o, v, le)
    }
  })
  return new Uint8Array(dv.buffer)
}

/** Reads the whole volume at `path` as numbers in z, y, x order. */
const readValues = (path: string) =>
  Effect.gen(function* () {
    const src = yield* openNrrd(path)
    const { bytes } = yield* readVolume(src)
    const n = bytes.length / bytesPerVoxel(src.info.dtype)
    return { src, values: Array.from(viewOf(src.info.dtype, bytes.buffer as ArrayBuffer, bytes.byteOffset, n) as ArrayLike<number>) }
  })

const SPELLINGS: ReadonlyArray<readonly [string, DType, ReadonlyArray<number>]> = [
  ["uchar", "uint8", [0, 1, 200, 255]],
  ["unsigned char", "uint8", [0, 1, 200, 255]],
  ["uint8", "uint8", [0, 1, 200, 255]],
  ["uint8_t", "uint8", [0, 1, 200, 255]],
  ["signed char", "int8", [-128, -1, 0, 127]],
  ["int8", "int8", [-128, -1, 0, 127]],
  ["int8_t", "int8", [-128, -1, 0, 127]],
  ["short", "int16", [-32768, -2, 3, 32767]],
  ["short int", "int16", [-32768, -2, 3, 32767]],
  ["signed short", "int16", [-32768, -2, 3, 32767]],
  ["signed short int", "int16", [-32768, -2, 3, 32767]],
  ["int16", "int16", [-32768, -2, 3, 32767]],
  ["int16_t", "int16", [-32768, -2, 3, 32767]],
  ["ushort", "uint16", [0, 1, 258, 65535]],
  ["unsigned short", "uint16", [0, 1, 258, 65535]],
  ["unsigned short int", "uint16", [0, 1, 258, 65535]],
  ["uint16", "uint16", [0, 1, 258, 65535]],
  ["uint16_t", "uint16", [0, 1, 258, 65535]],
  ["int", "int32", [-2147483648, -5, 66000, 2147483647]],
  ["signed int", "int32", [-2147483648, -5, 66000, 2147483647]],
  ["int32", "int32", [-2147483648, -5, 66000, 2147483647]],
  ["int32_t", "int32", [-2147483648, -5, 66000, 2147483647]],
  ["uint", "uint32", [0, 5, 66000, 4294967295]],
  ["unsigned int", "uint32", [0, 5, 66000, 4294967295]],
  ["uint32", "uint32", [0, 5, 66000, 4294967295]],
  ["uint32_t", "uint32", [0, 5, 66000, 4294967295]],
  ["float", "float32", [-1.5, 0, 0.25, 2 ** 100]],
  ["double", "float64", [-1.5, 0, 0.1, 1e300]],
  ["Unsigned  Short", "uint16", [0, 1, 258, 65535]]
]

describe("nrrd reader: type spellings", () => {
  for (const [spelling, dtype, values] of SPELLINGS)
    for (const endian of ["little", "big"] as const)
      it.effect(`"${spelling}" ${endian}-endian is ${dtype}`, () =>
        Effect.gen(function* () {
          const path = at("t.nrrd")
          writeFile(path, header("NRRD0004", `type: ${spelling}`, "dimension: 3", "sizes: 2 1 2", `endian: ${endian}`, "encoding: raw", ""), encode(dtype, values, endian))
          const { src, values: got } = yield* readValues(path)
          expect(src.info.dtype).toBe(dtype)
          expect(src.info.shape).toEqual([2, 1, 2])
          expect(got).toEqual(values)
        })
      )
})

describe("nrrd reader: headers", () => {
  it.effect("comments, key/value pairs, unknown fields, CRLF lines, field case and old magic", () =>
    Effect.gen(function* () {
      const path = at("c.nrrd")
      const text =
        [
          "NRRD0001",
          "# a comment",
          "#another",
          "Type: short",
          "DIMENSION: 3",
          "modality:=MR\\nT1",
          "path:=C:\\\\scans",
          "sizes: 3 2 1",
          "content: first:=not a key",
          "endian: big",
          "encoding: RAW",
          "frobnicate: 12",
          ""
        ].join("\r\n") + "\r\n"
      writeFile(path, text, encode("int16", [1, 2, 3, 4, 5, 6], "big"))
      const { src, values } = yield* readValues(path)
      expect(values).toEqual([1, 2, 3, 4, 5, 6])
      expect(src.details["kv:modality"]).toBe("MR\nT1")
      expect(src.details["kv:path"]).toBe("C:\\scans")
      expect(src.details["content"]).toBe("first:=not a key")
      expect(src.details["field frobnicate"]).toBe("12")
      expect(src.details["comments"]).toBe("a comment | another")
      expect(src.details["version"]).toBe("NRRD0001")
      expect(src.details["endian"]).toBe("big")
      expect(src.details["data offset"]).toBe(Buffer.byteLength(text))
      expect(src.details["data file"]).toBe("(attached)")
    })
  )

  it.effect("spacing from the norms of space directions, origin kept in details", () =>
    Effect.gen(function* () {
      const path = at("d.nrrd")
      writeFile(
        path,
        header(
          "NRRD0004",
          "type: uchar",
          "dimension: 3",
          "space: left-posterior-superior",
          "sizes: 2 2 2",
          "space directions: (0,-0.5,0) (3,4,0) (0, 0, 2.5)",
          "space origin: (10,20,30)",
          "encoding: raw",
          ""
        ),
        new Uint8Array(8)
      )
      const src = yield* openNrrd(path)
      expect(src.info.spacing).toEqual([2.5, 5, 0.5])
      expect(src.details["space origin"]).toBe("(10,20,30)")
      expect(src.details["space"]).toBe("left-posterior-superior")
      expect(src.details["endian"]).toBe("n/a (1 byte)")
    })
  )

  it.effect("spacings, with nan meaning unknown (1)", () =>
    Effect.gen(function* () {
      const path = at("s.nrrd")
      writeFile(path, header("NRRD0004", "type: uchar", "dimension: 3", "sizes: 1 1 2", "spacings: 0.5 nan 4e-1", "encoding: raw", ""), new Uint8Array(2))
      expect((yield* openNrrd(path)).info.spacing).toEqual([0.4, 1, 0.5])
    })
  )

  it.effect("dimension 2 is one slice", () =>
    Effect.gen(function* () {
      const path = at("2d.nrrd")
      writeFile(path, header("NRRD0005", "type: float", "dimension: 2", "sizes: 3 2", "spacings: 0.5 0.25", "endian: little", "encoding: raw", ""), encode("float32", [1, 2, 3, 4, 5, 6], "little"))
      const { src, values } = yield* readValues(path)
      expect(src.info.shape).toEqual([1, 2, 3])
      expect(src.info.spacing).toEqual([1, 0.25, 0.5])
      expect(values).toEqual([1, 2, 3, 4, 5, 6])
    })
  )

  it.effect("a leading axis of size 1 is dropped (with its 'none' direction)", () =>
    Effect.gen(function* () {
      const path = at("4d.nrrd")
      writeFile(
        path,
        header(
          "NRRD0004",
          "type: ushort",
          "dimension: 4",
          "space dimension: 3",
          "sizes: 1 2 1 2",
          "space directions: none (2,0,0) (0,3,0) (0,0,4)",
          "kinds: scalar domain domain domain",
          "endian: little",
          "encoding: raw",
          ""
        ),
        encode("uint16", [7, 8, 9, 10], "little")
      )
      const { src, values } = yield* readValues(path)
      expect(src.info.shape).toEqual([2, 1, 2])
      expect(src.info.spacing).toEqual([4, 3, 2])
      expect(values).toEqual([7, 8, 9, 10])
      expect(src.details["dropped axes"]).toBe("0 (size 1)")
    })
  )

  it.effect("a trailing fourth axis of size 1 (one time point) is dropped", () =>
    Effect.gen(function* () {
      const path = at("t1.nrrd")
      writeFile(path, header("NRRD0004", "type: uchar", "dimension: 4", "sizes: 2 2 2 1", "encoding: raw", ""), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))
      const { src, values } = yield* readValues(path)
      expect(src.info.shape).toEqual([2, 2, 2])
      expect(values).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    })
  )

  it.effect("a size-1 x axis of a 3-D image stays (it is width, not a component)", () =>
    Effect.gen(function* () {
      const path = at("x1.nrrd")
      writeFile(path, header("NRRD0004", "type: uchar", "dimension: 3", "sizes: 1 2 3", "encoding: raw", ""), new Uint8Array(6))
      expect((yield* openNrrd(path)).info.shape).toEqual([3, 2, 1])
    })
  )

  it.effect("byte skip on attached data counts from the end of the header", () =>
    Effect.gen(function* () {
      const path = at("bs.nrrd")
      writeFile(path, header("NRRD0004", "type: int", "dimension: 3", "sizes: 2 1 1", "byte skip: 5", "endian: big", "encoding: raw", ""), "JUNK!", encode("int32", [-7, 70000], "big"))
      const { src, values } = yield* readValues(path)
      expect(values).toEqual([-7, 70000])
      expect(src.details["byte skip"]).toBe(5)
    })
  )

  it.effect("byte skip -1: the data are the last bytes of the file", () =>
    Effect.gen(function* () {
      const path = at("bsm1.nrrd")
      writeFile(path, header("NRRD0004", "type: uint16", "dimension: 2", "sizes: 2 1", "byte skip: -1", "endian: little", "encoding: raw", ""), "padding of unknown length", encode("uint16", [513, 1027], "little"))
      expect((yield* readValues(path)).values).toEqual([513, 1027])
    })
  )

  it.effect("detached header: relative data file in a subfolder, line skip then byte skip", () =>
    Effect.gen(function* () {
      fs.mkdirSync(at("data"))
      writeFile(at("data/v.bin"), "line one\nline two is longer\n", "XYZ", encode("float64", [0.5, -2], "big"))
      writeFile(at("v.nhdr"), header("NRRD0004", "type: double", "dimension: 3", "sizes: 1 1 2", "endian: big", "encoding: raw", "line skip: 2", "byte skip: 3", "data file: data/v.bin"))
      const { src, values } = yield* readValues(at("v.nhdr"))
      expect(values).toEqual([0.5, -2])
      expect(src.details["data file"]).toBe(at("data/v.bin"))
      expect(src.details["data offset"]).toBe(31)
      expect(src.details["line skip"]).toBe(2)
    })
  )

  it.effect("line skip spanning more than one read buffer", () =>
    Effect.gen(function* () {
      const lines = Array.from({ length: 30000 }, (_, i) => `preamble line ${i}\n`).join("")
      writeFile(at("long.raw"), lines, new Uint8Array([42]))
      writeFile(at("long.nhdr"), header("NRRD0004", "type: uchar", "dimension: 2", "sizes: 1 1", "encoding: raw", "lineskip: 30000", "datafile: long.raw"))
      expect((yield* readValues(at("long.nhdr"))).values).toEqual([42])
    })
  )

  it.effect("detached header: absolute data file, header without final newline, byte skip -1", () =>
    Effect.gen(function* () {
      writeFile(at("abs.raw"), "some preamble", encode("int8", [-3, 4], "little"))
      writeFile(at("abs.nhdr"), ["NRRD0004", "type: int8", "dimension: 3", "sizes: 1 2 1", "encoding: raw", "byte skip: -1", `data file: ${at("abs.raw")}`].join("\n"))
      expect((yield* readValues(at("abs.nhdr"))).values).toEqual([-3, 4])
    })
  )

  it.effect("a header longer than one read buffer (many comments)", () =>
    Effect.gen(function* () {
      const comments = Array.from({ length: 8000 }, (_, i) => `# comment number ${i} padding padding`)
      const text = header("NRRD0004", ...comments, "type: uchar", "dimension: 2", "sizes: 2 1", "encoding: raw", "")
      expect(text.length).toBeGreaterThan(200 * 1024)
      writeFile(at("big.nrrd"), text, new Uint8Array([5, 6]))
      const { src, values } = yield* readValues(at("big.nrrd"))
      expect(values).toEqual([5, 6])
      expect(src.details["data offset"]).toBe(text.length)
    })
  )

  it.effect("data longer than the sizes say is fine (the rest is ignored)", () =>
    Effect.gen(function* () {
      writeFile(at("long.nrrd"), header("NRRD0004", "type: uchar", "dimension: 2", "sizes: 2 1", "encoding: raw", ""), new Uint8Array([1, 2, 3, 4]))
      expect((yield* readValues(at("long.nrrd"))).values).toEqual([1, 2])
    })
  )

  it.effect("slices can be read in any order and again; bytesRead counts each read", () =>
    Effect.gen(function* () {
      const path = at("o.nrrd")
      writeFile(path, header("NRRD0004", "type: uchar", "dimension: 3", "sizes: 1 1 3", "encoding: raw", ""), new Uint8Array([10, 11, 12]))
      const src = yield* openNrrd(path)
      const { bytes, bytesRead } = yield* readVolume(src, [2, 0, 2, 1])
      expect([...bytes]).toEqual([10, 11, 12])
      expect(bytesRead).toBe(4)
      expect(src.sliceReadBytes(0)).toBe(1)
    })
  )
})
