/**
 * NRRD with `encoding: gzip`: written by nrrdSink (attached and detached, either byte order, slices
 * in any order), read back by openNrrd with exact byte accounting (per slice for a forward pass,
 * in sum for any other order), and damaged streams refused with the byte they fail at.
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as zlib from "node:zlib"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { DTYPES, type DType } from "../../src/algebra/dtype.js"
import { volumeBytes, volumeInfo, type Shape } from "../../src/algebra/volume.js"
import { nrrdSink, openNrrd } from "../../src/io/nrrd.js"
import { makeTempDir, pseudoRandomBytes, readVolume, removeDir, writeVolume } from "./nrrd-helpers.js"

let dir = ""
beforeEach(() => {
  dir = makeTempDir()
})
afterEach(() => removeDir(dir))

/** Compressible voxels: runs of pseudo-random bytes, so that a slice spans several gzip blocks. */
const volumeOf = (n: number, seed: number): Uint8Array => {
  const r = pseudoRandomBytes(n, seed)
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = r[i - (i % 8)]! & 0x3f
  return out
}

const order = (depth: number, kind: "forward" | "backward" | "shuffled"): Array<number> => {
  const zs = Array.from({ length: depth }, (_, z) => z)
  if (kind === "backward") return zs.reverse()
  if (kind === "shuffled") return zs.map((z) => (z * 7 + 3) % depth).filter((z, i, a) => a.indexOf(z) === i).concat(zs).filter((z, i, a) => a.indexOf(z) === i)
  return zs
}

const stored = (path: string): number => {
  const data = fs.readFileSync(path)
  return path.endsWith(".gz") ? data.length : data.length - (data.indexOf("\n\n") + 2)
}

const roundTrip = (name: string, dtype: DType, shape: Shape, endian: "little" | "big", writeOrder: "forward" | "backward" | "shuffled") =>
  Effect.gen(function* () {
    const info = volumeInfo(dtype, shape, [2, 0.5, 0.25])
    const volume = volumeOf(volumeBytes(info), 11 + DTYPES.indexOf(dtype))
    const path = nodePath.join(dir, name)
    const sink = nrrdSink(path, { endian, encoding: "gzip", level: 5 })
    expect(sink.outputBytesExact).toBe(false)
    expect(sink.writesRows).toBeFalsy()
    const written = yield* writeVolume(sink, info, volume, order(shape[0], writeOrder))
    const detached = name.endsWith(".nhdr")
    const dataPath = detached ? path.replace(/\.nhdr$/, ".raw.gz") : path
    // No temporaries or side files left; bytesWritten is what is on disk.
    expect(fs.readdirSync(dir).sort()).toEqual(detached ? [nodePath.basename(dataPath), name].sort() : [name])
    const onDisk = fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(nodePath.join(dir, f)).size, 0)
    expect(written).toBe(onDisk)
    expect(fs.readFileSync(path, "latin1")).toContain("encoding: gzip")
    if (detached) expect(fs.readFileSync(path, "latin1")).toContain(`data file: ${nodePath.basename(dataPath)}`)

    const src = yield* openNrrd(path)
    expect(src.info).toEqual(info)
    expect(src.format).toBe("nrrd-gz")
    expect(src.details.encoding).toBe("gzip")
    let sum = 0
    for (let z = 0; z < shape[0]; z++) sum += src.sliceReadBytes(z)
    expect(sum).toBe(stored(dataPath))
    // Forward: exact per slice (readVolume checks each); backward and shuffled: exact in sum.
    for (const kind of ["forward", "backward", "shuffled"] as const) {
      const back = yield* readVolume(src, order(shape[0], kind), kind === "forward")
      expect(Buffer.from(back.bytes).equals(Buffer.from(volume))).toBe(true)
      expect(back.bytesRead).toBe(sum)
    }
  })

