/**
 * A read that fails (EIO, or here EISDIR, which every kernel gives for a read of a directory's fd)
 * names the byte it had reached, and the slice or page where the caller knows it: through
 * `readAt` (Effect face) and through `readFully`/`readFullySync` inside `attempt` (promise face).
 * The CLI-level EIO tests are test/faults/read-error.test.ts.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { FileError } from "../../src/algebra/io-errors.js"
import { attempt, ioErrorOf, ReadFailure, readAt, readFully, readFullySync } from "../../src/io/files.js"

let dir: string
let fd: number

beforeAll(() => {
  dir = fs.mkdtempSync(`${os.tmpdir()}/slicewise-read-failure-`)
  fd = fs.openSync(dir, "r")
})

afterAll(() => {
  fs.closeSync(fd)
  fs.rmSync(dir, { recursive: true, force: true })
})

const failure = <A>(effect: Effect.Effect<A, unknown>) => Effect.runPromise(Effect.flip(effect))

describe("a failed read names where it failed", () => {
  it("readAt: the byte and the slice", async () => {
    const e = await failure(readAt(fd, "vol.nrrd", new Uint8Array(16), 4096, 7))
    expect(e).toBeInstanceOf(FileError)
    expect((e as FileError).code).toBe("EISDIR")
    expect((e as FileError).message).toBe("cannot read vol.nrrd: slice 7, byte 4096: is a directory")
  })

  it("readAt without a slice: the byte", async () => {
    const e = await failure(readAt(fd, "vol.nrrd", new Uint8Array(16), 352))
    expect((e as FileError).message).toBe("cannot read vol.nrrd: byte 352: is a directory")
  })

  it("readFully inside attempt: the byte", async () => {
    const e = await failure(attempt("a.tif", "read", () => readFully(fd, new Uint8Array(16), 8)))
    expect((e as FileError).message).toBe("cannot read a.tif: byte 8: is a directory")
    expect((e as FileError).code).toBe("EISDIR")
  })

  it("readFullySync throws a ReadFailure that ioErrorOf names with the caller's place", () => {
    let thrown: unknown
    try {
      readFullySync(fd, new Uint8Array(16), 100)
    } catch (e) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(ReadFailure)
    expect((thrown as ReadFailure).code).toBe("EISDIR")
    expect(ioErrorOf("s/slice_00003.tif", "read", thrown, "page 0 (IFD 0)").message).toBe(
      "cannot read s/slice_00003.tif: page 0 (IFD 0), byte 100: is a directory"
    )
  })

  it("other failures keep their message without a place", () => {
    const e = ioErrorOf("x.nrrd", "open", Object.assign(new Error("EACCES: permission denied, open 'x.nrrd'"), { code: "EACCES" }))
    expect(e.message).toBe("cannot open x.nrrd: permission denied")
  })
})
