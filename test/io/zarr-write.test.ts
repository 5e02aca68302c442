/** Zarr and OME-Zarr written by slicewise: metadata as the specs say, voxels back identical (ours and zarrita's). */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { bytesPerVoxel, castValue, DTYPES, type DType } from "../../src/algebra/dtype.js"
import { sliceLength, volumeInfo, type VolumeInfo } from "../../src/algebra/volume.js"
import { sinkFor } from "../../src/io/index.js"
import { openZarr, zarrSink, type CodecName } from "../../src/io/zarr.js"
import { loadZarrita } from "../../src/io/zarr/codecs.js"
import { chunkFileBytes, predicted, readAll, up, volumeBytesOf, writeAll } from "./zarr-helpers.js"

let dir = ""
beforeEach(() => {
  dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-zarr-"))
})
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))
const at = (name: string) => nodePath.join(dir, name)
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b))
const readJson = (p: string) => JSON.parse(fs.readFileSync(p, "utf8"))
const fileBytes = (d: string): number =>
  fs.readdirSync(d, { withFileTypes: true }).reduce((s, e) => s + (e.isDirectory() ? fileBytes(nodePath.join(d, e.name)) : fs.statSync(nodePath.join(d, e.name)).size), 0)

/** The whole array through zarrita's own `get`, as z, y, x bytes. */
const zarritaRead = async (path: string) => {
  const zarr = await loadZarrita()
  const { default: FileSystemStore } = await import("@zarrita/storage/fs")
  const arr = await zarr.open(new FileSystemStore(path), { kind: "array" })
  const got = await zarr.get(arr)
  const data = got.data as unknown as ArrayBufferView
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}

const CODECS: ReadonlyArray<CodecName> = ["raw", "gzip", "zstd", "blosc"]

