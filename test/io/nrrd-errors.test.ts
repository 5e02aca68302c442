/** Bad input gives typed errors naming file and position; failed writes leave nothing behind. */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { allocSlice } from "../../src/algebra/dtype.js"
import { volumeInfo } from "../../src/algebra/volume.js"
import type { FileError, FormatError, UnsupportedError } from "../../src/algebra/io-errors.js"
import { nrrdSink, openNrrd } from "../../src/io/nrrd.js"
import { makeTempDir, openFdCount, removeDir, writeFile } from "./nrrd-helpers.js"

let dir = ""
beforeEach(() => {
  dir = makeTempDir()
})
afterEach(() => removeDir(dir))

const at = (name: string) => nodePath.join(dir, name)
const header = (...lines: ReadonlyArray<string>) => lines.join("\n") + "\n"
const GOOD = ["NRRD0004", "type: short", "dimension: 3", "sizes: 2 2 2", "endian: little", "encoding: raw"] as const
/** The good header with field `name` replaced by `line` (or removed when `line` is undefined). */
const variant = (name: string, line: string | undefined) =>
  GOOD.flatMap((l) => (l.startsWith(`${name}:`) ? (line === undefined ? [] : [line]) : [l]))

const failure = (path: string) => Effect.flip(openNrrd(path))
const asFormat = (e: unknown) => {
  expect((e as FormatError)._tag).toBe("FormatError")
  return e as FormatError
}
const asUnsupported = (e: unknown) => {
  expect((e as UnsupportedError)._tag).toBe("UnsupportedError")
  return e as UnsupportedError
}

