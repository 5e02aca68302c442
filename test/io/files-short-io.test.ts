/**
 * Short reads and writes (signals, pipes, network file systems) are continued where they stopped:
 * node:fs is mocked here so that every read moves at most 3 bytes, every write at most 5, and every
 * writev only its first 7, then the helpers of src/io/files.ts must still move everything.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import { afterAll, describe, expect, it, vi } from "vitest"

vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs")>()
  type Cb = (err: NodeJS.ErrnoException | null, n: number) => void
  const read = (fd: number, buf: Uint8Array, off: number, len: number, pos: number, cb: Cb) =>
    real.read(fd, buf, off, Math.min(len, 3), pos, (e, n) => cb(e, n))
  const write = (fd: number, buf: Uint8Array, off: number, len: number, pos: number, cb: Cb) =>
    real.write(fd, buf, off, Math.min(len, 5), pos, (e, n) => cb(e, n))
  const writev = (fd: number, parts: Uint8Array[], pos: number, cb: Cb) => {
    const all = Buffer.concat(parts)
    real.write(fd, all, 0, Math.min(all.length, 7), pos, (e, n) => cb(e, n))
  }
  return { ...real, default: { ...real, read, write, writev }, read, write, writev }
})

const { readAt, readFully, writeAt, writevAt, writevFully } = await import("../../src/io/files.js")

const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "slicewise-short-io-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

describe("short reads and writes are continued", () => {
  it("readAt and readFully fill the target, stopping only at the end of the file", async () => {
    const path = nodePath.join(dir, "r.bin")
    const data = pattern(100, 1)
    fs.writeFileSync(path, data)
    const fd = fs.openSync(path, "r")
    try {
      const a = new Uint8Array(40)
      expect(await Effect.runPromise(readAt(fd, path, a, 10))).toBe(40)
      expect(Array.from(a)).toEqual(Array.from(data.subarray(10, 50)))
      const b = new Uint8Array(40)
      expect(await readFully(fd, b, 80)).toBe(20)
      expect(Array.from(b.subarray(0, 20))).toEqual(Array.from(data.subarray(80)))
    } finally {
      fs.closeSync(fd)
    }
  })

  it("writeAt, writevAt and writevFully write every byte where it belongs", async () => {
    const path = nodePath.join(dir, "w.bin")
    const fd = fs.openSync(path, "w+")
    const one = pattern(23, 2)
    const parts = [pattern(4, 3), pattern(0, 0), pattern(9, 4), pattern(13, 5)]
    try {
      await Effect.runPromise(writeAt(fd, path, one, 3))
      await Effect.runPromise(writevAt(fd, path, parts, 30))
      await writevFully(fd, parts, 70)
    } finally {
      fs.closeSync(fd)
    }
    const expected = new Uint8Array(96)
    expected.set(one, 3)
    expected.set(Buffer.concat(parts), 30)
    expected.set(Buffer.concat(parts), 70)
    expect(Array.from(fs.readFileSync(path))).toEqual(Array.from(expected))
  })
})