describe("zarr writer", () => {
  for (const version of [2, 3] as const) {
    for (const codec of CODECS) {
      it.effect(`v${version} ${codec}: metadata, chunks, voxels back (slicewise and zarrita), backward order`, () =>
        Effect.gen(function* () {
          const info = volumeInfo("int16", [5, 7, 6])
          const bytes = volumeBytesOf(info, 3)
          const path = at(`out-v${version}-${codec}.zarr`)
          const sink = zarrSink(path, { version, chunks: [2, 3, 4], codec: { codec } })
          const written = yield* writeAll(sink, info, bytes, up(5).reverse())
          expect(written).toBe(fileBytes(path))
          if (codec === "raw") expect(sink.outputBytes(info)).toBe(fileBytes(path))
          expect(sink.outputBytesExact).toBe(codec === "raw")
          if (version === 2) {
            const m = readJson(nodePath.join(path, ".zarray"))
            expect(m).toMatchObject({ zarr_format: 2, shape: [5, 7, 6], chunks: [2, 3, 4], dtype: "<i2", order: "C", fill_value: 0, filters: null })
            expect(m.compressor?.id ?? "raw").toBe(codec)
            expect(fs.existsSync(nodePath.join(path, "2.2.1"))).toBe(true)
            expect(fs.readdirSync(path).length).toBe(3 * 3 * 2 + 2)
          } else {
            const m = readJson(nodePath.join(path, "zarr.json"))
            expect(m).toMatchObject({ zarr_format: 3, node_type: "array", shape: [5, 7, 6], data_type: "int16", fill_value: 0 })
            expect(m.chunk_grid.configuration.chunk_shape).toEqual([2, 3, 4])
            expect(m.codecs[0]).toEqual({ name: "bytes", configuration: { endian: "little" } })
            expect(m.codecs[1]?.name ?? "raw").toBe(codec)
            expect(fs.existsSync(nodePath.join(path, "c", "2", "2", "1"))).toBe(true)
          }
          if (codec === "raw") {
            // A raw chunk is the C-order chunk padded with zeros: chunk 2.2.1 holds z 4, y 6, x 4…5.
            const file = fs.readFileSync(version === 2 ? nodePath.join(path, "2.2.1") : nodePath.join(path, "c", "2", "2", "1"))
            expect(file.length).toBe(2 * 3 * 4 * 2)
            const v = new Int16Array(file.buffer, file.byteOffset, 24)
            const src = new Int16Array(bytes.buffer)
            expect(v[0]).toBe(src[4 * 42 + 6 * 6 + 4])
            expect(v[1]).toBe(src[4 * 42 + 6 * 6 + 5])
            expect(Array.from(v.subarray(2))).toEqual(new Array(22).fill(0))
          }
          const src = yield* openZarr(path)
          expect(src.info).toEqual(info)
          const back = yield* readAll(src, undefined, true)
          expect(same(back.bytes, bytes)).toBe(true)
          expect(back.bytesRead).toBe(chunkFileBytes(path))
          const theirs = yield* Effect.promise(() => zarritaRead(path))
          expect(same(theirs, bytes)).toBe(true)
        })
      )
    }
  }

  for (const dtype of DTYPES) {
    it.effect(`${dtype}: v2 zstd round trip`, () =>
      Effect.gen(function* () {
        const info = volumeInfo(dtype as DType, [3, 4, 5])
        const bytes = volumeBytesOf(info, 5)
        const path = at(`d-${dtype}.zarr`)
        yield* writeAll(zarrSink(path, { chunks: [2, 2, 2] }), info, bytes)
        expect(same((yield* readAll(yield* openZarr(path))).bytes, bytes)).toBe(true)
      })
    )
  }

  it.effect("v3 written by zarrita (gzip, through the node:zlib encoder) reads back identical", () =>
    Effect.gen(function* () {
      const path = at("by-zarrita.zarr")
      const data = new Float32Array(4 * 5 * 6).map((_, i) => (i * 7) % 23 - 11.5)
      yield* Effect.promise(async () => {
        const zarr = await loadZarrita()
        const { default: FileSystemStore } = await import("@zarrita/storage/fs")
        const arr = await zarr.create(zarr.root(new FileSystemStore(path)), {
          shape: [4, 5, 6],
          chunkShape: [3, 2, 4],
          dtype: "float32",
          codecs: [{ name: "bytes", configuration: { endian: "little" } }, { name: "gzip", configuration: { level: 6 } }]
        })
        await zarr.set(arr, null, { data, shape: [4, 5, 6], stride: [30, 6, 1] })
      })
      const src = yield* openZarr(path)
      const { bytes, bytesRead } = yield* readAll(src, up(4).reverse())
      expect(same(bytes, new Uint8Array(data.buffer))).toBe(true)
      expect(bytesRead).toBe(chunkFileBytes(path))
    })
  )

  for (const [version, labels] of [[2, false], [3, true], [2, true]] as const) {
    it.effect(`OME-Zarr ${version === 2 ? "0.4" : "0.5"} ${labels ? "labels (mode)" : "intensities (mean)"}: multiscales and every level`, () =>
      Effect.gen(function* () {
        const info = volumeInfo("uint8", [5, 6, 7], [2, 0.5, 0.5])
        const bytes = volumeBytesOf(info, 9)
        if (labels) for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i]! % 4
        const path = at(`img-${version}-${labels}.ome.zarr`)
        const sink = zarrSink(path, { version, chunks: [2, 4, 4], codec: { codec: "blosc" }, ome: { levels: 3, labels, unit: "micrometer" } })
        yield* writeAll(sink, info, bytes, [2, 0, 4, 1, 3])
        const attrs = version === 2 ? readJson(nodePath.join(path, ".zattrs")) : readJson(nodePath.join(path, "zarr.json")).attributes.ome
        if (version === 2) expect(readJson(nodePath.join(path, ".zgroup"))).toEqual({ zarr_format: 2 })
        else expect(attrs.version).toBe("0.5")
        const ms = attrs.multiscales[0]
        if (version === 2) expect(ms.version).toBe("0.4")
        expect(ms.axes).toEqual(["z", "y", "x"].map((name) => ({ name, type: "space", unit: "micrometer" })))
        expect(ms.datasets.map((d: { path: string }) => d.path)).toEqual(["0", "1", "2"])
        expect(ms.datasets[1].coordinateTransformations[0]).toEqual({ type: "scale", scale: [4, 1, 1] })
        // Level 0 is the input; level 1 the 2×2×2 reduction computed here independently.
        const l0 = yield* openZarr(path)
        expect(l0.format).toBe("ome-zarr")
        expect(same((yield* readAll(l0)).bytes, bytes)).toBe(true)
        const l1 = yield* openZarr(path, { level: 1 })
        expect(l1.info.shape).toEqual([3, 3, 4])
        expect(l1.info.spacing).toEqual([4, 1, 1])
        const got = (yield* readAll(l1)).bytes
        const expected = reduce(bytes, info, labels)
        expect(Array.from(got)).toEqual(Array.from(expected))
        const l2 = yield* openZarr(path, { level: 2 })
        expect(l2.info.shape).toEqual([2, 2, 2])
        expect(Array.from((yield* readAll(l2)).bytes)).toEqual(Array.from(reduce(expected, volumeInfo("uint8", [3, 3, 4]), labels)))
        expect(sink.writerBufferBytes!(info)).toBeGreaterThan(0)
      })
    )
  }

  it.effect("sinkFor: .zarr is a v2 array, .ome.zarr an image; nothing without commit; a foreign directory is refused", () =>
    Effect.gen(function* () {
      const info = volumeInfo("uint8", [2, 3, 3])
      const bytes = volumeBytesOf(info)
      const plain = yield* sinkFor(at("a.zarr"), { codec: "gzip", chunks: [1, 2, 2] })
      expect(plain.format).toBe("zarr")
      yield* writeAll(plain, info, bytes, [1], false)
      expect(fs.readdirSync(dir)).toEqual([])
      yield* writeAll(plain, info, bytes)
      expect(readJson(at("a.zarr/.zarray")).compressor.id).toBe("gzip")
      // Replacing an existing store is allowed (atomically); replacing anything else is not.
      yield* writeAll(plain, info, bytes)
      fs.mkdirSync(at("foreign.zarr"))
      fs.writeFileSync(at("foreign.zarr/notes.txt"), "mine")
      const e = yield* Effect.flip(writeAll(yield* sinkFor(at("foreign.zarr")), info, bytes))
      expect(e._tag).toBe("FileError")
      expect(fs.readFileSync(at("foreign.zarr/notes.txt"), "utf8")).toBe("mine")
      const ome = yield* sinkFor(at("b.ome.zarr"), { zarrVersion: 3, levels: 2 })
      expect(ome.format).toBe("ome-zarr")
      yield* writeAll(ome, info, bytes)
      expect(readJson(at("b.ome.zarr/zarr.json")).attributes.ome.multiscales[0].datasets.length).toBe(2)
      expect(fs.readdirSync(dir).sort()).toEqual(["a.zarr", "b.ome.zarr", "foreign.zarr"])
    })
  )

  it.effect("a commit with slices missing fails and leaves nothing", () =>
    Effect.gen(function* () {
      const info = volumeInfo("uint8", [3, 2, 2])
      const e = yield* Effect.flip(writeAll(zarrSink(at("m.zarr")), info, volumeBytesOf(info), [0, 2]))
      expect(e._tag).toBe("FormatError")
      expect(e.message).toContain("slice 1")
      expect(fs.readdirSync(dir)).toEqual([])
    })
  )
})

