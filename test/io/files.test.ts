/**
 * The shared low-level file helpers (src/io/files.ts): byte swapping on any offset and length,
 * positional reads and writes as Effects and as promises, error mapping, and fd hygiene.
 * Short reads and writes are forced in files-short-io.test.ts.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import fc from "fast-check"
import { afterAll, describe, expect, it } from "vitest"
import { FileError, FormatError } from "../../src/algebra/io-errors.js"
import {
  attempt,
  checkFileSync,
  closeFd,
  fdSize,
  HOST_LITTLE_ENDIAN,
  openFd,
  openScoped,
  readAt,
  readFully,
  renameFile,
  statFd,
  swapBytes,
  truncateFd,
  usingFile,
  withFd,
  writeAt,
  writeFully,
  writevAt,
  writevFully
} from "../../src/io/files.js"
import { failure, fdCount, removeTempDirs, run, tempDir } from "./tiff-helpers.js"

afterAll(removeTempDirs)

describe("byte order", () => {
  it("HOST_LITTLE_ENDIAN agrees with the OS", () => {
    expect(HOST_LITTLE_ENDIAN).toBe(os.endianness() === "LE")
  })

  for (const width of [2, 4, 8]) {
    it(`swapBytes reverses every whole ${width}-byte word, at any offset, leaving a partial last word alone`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.integer({ min: 0, max: 7 }), (raw, shift) => {
          const backing = new Uint8Array(raw.length + 16).fill(0xee)
          const bytes = backing.subarray(shift, shift + raw.length)
          bytes.set(raw)
          swapBytes(bytes, width)
          const whole = raw.length - (raw.length % width)
          for (let i = 0; i < whole; i += width) {
            for (let j = 0; j < width; j++) expect(bytes[i + j]).toBe(raw[i + width - 1 - j])
          }
          expect(Array.from(bytes.subarray(whole))).toEqual(Array.from(raw.subarray(whole)))
          // Nothing outside the view is touched.
          expect(backing.subarray(0, shift).every((b) => b === 0xee)).toBe(true)
          expect(backing.subarray(shift + raw.length).every((b) => b === 0xee)).toBe(true)
          swapBytes(bytes, width)
          expect(Array.from(bytes)).toEqual(Array.from(raw))
        })
      )
    })
  }

  it("swapBytes agrees with DataView on large typed arrays (the native path)", () => {
    const n = 1 << 16
    const values = new Float64Array(n).map((_, i) => Math.sin(i) * 1e6)
    const bytes = new Uint8Array(values.buffer.slice(0))
    swapBytes(bytes, 8)
    const view = new DataView(bytes.buffer)
    for (let i = 0; i < n; i += 997) expect(view.getFloat64(i * 8, !HOST_LITTLE_ENDIAN)).toBe(values[i])
  })

  it("swapBytes: width 1 is a no-op, other widths are a RangeError", () => {
    const b = new Uint8Array([1, 2, 3])
    swapBytes(b, 1)
    expect(Array.from(b)).toEqual([1, 2, 3])
    expect(() => swapBytes(b, 3)).toThrow(RangeError)
  })
})

describe("attempt", () => {
  it("keeps thrown IoErrors and maps other rejections to a FileError on the path", async () => {
    const own = new FormatError({ path: "a.tif", position: "byte 0", detail: "bad magic" })
    expect(
      await failure(
        attempt("x", "read", async () => {
          throw own
        })
      )
    ).toBe(own)
    const e = (await failure(attempt("/no/such", "stat", () => fs.promises.stat("/no/such")))) as FileError
    expect(e).toBeInstanceOf(FileError)
    expect([e.message, e.code]).toEqual(["/no/such: no such file or directory", "ENOENT"])
  })
})

describe("positional I/O on raw fds", () => {
  it("writeAt, writevAt, readAt and truncateFd round-trip at positions, sparse where not written", async () => {
    const path = nodePath.join(tempDir(), "a.bin")
    const before = fdCount()
    const back = await run(
      Effect.scoped(
        Effect.gen(function* () {
          const fd = yield* openScoped(path, "wx+", { operation: "create" })
          yield* truncateFd(fd, path, 64)
          yield* writeAt(fd, path, new Uint8Array([1, 2, 3]), 10)
          yield* writevAt(fd, path, [new Uint8Array([4, 5]), new Uint8Array(0), new Uint8Array([6])], 20)
          const size = yield* fdSize(fd, path)
          const all = new Uint8Array(80)
          const n = yield* readAt(fd, path, all, 0)
          const none = yield* readAt(fd, path, new Uint8Array(0), 5)
          return { size, n, none, all: all.subarray(0, n) }
        })
      )
    )
    expect(back.size).toBe(64)
    expect(back.n).toBe(64)
    expect(back.none).toBe(0)
    const expected = new Uint8Array(64)
    expected.set([1, 2, 3], 10)
    expected.set([4, 5, 6], 20)
    expect(Array.from(back.all)).toEqual(Array.from(expected))
    expect(fdCount()).toBe(before)
  })

  it("the promise faces do the same for async code", async () => {
    const path = nodePath.join(tempDir(), "p.bin")
    const fd = fs.openSync(path, "w+")
    try {
      await writeFully(fd, new Uint8Array([9, 8, 7]), 2)
      await writevFully(fd, [new Uint8Array([1]), new Uint8Array([2, 3])], 5)
      const buf = new Uint8Array(10)
      expect(await readFully(fd, buf, 0)).toBe(8)
      expect(Array.from(buf)).toEqual([0, 0, 9, 8, 7, 1, 2, 3, 0, 0])
      expect(await readFully(fd, buf.subarray(0, 4), 6)).toBe(2)
    } finally {
      fs.closeSync(fd)
    }
  })

  it("failures are FileErrors naming the path and operation (or the path shown)", async () => {
    const dir = tempDir()
    const missing = nodePath.join(dir, "missing.bin")
    const open = (await failure(openFd(missing, "r"))) as FileError
    expect([open.path, open.operation]).toEqual([missing, "open"])
    expect([open.code, open.message]).toEqual(["ENOENT", `${missing}: no such file or directory`])
    const shown = (await failure(openFd(nodePath.join(dir, "no", "x.partial-1-2"), "wx", { operation: "create", shown: "x" }))) as FileError
    expect([shown.path, shown.operation]).toEqual(["x", "create"])
    // Reading a write-only fd, writing a read-only one.
    const path = nodePath.join(dir, "w.bin")
    fs.writeFileSync(path, "abc")
    const wfd = fs.openSync(path, "a")
    const rfd = fs.openSync(path, "r")
    try {
      const r = (await failure(readAt(wfd, "shown-r", new Uint8Array(2), 0))) as FileError
      expect([r.path, r.operation]).toEqual(["shown-r", "read"])
      const w = (await failure(writeAt(rfd, "shown-w", new Uint8Array(2), 0))) as FileError
      expect([w.path, w.operation]).toEqual(["shown-w", "write"])
      const v = (await failure(writevAt(rfd, "shown-v", [new Uint8Array(2)], 0))) as FileError
      expect([v.path, v.operation]).toEqual(["shown-v", "write"])
      await expect(readFully(wfd, new Uint8Array(2), 0)).rejects.toMatchObject({ code: "EBADF" })
    } finally {
      fs.closeSync(wfd)
      fs.closeSync(rfd)
    }
    const rename = (await failure(renameFile(missing, path))) as FileError
    expect(rename.path).toBe(`${missing} -> ${path}`)
    expect((await failure(renameFile(missing, path, path))).path).toBe(path)
  })

  it("fdSize refuses a directory; statFd reports it", async () => {
    const dir = tempDir()
    const st = await run(withFd(dir, "r", (fd) => statFd(fd, dir)))
    expect(st.isDirectory()).toBe(true)
    const e = (await failure(withFd(dir, "r", (fd) => fdSize(fd, dir)))) as FileError
    expect([e.message, e.code]).toEqual([`cannot read ${dir}: is a directory`, "EISDIR"])
  })

  it("withFd and openScoped close their fd on success, failure and interruption", async () => {
    const path = nodePath.join(tempDir(), "c.bin")
    fs.writeFileSync(path, "x")
    const before = fdCount()
    await run(withFd(path, "r", (fd) => readAt(fd, path, new Uint8Array(1), 0)))
    await failure(withFd(path, "r", () => Effect.fail("boom")))
    await failure(Effect.scoped(Effect.zipRight(openScoped(path, "r"), Effect.fail("boom"))))
    const fiber = Effect.runFork(Effect.scoped(Effect.zipRight(openScoped(path, "r"), Effect.never)))
    await new Promise((r) => setTimeout(r, 10))
    expect(Exit.isInterrupted(await Effect.runPromise(Fiber.interrupt(fiber)))).toBe(true)
    expect(fdCount()).toBe(before)
    // closeFd of an fd that is not open is a FileError "write".
    const fd = fs.openSync(path, "r")
    fs.closeSync(fd)
    expect(((await failure(closeFd(fd, path))) as FileError).operation).toBe("write")
  })

  it("usingFile: one effect that opens, runs and closes; errors name the shown path and the operation", async () => {
    const dir = tempDir()
    const path = nodePath.join(dir, "u.bin")
    fs.writeFileSync(path, "abc")
    const before = fdCount()
    const got = await run(usingFile(path, "r", "read", async (fd) => {
      const b = new Uint8Array(3)
      await readFully(fd, b, 0)
      return Buffer.from(b).toString()
    }))
    expect(got).toBe("abc")
    // A failure to open: the open operation given, on the path shown.
    const missing = nodePath.join(dir, "none", "x.tif")
    const open = (await failure(usingFile(missing, "w", "write", async () => 1, { operation: "create", shown: "/out/x.tif" }))) as FileError
    expect([open._tag, open.path, open.operation]).toEqual(["FileError", "/out/x.tif", "create"])
    expect((await failure(usingFile(missing, "r", "read", async () => 1))).path).toBe(missing)
    // A rejection of `use`: Node's errors become a FileError of `operation`; IoErrors stay themselves.
    const rejected = (await failure(usingFile(path, "r", "read", (fd) => writeFully(fd, new Uint8Array(1), 0)))) as FileError
    expect([rejected.path, rejected.operation]).toEqual([path, "read"])
    const format = new FormatError({ path, position: "byte 0", detail: "bad", hint: "none" })
    expect(await failure(usingFile(path, "r", "read", () => Promise.reject(format)))).toBe(format)
    // A synchronous throw from `use` is a failure too, and the fd is still closed.
    const thrown = (await failure(usingFile(path, "r", "write", () => {
      throw new Error("sync")
    }))) as FileError
    expect(thrown.operation).toBe("write")
    expect(fdCount()).toBe(before)
  })

  it("usingFile closes only after `use` has settled, even when interrupted", async () => {
    const path = nodePath.join(tempDir(), "slow.bin")
    fs.writeFileSync(path, "x")
    const before = fdCount()
    let release!: () => void
    let settled = false
    const fiber = Effect.runFork(
      usingFile(path, "r", "read", async () => {
        await new Promise<void>((r) => (release = r))
        settled = true
      })
    )
    await new Promise((r) => setTimeout(r, 10))
    expect(fdCount()).toBe(before + 1)
    const interrupted = Effect.runPromise(Fiber.interrupt(fiber))
    await new Promise((r) => setTimeout(r, 10))
    expect(fdCount()).toBe(before + 1)
    release()
    await interrupted
    expect(settled).toBe(true)
    expect(fdCount()).toBe(before)
  })

  it("checkFileSync runs the check on a regular file and answers false for anything else", () => {
    const dir = tempDir()
    const path = nodePath.join(dir, "k.bin")
    fs.writeFileSync(path, "12345")
    const before = fdCount()
    expect(checkFileSync(path, (_, size) => size === 5)).toBe(true)
    expect(checkFileSync(path, (_, size) => size === 4)).toBe(false)
    expect(checkFileSync(path, () => {
      throw new Error("no")
    })).toBe(false)
    expect(checkFileSync(nodePath.join(dir, "missing"), () => true)).toBe(false)
    expect(checkFileSync(dir, () => true)).toBe(false)
    expect(fdCount()).toBe(before)
  })

  it("an interrupted read finishes before the fiber ends (the fd may only be closed afterwards)", async () => {
    const path = nodePath.join(tempDir(), "big.bin")
    fs.writeFileSync(path, Buffer.alloc(32 << 20, 7))
    const target = new Uint8Array(32 << 20)
    const fd = fs.openSync(path, "r")
    try {
      // runFork runs until the first asynchronous step: the read is in flight when it returns.
      const fiber = Effect.runFork(readAt(fd, path, target, 0))
      await Effect.runPromise(Fiber.interrupt(fiber))
      // Uninterruptible: the interruption took effect only after the whole read completed.
      expect(target[0]).toBe(7)
      expect(target[target.length - 1]).toBe(7)
    } finally {
      fs.closeSync(fd)
    }
  })
})