describe("NRRD gzip round trip", () => {
  for (const dtype of DTYPES)
    it.effect(`${dtype} attached, big-endian, written backward`, () => roundTrip("v.nrrd", dtype, [6, 17, 23], "big", "backward"))
  it.effect("detached .nhdr + .raw.gz, little-endian, written shuffled", () => roundTrip("v.nhdr", "int16", [7, 40, 50], "little", "shuffled"))
  it.effect("many blocks per slice (64 KiB slices)", () => roundTrip("big.nrrd", "uint16", [5, 128, 256], "little", "forward"))
  it.effect("depth 1", () => roundTrip("flat.nrrd", "float32", [1, 3, 5], "little", "forward"))

  it.effect("a gzip level outside 1…9 is refused", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(writeVolume(nrrdSink(nodePath.join(dir, "x.nrrd"), { encoding: "gzip", level: 12 }), volumeInfo("uint8", [1, 1, 1]), new Uint8Array(1)))
      expect(e._tag).toBe("UnsupportedError")
      expect(fs.readdirSync(dir)).toEqual([])
    })
  )

  it.effect("commit with a slice missing fails and leaves nothing", () =>
    Effect.gen(function* () {
      const info = volumeInfo("uint8", [3, 2, 2])
      const path = nodePath.join(dir, "m.nrrd")
      const e = yield* Effect.flip(
        Effect.scoped(
          Effect.gen(function* () {
            const w = yield* nrrdSink(path, { encoding: "gzip" }).create(info)
            yield* w.write(2, new Uint8Array(4))
            yield* w.write(0, new Uint8Array(4))
            yield* w.commit
          })
        )
      )
      expect(e._tag).toBe("FormatError")
      expect(e.message).toContain("slice 1")
      expect(fs.readdirSync(dir)).toEqual([])
    })
  )
})

describe("NRRD gzip damage", () => {
  const header = (extra = "") => `NRRD0004\ntype: uint8\ndimension: 3\nsizes: 4 4 4\nencoding: gzip\n${extra}\n`

  it.effect("a truncated stream is a FormatError at open, naming a compressed byte", () =>
    Effect.gen(function* () {
      const gz = zlib.gzipSync(pseudoRandomBytes(64, 1))
      const path = nodePath.join(dir, "t.nrrd")
      fs.writeFileSync(path, Buffer.concat([Buffer.from(header()), gz.subarray(0, gz.length - 12)]))
      const e = yield* Effect.flip(openNrrd(path))
      expect(e._tag).toBe("FormatError")
      expect(e.message).toMatch(/compressed byte|decompressed byte/)
    })
  )

  it.effect("a stream with fewer voxels than the sizes is a FormatError naming the slice", () =>
    Effect.gen(function* () {
      const path = nodePath.join(dir, "s.nrrd")
      fs.writeFileSync(path, Buffer.concat([Buffer.from(header()), zlib.gzipSync(pseudoRandomBytes(40, 2))]))
      const e = yield* Effect.flip(openNrrd(path))
      expect(e._tag).toBe("FormatError")
      expect(e.message).toContain("slice 2")
    })
  )

  it.effect("a bad CRC is a FormatError", () =>
    Effect.gen(function* () {
      const gz = Buffer.from(zlib.gzipSync(pseudoRandomBytes(64, 3)))
      gz[gz.length - 6] ^= 0xff
      const path = nodePath.join(dir, "c.nrrd")
      fs.writeFileSync(path, Buffer.concat([Buffer.from(header()), gz]))
      const e = yield* Effect.flip(openNrrd(path))
      expect(e._tag).toBe("FormatError")
      expect(e.message).toContain("CRC")
    })
  )

  it.effect("byte skip -1 with gzip is a FormatError naming the line", () =>
    Effect.gen(function* () {
      const path = nodePath.join(dir, "b.nrrd")
      fs.writeFileSync(path, Buffer.concat([Buffer.from(header("byte skip: -1\n")), zlib.gzipSync(pseudoRandomBytes(64, 4))]))
      const e = yield* Effect.flip(openNrrd(path))
      expect(e._tag).toBe("FormatError")
      expect(e.message).toContain("byte skip -1")
    })
  )

  it.effect("decompressed bytes after the voxels are allowed", () =>
    Effect.gen(function* () {
      const path = nodePath.join(dir, "p.nrrd")
      const voxels = pseudoRandomBytes(64, 5)
      fs.writeFileSync(path, Buffer.concat([Buffer.from(header()), zlib.gzipSync(Buffer.concat([voxels, Buffer.alloc(10)]))]))
      const back = yield* readVolume(yield* openNrrd(path))
      expect(Buffer.from(back.bytes).equals(Buffer.from(voxels))).toBe(true)
    })
  )
})