describe("nrrd reader errors", () => {
  it.effect("not a NRRD file", () =>
    Effect.gen(function* () {
      writeFile(at("x.nrrd"), "P5\n2 2\n255\n....")
      const e = asFormat(yield* failure(at("x.nrrd")))
      expect(e.path).toBe(at("x.nrrd"))
      expect(e.position).toBe("byte 0")
      expect(e.message).toContain("not a NRRD file")
    })
  )

  it.effect("empty file", () =>
    Effect.gen(function* () {
      writeFile(at("e.nrrd"))
      expect(asFormat(yield* failure(at("e.nrrd"))).position).toBe("byte 0")
    })
  )

  it.effect("unknown NRRD version", () =>
    Effect.gen(function* () {
      writeFile(at("v.nrrd"), header("NRRD0009", ...GOOD.slice(1), ""))
      expect(asUnsupported(yield* failure(at("v.nrrd"))).detail).toContain("NRRD0009")
    })
  )

  for (const field of ["type", "dimension", "sizes", "encoding", "endian"])
    it.effect(`missing required field ${field}`, () =>
      Effect.gen(function* () {
        const lines = variant(field, undefined)
        writeFile(at("m.nrrd"), header(...lines, ""), new Uint8Array(16))
        const e = asFormat(yield* failure(at("m.nrrd")))
        expect(e.position).toBe(`header line ${lines.length + 1}`)
        expect(e.detail).toContain(`"${field}:"`)
      })
    )

  it.effect("endian may be missing for 1-byte types", () =>
    Effect.gen(function* () {
      writeFile(at("u8.nrrd"), header(...variant("type", "type: uchar").filter((l) => !l.startsWith("endian")), ""), new Uint8Array(8))
      expect((yield* openNrrd(at("u8.nrrd"))).info.dtype).toBe("uint8")
    })
  )

  it.effect("unknown type names its line", () =>
    Effect.gen(function* () {
      writeFile(at("t.nrrd"), header(...variant("type", "type: char"), ""), new Uint8Array(16))
      const e = asFormat(yield* failure(at("t.nrrd")))
      expect(e.position).toBe("header line 2")
      expect(e.detail).toContain('"char"')
      expect(e.hint).toBeDefined()
    })
  )

  for (const t of ["long long", "ulonglong", "int64_t", "unsigned long long int", "block"])
    it.effect(`type ${t} is unsupported`, () =>
      Effect.gen(function* () {
        writeFile(at("t.nrrd"), header(...variant("type", `type: ${t}`), ""), new Uint8Array(64))
        asUnsupported(yield* failure(at("t.nrrd")))
      })
    )

  for (const enc of ["ascii", "text", "txt", "hex", "zrl"])
    it.effect(`encoding ${enc} is unsupported, with a hint to convert`, () =>
      Effect.gen(function* () {
        writeFile(at("z.nrrd"), header(...variant("encoding", `encoding: ${enc}`), ""), new Uint8Array(16))
        const e = asUnsupported(yield* failure(at("z.nrrd")))
        expect(e.hint).toContain("unu save")
        expect(e.hint).toContain("-e raw")
      })
    )

  it.effect("unknown encoding is a format error", () =>
    Effect.gen(function* () {
      writeFile(at("z.nrrd"), header(...variant("encoding", "encoding: lz4"), ""), new Uint8Array(16))
      expect(asFormat(yield* failure(at("z.nrrd"))).position).toBe("header line 6")
    })
  )

  it.effect("bad endian, sizes count, size values, dimension", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [string, string, string]> = [
        ["endian", "endian: middle", "header line 5"],
        ["sizes", "sizes: 2 2", "header line 4"],
        ["sizes", "sizes: 2 0 2", "header line 4"],
        ["sizes", "sizes: 2 x 2", "header line 4"],
        ["dimension", "dimension: three", "header line 3"]
      ]
      for (const [field, line, position] of cases) {
        writeFile(at("b.nrrd"), header(...variant(field, line), ""), new Uint8Array(16))
        expect(asFormat(yield* failure(at("b.nrrd"))).position).toBe(position)
      }
    })
  )

  it.effect("a line that is not a field, and a repeated field", () =>
    Effect.gen(function* () {
      writeFile(at("g.nrrd"), header(...GOOD, "garbage", ""), new Uint8Array(16))
      expect(asFormat(yield* failure(at("g.nrrd"))).position).toBe("header line 7")
      writeFile(at("r.nrrd"), header(...GOOD, "sizes: 2 2 2", ""), new Uint8Array(16))
      const e = asFormat(yield* failure(at("r.nrrd")))
      expect(e.position).toBe("header line 7")
      expect(e.detail).toContain("first on line 4")
    })
  )

  it.effect("malformed space directions", () =>
    Effect.gen(function* () {
      writeFile(at("sd.nrrd"), header(...GOOD, "space directions: (1,0,0) (0,1,0)", ""), new Uint8Array(16))
      expect(asFormat(yield* failure(at("sd.nrrd"))).position).toBe("header line 7")
      writeFile(at("sd.nrrd"), header(...GOOD, "space dimension: 3", "space directions: (1,0,0) (0,1) (0,0,1)", ""), new Uint8Array(16))
      expect(asFormat(yield* failure(at("sd.nrrd"))).position).toBe("header line 8")
    })
  )

  it.effect("more than 3 axes with several samples, components, 1-D", () =>
    Effect.gen(function* () {
      writeFile(at("c.nrrd"), header("NRRD0004", "type: uchar", "dimension: 4", "sizes: 3 2 2 2", "encoding: raw", ""), new Uint8Array(24))
      expect(asUnsupported(yield* failure(at("c.nrrd"))).hint).toContain("unu slice")
      writeFile(at("rgb.nrrd"), header("NRRD0004", "type: uchar", "dimension: 3", "sizes: 3 2 2", "kinds: RGB-color domain domain", "encoding: raw", ""), new Uint8Array(12))
      expect(asUnsupported(yield* failure(at("rgb.nrrd"))).detail).toContain("rgb-color")
      writeFile(at("1d.nrrd"), header("NRRD0004", "type: uchar", "dimension: 1", "sizes: 5", "encoding: raw", ""), new Uint8Array(5))
      asUnsupported(yield* failure(at("1d.nrrd")))
    })
  )

  it.effect("attached data shorter than the sizes say: expected and actual byte counts", () =>
    Effect.gen(function* () {
      const text = header(...GOOD, "")
      writeFile(at("s.nrrd"), text, new Uint8Array(15))
      const e = asFormat(yield* failure(at("s.nrrd")))
      expect(e.path).toBe(at("s.nrrd"))
      expect(e.position).toBe(`byte ${text.length}`)
      expect(e.detail).toContain("16 bytes")
      expect(e.detail).toContain("only 15 bytes")
    })
  )

  it.effect("detached data shorter than the sizes say names the data file and the header", () =>
    Effect.gen(function* () {
      writeFile(at("d.raw"), new Uint8Array(10))
      writeFile(at("d.nhdr"), header(...GOOD, "byte skip: 4", "data file: d.raw"))
      const e = asFormat(yield* failure(at("d.nhdr")))
      expect(e.path).toBe(at("d.raw"))
      expect(e.position).toBe("byte 4")
      expect(e.detail).toContain(at("d.nhdr"))
      expect(e.detail).toContain("16 bytes")
      expect(e.detail).toContain("only 6 bytes")
    })
  )

  it.effect("byte skip -1 with too little data", () =>
    Effect.gen(function* () {
      writeFile(at("d.raw"), new Uint8Array(10))
      writeFile(at("d.nhdr"), header(...GOOD, "byte skip: -1", "data file: d.raw"))
      expect(asFormat(yield* failure(at("d.nhdr"))).detail).toContain("only 10 bytes")
    })
  )

  it.effect("line skip past the end of the data file", () =>
    Effect.gen(function* () {
      writeFile(at("l.raw"), "one\ntwo\n")
      writeFile(at("l.nhdr"), header(...GOOD, "line skip: 3", "data file: l.raw"))
      const e = asFormat(yield* failure(at("l.nhdr")))
      expect(e.path).toBe(at("l.raw"))
      expect(e.detail).toContain("after 2 lines")
    })
  )

  it.effect("missing data file is a FileError naming it", () =>
    Effect.gen(function* () {
      writeFile(at("n.nhdr"), header(...GOOD, "data file: nowhere.raw"))
      const e = (yield* failure(at("n.nhdr"))) as FileError
      expect(e._tag).toBe("FileError")
      expect(e.path).toBe(at("nowhere.raw"))
      expect([e.code, e.message]).toEqual(["ENOENT", `${at("nowhere.raw")}: no such file or directory`])
    })
  )

  it.effect("missing header file is a FileError", () =>
    Effect.gen(function* () {
      const e = (yield* failure(at("absent.nrrd"))) as FileError
      expect(e._tag).toBe("FileError")
      expect(e.operation).toBe("open")
    })
  )

  it.effect("header that ends with the file, without data file", () =>
    Effect.gen(function* () {
      writeFile(at("h.nhdr"), header(...GOOD))
      const e = asFormat(yield* failure(at("h.nhdr")))
      expect(e.position).toBe("header line 6")
      expect(e.hint).toContain("data file")
    })
  )

  it.effect("data split over several files is unsupported", () =>
    Effect.gen(function* () {
      writeFile(at("l.nhdr"), header(...GOOD, "data file: LIST", "a.raw", "b.raw"))
      asUnsupported(yield* failure(at("l.nhdr")))
      writeFile(at("f.nhdr"), header(...GOOD, "data file: slice%03d.raw 1 2 1 2"))
      asUnsupported(yield* failure(at("f.nhdr")))
    })
  )

  it.effect("a file that shrinks after opening fails the slice read with its position", () =>
    Effect.gen(function* () {
      const text = header(...GOOD, "")
      writeFile(at("k.nrrd"), text, new Uint8Array(16))
      const src = yield* openNrrd(at("k.nrrd"))
      fs.truncateSync(at("k.nrrd"), text.length + 12)
      const e = yield* Effect.flip(Effect.scoped(Effect.flatMap(src.open, (r) => r.read(1, allocSlice("int16", 4)))))
      expect(asFormat(e).position).toBe(`slice 1, byte ${text.length + 12}`)
    })
  )

  it.effect("reading a slice outside the volume, or into a wrong-sized buffer, is a defect", () =>
    Effect.gen(function* () {
      writeFile(at("k.nrrd"), header(...GOOD, ""), new Uint8Array(16))
      const src = yield* openNrrd(at("k.nrrd"))
      const exit1 = yield* Effect.exit(Effect.scoped(Effect.flatMap(src.open, (r) => r.read(2, allocSlice("int16", 4)))))
      expect(Exit.isFailure(exit1) && Cause.isDie(exit1.cause)).toBe(true)
      const exit2 = yield* Effect.exit(Effect.scoped(Effect.flatMap(src.open, (r) => r.read(0, allocSlice("int16", 3)))))
      expect(Exit.isFailure(exit2) && Cause.isDie(exit2.cause)).toBe(true)
    })
  )

  it.effect("reader scopes and failed opens leave no fd open", () =>
    Effect.gen(function* () {
      writeFile(at("k.nrrd"), header(...GOOD, ""), new Uint8Array(16))
      writeFile(at("s.nrrd"), header(...GOOD, ""), new Uint8Array(3))
      const before = openFdCount()
      for (let i = 0; i < 20; i++) {
        const src = yield* openNrrd(at("k.nrrd"))
        yield* Effect.scoped(Effect.flatMap(src.open, (r) => r.read(0, allocSlice("int16", 4))))
        yield* Effect.flip(openNrrd(at("s.nrrd")))
      }
      expect(openFdCount()).toBe(before)
    })
  )
})

