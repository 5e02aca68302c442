/** Zarr arrays written by zarr-python 2.13 (and v3 shards written from the spec) read voxel-identical. */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { openZarr, type ZarrOptions } from "../../src/io/zarr.js"
import { openSource } from "../../src/io/index.js"
import { chunkFileBytes, predicted, readAll, up } from "./zarr-helpers.js"

const DIR = nodePath.join(__dirname, "..", "fixtures", "zarr")
interface Entry {
  readonly name: string
  readonly dtype?: string
  readonly shape?: [number, number, number]
  readonly spacing?: [number, number, number]
  readonly error?: string
  readonly atOpen?: boolean
  readonly position?: string | null
  readonly contains?: string | null
  readonly options?: ZarrOptions
}
const manifest: ReadonlyArray<Entry> = JSON.parse(fs.readFileSync(nodePath.join(DIR, "manifest.json"), "utf8"))
const good = manifest.filter((e) => e.error === undefined)
const bad = manifest.filter((e) => e.error !== undefined)
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b))

describe("zarr: zarr-python fixtures", () => {
  for (const e of good) {
    it.effect(`${e.name}: voxels; every chunk read once, up and down`, () =>
      Effect.gen(function* () {
        const path = nodePath.join(DIR, e.name)
        const src = yield* openZarr(path)
        expect(src.info.dtype).toBe(e.dtype)
        expect(src.info.shape).toEqual(e.shape)
        if (e.spacing) expect(src.info.spacing).toEqual(e.spacing)
        const expected = new Uint8Array(fs.readFileSync(`${path}.expected.bin`))
        const fwd = yield* readAll(src, undefined, true)
        expect(same(fwd.bytes, expected)).toBe(true)
        const back = yield* readAll(src, up(src.info.shape[0]).reverse())
        expect(same(back.bytes, expected)).toBe(true)
        // Whole-store fixtures: the chunks of one (t, c) are all the chunk files.
        const total = e.name.startsWith("ome") || e.name === "v2-4d.zarr" ? predicted(src) : chunkFileBytes(path)
        expect(predicted(src)).toBe(total)
        expect(fwd.bytesRead).toBe(total)
        expect(back.bytesRead).toBe(total)
      })
    )
  }

  it.effect("OME-Zarr 0.4: channel 1, level 1, details", () =>
    Effect.gen(function* () {
      const path = nodePath.join(DIR, "ome-04.zarr")
      const c1 = yield* openZarr(path, { c: 1 })
      expect(same((yield* readAll(c1)).bytes, fs.readFileSync(`${path}.c1.expected.bin`))).toBe(true)
      const l1 = yield* openZarr(path, { level: 1 })
      expect(l1.info.shape).toEqual([3, 4, 3])
      expect(l1.info.spacing).toEqual([4, 1, 1])
      expect(same((yield* readAll(l1)).bytes, fs.readFileSync(`${path}.level1.expected.bin`))).toBe(true)
      expect(l1.format).toBe("ome-zarr")
      expect(l1.details.level).toBe("1 of 2")
      expect(l1.details.axes).toBe("t c z y x")
      expect(String(l1.details.levels)).toContain("0: scale 2×0.5×0.5")
      const e = yield* Effect.flip(openZarr(path, { level: 2 }))
      expect(e._tag).toBe("UnsupportedError")
      const ec = yield* Effect.flip(openZarr(path, { c: 2 }))
      expect(ec.message).toContain('axis "c"')
    })
  )

  it.effect("details name chunks, codecs and missing chunks", () =>
    Effect.gen(function* () {
      const src = yield* openZarr(nodePath.join(DIR, "v2-missing.zarr"))
      expect(src.details.chunks).toBe("2×3×4")
      expect(String(src.details.codecs)).toContain("zstd")
      expect(String(src.details["chunk files"])).toContain("missing")
      const sh = yield* openZarr(nodePath.join(DIR, "v3-sharded.zarr"))
      expect(sh.details.shards).toBe("4×6×8")
      expect(String(sh.details.codecs)).toContain("sharding_indexed")
    })
  )

  it.effect("random order: correct voxels, rows re-read honestly", () =>
    Effect.gen(function* () {
      const path = nodePath.join(DIR, "v3-sharded.zarr")
      const src = yield* openZarr(path)
      const expected = fs.readFileSync(`${path}.expected.bin`)
      const order = [8, 0, 5, 1, 2, 7, 3, 6, 4]
      const { bytes, bytesRead } = yield* readAll(src, order)
      expect(same(bytes, expected)).toBe(true)
      expect(bytesRead).toBeGreaterThan(chunkFileBytes(path))
    })
  )

  it.effect("openSource picks Zarr directories, and arrays inside an OME group by path", () =>
    Effect.gen(function* () {
      const a = yield* openSource(nodePath.join(DIR, "v2-uint16-zstd.zarr"))
      expect(a.format).toBe("zarr")
      const o = yield* openSource(nodePath.join(DIR, "ome-04.zarr"), { level: 1 })
      expect(o.format).toBe("ome-zarr")
      expect(o.info.shape).toEqual([3, 4, 3])
    })
  )
})

describe("zarr: bad input", () => {
  for (const e of bad) {
    it.effect(`${e.name}${e.options ? ` ${JSON.stringify(e.options)}` : ""}: ${e.error}${e.position ? ` at ${e.position}` : ""}`, () =>
      Effect.gen(function* () {
        const path = nodePath.join(DIR, e.name)
        const opened = yield* Effect.either(openZarr(path, e.options ?? {}))
        let err: unknown
        if (e.atOpen) {
          expect(opened._tag).toBe("Left")
          if (opened._tag === "Left") err = opened.left
        } else {
          expect(opened._tag).toBe("Right")
          if (opened._tag === "Right") err = yield* Effect.flip(readAll(opened.right))
        }
        const x = err as { _tag: string; path: string; position?: string; message: string }
        expect(x._tag).toBe(e.error)
        expect(x.path.startsWith(path)).toBe(true)
        if (e.position) expect(x.position).toBe(e.position)
        if (e.contains) expect(x.message).toContain(e.contains)
      })
    )
  }
})