/** The 2×2×2 mean (cast rule: truncation) or mode (ties to the smaller) of a uint8 volume, edges partial. */
const reduce = (bytes: Uint8Array, info: VolumeInfo, labels: boolean): Uint8Array => {
  const [Z, Y, X] = info.shape
  const [z2, y2, x2] = [Math.ceil(Z / 2), Math.ceil(Y / 2), Math.ceil(X / 2)]
  const out = new Uint8Array(z2 * y2 * x2)
  for (let z = 0; z < z2; z++)
    for (let y = 0; y < y2; y++)
      for (let x = 0; x < x2; x++) {
        const vals: Array<number> = []
        for (let dz = 0; dz < 2; dz++)
          for (let dy = 0; dy < 2; dy++)
            for (let dx = 0; dx < 2; dx++) {
              const [a, b, c] = [2 * z + dz, 2 * y + dy, 2 * x + dx]
              if (a < Z && b < Y && c < X) vals.push(bytes[(a * Y + b) * X + c]!)
            }
        let v: number
        if (labels) {
          const counts = new Map<number, number>()
          for (const q of vals) counts.set(q, (counts.get(q) ?? 0) + 1)
          v = [...counts].sort((p, q) => q[1] - p[1] || p[0] - q[0])[0]![0]
        } else v = castValue("uint8", vals.reduce((s, q) => s + q, 0) / vals.length)
        out[(z * y2 + y) * x2 + x] = v
      }
  return out
}
void sliceLength
void bytesPerVoxel
void predicted
