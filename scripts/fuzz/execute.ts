/**
 * Runs one fuzz case in this process: writes its files into a fresh directory, opens the entry
 * with the library's `openSource`, reads every slice forward and then slice 0 again (an
 * out-of-order read, which takes the gzip/bzip2 spill path), and classifies the result. Success and
 * a typed IO error (FormatError, UnsupportedError, FileError) that names a file are fine; anything
 * else is a finding. The allocation guard (guard.ts) must be installed before this module is
 * imported. Used by scripts/fuzz/worker.ts and test/io/fuzz.test.ts.
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { allocSlice, bytesPerVoxel } from "../../src/algebra/dtype.js"
import { sliceLength } from "../../src/algebra/volume.js"
import { openSource } from "../../src/io/index.js"
import { guardTripped, resetGuard } from "./guard.js"
import type { Job, Outcome } from "./types.js"

/** Slices larger than this are not read (the volume is valid but huge: a Zarr of fill values). */
export const READ_LIMIT = 16 * 2 ** 20
/** Volumes deeper than this, or of more than 4 · READ_LIMIT bytes, are read at their ends only. */
export const MAX_SLICES = 100_000

const TYPED_TAGS = new Set(["FormatError", "UnsupportedError", "FileError"])

const openAndRead = (path: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const source = yield* openSource(path)
      const depth = source.info.shape[0]
      const length = sliceLength(source.info)
      if (length * bytesPerVoxel(source.info.dtype) > READ_LIMIT) return { slices: depth, read: false }
      const reader = yield* source.open
      const slice = allocSlice(source.info.dtype, length)
      // A valid volume far larger than any seed (a Zarr of fill values) is read at its ends only.
      const whole = depth <= MAX_SLICES && depth * length * bytesPerVoxel(source.info.dtype) <= READ_LIMIT * 4
      const order = whole ? Array.from({ length: depth }, (_, z) => z) : [0, 1, depth - 2, depth - 1].filter((z) => z >= 0 && z < depth)
      for (const z of order) yield* reader.read(z, slice)
      if (depth > 1) yield* reader.read(0, slice)
      return { slices: depth, read: whole }
    })
  )

const firstLine = (s: string) => s.split("\n").slice(0, 6).join(" | ")

/** Writes `job` under `dir` (created fresh, removed afterwards) and runs it. */
export const execute = async (job: Job, dir: string): Promise<Outcome> => {
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  try {
    for (const [rel, bytes] of job.files) {
      const file = nodePath.join(dir, rel)
      fs.mkdirSync(nodePath.dirname(file), { recursive: true })
      fs.writeFileSync(file, bytes)
    }
    resetGuard()
    let exit: Exit.Exit<{ slices: number; read: boolean }, unknown>
    try {
      exit = await Effect.runPromiseExit(openAndRead(nodePath.join(dir, job.entry)))
    } catch (e) {
      exit = Exit.die(e)
    }
    const tripped = guardTripped()
    if (tripped !== undefined) return { kind: "finding", finding: "allocation", message: firstLine(tripped.stack) }
    if (Exit.isSuccess(exit)) return { kind: "ok", ...exit.value }
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure) || Cause.isDie(exit.cause))
      return { kind: "finding", finding: "defect", message: firstLine(Cause.pretty(exit.cause)) }
    const error = failure.value as { _tag?: unknown; path?: unknown; message?: unknown }
    const tag = typeof error._tag === "string" ? error._tag : "?"
    const message = String(error.message ?? error)
    if (!TYPED_TAGS.has(tag)) return { kind: "finding", finding: "untyped", message: `${tag}: ${message}` }
    // A detached header may name a data file anywhere (an absolute path): the error names that file.
    if (typeof error.path !== "string" || error.path === "")
      return { kind: "finding", finding: "wrong-path", message: `${tag} with path ${String(error.path)}: ${message}` }
    return { kind: "typed", tag, message: message.split(dir).join("<dir>") }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
