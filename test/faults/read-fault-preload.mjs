/**
 * Test-only preload (`node --import <this file> …`) that makes reads of one file fail with EIO at
 * one byte, as a bad sector or a network file system that lost its server does: node:fs's own
 * functions are wrapped, below everything slicewise does, so no product code knows about it and no
 * user can reach it. A device-mapper `error` target would be more real still, but this container's
 * kernel has no device-mapper driver (docs/FAULTS.md, "A read fails mid-volume").
 *
 * SLICEWISE_TEST_READ_FAULT is JSON `{ "file": "/abs/real/path", "offset": 1234, "length": 512 }`:
 * bytes [offset, offset + length) of that file are unreadable. A read that starts before them
 * returns the bytes up to `offset` (a short read, as the kernel gives); a read that starts inside
 * them fails with EIO; `fs.promises.readFile` of the file (a Zarr chunk) fails with EIO.
 *
 * @example
 * ```ts
 * startCli(["run", input, output, "copy"], {
 *   NODE_OPTIONS: `--import ${pathToFileURL("test/faults/read-fault-preload.mjs")}`,
 *   SLICEWISE_TEST_READ_FAULT: JSON.stringify({ file: fs.realpathSync(input), offset: 4096 })
 * })
 * ```
 */
import fs from "node:fs"
import { syncBuiltinESMExports } from "node:module"

const spec = process.env.SLICEWISE_TEST_READ_FAULT
if (spec !== undefined && spec !== "") {
  const { file, offset, length = 512 } = JSON.parse(spec)
  const end = offset + length
  const eio = (syscall) => Object.assign(new Error(`EIO: i/o error, ${syscall}`), { errno: -5, code: "EIO", syscall })
  const isFaulty = (fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === file
    } catch {
      return false
    }
  }
  /** How many bytes of [position, position + wanted) may be read: -1 for EIO, else a count. */
  const allowed = (fd, position, wanted) => {
    if (typeof position !== "number" || position < 0 || position >= end || position + wanted <= offset || !isFaulty(fd)) return wanted
    return position < offset ? offset - position : -1
  }

  const read = fs.read
  fs.read = function (fd, buffer, off, len, position, callback) {
    if (typeof callback !== "function") return read.apply(this, arguments)
    const n = allowed(fd, position, len)
    if (n < 0) return void process.nextTick(callback, eio("read"), 0, buffer)
    return read.call(this, fd, buffer, off, n, position, callback)
  }
  const readSync = fs.readSync
  fs.readSync = function (fd, buffer, off, len, position) {
    if (typeof len !== "number") return readSync.apply(this, arguments)
    const n = allowed(fd, position, len)
    if (n < 0) throw eio("read")
    return readSync.call(this, fd, buffer, off, n, position)
  }
  const realOrSelf = (path) => {
    try {
      return fs.realpathSync(path)
    } catch {
      return path
    }
  }
  const readFile = fs.promises.readFile
  fs.promises.readFile = async function (path, options) {
    if (typeof path === "string" && realOrSelf(path) === file) throw eio("read")
    return readFile.call(this, path, options)
  }
  syncBuiltinESMExports()
}
