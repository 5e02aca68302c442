/**
 * Formats by path: the one place that decides which reader or writer a path gets.
 *
 * | path                     | format                        |
 * | ------------------------ | ----------------------------- |
 * | an existing directory    | a stack of 2D .tif/.tiff files |
 * | a path ending in `/`     | a stack (as output)            |
 * | `.tif`, `.tiff`          | one multi-page TIFF            |
 * | `.nrrd`, `.nhdr`         | NRRD, attached or detached     |
 *
 * @example
 * ```ts
 * const source = yield* openSource("scan/")          // a TIFF stack
 * const sink = yield* sinkFor("result.nrrd")
 * ```
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { fileError, UnsupportedError, type IoError } from "./errors.js"
import { nrrdSink, openNrrd } from "./nrrd.js"
import type { SliceSink, SliceSource } from "./slices.js"
import { openTiffFile, openTiffStack } from "./tiff/reader.js"
import { tiffFileSink, tiffStackSink } from "./tiff/writer.js"

const extension = (path: string): string => {
  const m = /\.([A-Za-z0-9]+)$/.exec(path)
  return m === null ? "" : m[1]!.toLowerCase()
}

const KNOWN = "a directory of .tif files, .tif/.tiff, .nrrd or .nhdr"

/** Opens a volume for reading, choosing the format from the path. */
export const openSource = (path: string): Effect.Effect<SliceSource, IoError> =>
  Effect.gen(function* () {
    const stat = yield* Effect.try({ try: () => fs.statSync(path), catch: (e) => fileError(path, "stat", e) })
    if (stat.isDirectory()) return yield* openTiffStack(path)
    switch (extension(path)) {
      case "tif":
      case "tiff":
        return yield* openTiffFile(path)
      case "nrrd":
      case "nhdr":
        return yield* openNrrd(path)
      default:
        return yield* new UnsupportedError({ path, detail: "unknown input format", hint: `use ${KNOWN}` })
    }
  })

/** A sink for writing a volume, choosing the format from the path. */
export const sinkFor = (path: string): Effect.Effect<SliceSink, IoError> =>
  Effect.suspend(() => {
    const ext = extension(path)
    if (ext === "tif" || ext === "tiff") return Effect.succeed(tiffFileSink(path))
    if (ext === "nrrd" || ext === "nhdr") return Effect.succeed(nrrdSink(path))
    const isDir = path.endsWith("/") || (fs.existsSync(path) && fs.statSync(path).isDirectory()) || ext === ""
    if (isDir) return Effect.succeed(tiffStackSink(path.replace(/\/+$/, "") || "/"))
    return Effect.fail(new UnsupportedError({ path, detail: "unknown output format", hint: `use ${KNOWN}` }))
  })