describe("nrrd writer: nothing is left behind without commit", () => {
  const info = volumeInfo("float32", [3, 2, 2], [1, 1, 1])
  const slice = () => allocSlice("float32", 4).fill(1.5)

  for (const [name, endian] of [["v.nrrd", "little"], ["v.nhdr", "big"]] as const) {
    it.effect(`${name}: failure after some slices`, () =>
      Effect.gen(function* () {
        const before = openFdCount()
        const sink = nrrdSink(at(name), { endian })
        const exit = yield* Effect.exit(
          Effect.scoped(
            Effect.gen(function* () {
              const w = yield* sink.create(info)
              yield* w.write(1, slice())
              yield* w.write(0, slice())
              // A temporary exists next to the target while writing.
              expect(fs.readdirSync(dir).some((f) => f.includes(".partial-"))).toBe(true)
              return yield* Effect.fail("pipeline failed" as const)
            })
          )
        )
        expect(Exit.isFailure(exit)).toBe(true)
        expect(fs.readdirSync(dir)).toEqual([])
        expect(openFdCount()).toBe(before)
      })
    )

    it.effect(`${name}: commit with a missing slice fails and removes everything`, () =>
      Effect.gen(function* () {
        const before = openFdCount()
        const e = yield* Effect.flip(
          Effect.scoped(
            Effect.gen(function* () {
              const w = yield* nrrdSink(at(name), { endian }).create(info)
              yield* w.write(0, slice())
              yield* w.write(2, slice())
              yield* w.commit
            })
          )
        )
        expect(asFormat(e).position).toBe("slice 1")
        expect(e.path).toBe(at(name))
        expect(fs.readdirSync(dir)).toEqual([])
        expect(openFdCount()).toBe(before)
      })
    )

    it.live(`${name}: interruption while writing`, () =>
      Effect.gen(function* () {
        const before = openFdCount()
        const fiber = yield* Effect.fork(
          Effect.scoped(
            Effect.gen(function* () {
              const w = yield* nrrdSink(at(name), { endian }).create(info)
              yield* w.write(0, slice())
              yield* Effect.never
            })
          )
        )
        yield* Effect.sleep("50 millis")
        yield* Fiber.interrupt(fiber)
        expect(fs.readdirSync(dir)).toEqual([])
        expect(openFdCount()).toBe(before)
      })
    )
  }

  it.effect("an existing output is untouched when the new one fails", () =>
    Effect.gen(function* () {
      writeFile(at("keep.nhdr"), "old header")
      writeFile(at("keep.raw"), "old data")
      yield* Effect.exit(
        Effect.scoped(Effect.flatMap(nrrdSink(at("keep.nhdr")).create(info), (w) => Effect.zipRight(w.write(0, slice()), Effect.fail("boom"))))
      )
      expect(fs.readdirSync(dir).sort()).toEqual(["keep.nhdr", "keep.raw"])
      expect(fs.readFileSync(at("keep.nhdr"), "utf8")).toBe("old header")
      expect(fs.readFileSync(at("keep.raw"), "utf8")).toBe("old data")
    })
  )

  it.effect("a folder that does not exist is a FileError, and nothing leaks", () =>
    Effect.gen(function* () {
      const before = openFdCount()
      const e = (yield* Effect.flip(Effect.scoped(nrrdSink(at("no/such/dir/v.nrrd")).create(info)))) as FileError
      expect(e._tag).toBe("FileError")
      expect(e.operation).toBe("create")
      expect(e.path).toContain(at("no/such/dir/v.nrrd.partial-"))
      expect(openFdCount()).toBe(before)
    })
  )

  it.effect("writing out of range or a wrong-sized slice is a defect; committing twice too", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Effect.scoped(Effect.flatMap(nrrdSink(at("d.nrrd")).create(info), (w) => w.write(3, slice()))))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      const exit2 = yield* Effect.exit(
        Effect.scoped(Effect.flatMap(nrrdSink(at("d.nrrd")).create(info), (w) => w.write(0, allocSlice("float32", 3))))
      )
      expect(Exit.isFailure(exit2) && Cause.isDie(exit2.cause)).toBe(true)
      const one = volumeInfo("uint8", [1, 1, 1])
      const exit3 = yield* Effect.exit(
        Effect.scoped(
          Effect.flatMap(nrrdSink(at("d.nrrd")).create(one), (w) =>
            Effect.zipRight(Effect.zipRight(w.write(0, allocSlice("uint8", 1)), w.commit), w.commit)
          )
        )
      )
      expect(Exit.isFailure(exit3) && Cause.isDie(exit3.cause)).toBe(true)
      // The first commit did land.
      expect(fs.readdirSync(dir)).toEqual(["d.nrrd"])
    })
  )
})
