/**
 * Formats by path: the one place that decides which reader or writer a path gets.
 *
 * | path                                   | format                                       |
 * | -------------------------------------- | -------------------------------------------- |
 * | `http://…`, `https://…`                | a Zarr array or OME-Zarr image, read-only    |
 * | a directory with `.zarray`/`zarr.json` | a Zarr v2/v3 array                           |
 * | a directory with OME `multiscales`     | an OME-Zarr image (level 0 unless `level`)   |
 * | `.zarr`, `.ome.zarr` (as output)       | a Zarr v2 array; OME-Zarr 0.4 image          |
 * | any other existing directory           | a stack of 2D .tif/.tiff files               |
 * | a path ending in `/`                   | a stack (as output)                          |
 * | `.tif`, `.tiff`                        | one multi-page TIFF                          |
 * | `.nrrd`, `.nhdr`                       | NRRD, attached or detached                   |
 * | `.nii`, `.nii.gz`                      | NIfTI-1, slices along the third axis         |
 *
 * Zarr and NIfTI modules (and zarrita) are loaded only when such a path is used, so that other
 * commands do not pay for them at start-up.
 *
 * @example
 * ```ts
 * import { openSource, sinkFor } from "slicewise/io"              // also exported by "slicewise"
 * const source = yield* openSource("scan/")                       // a TIFF stack
 * const image = yield* openSource("cells.ome.zarr", { level: 1 })  // OME-Zarr, second level
 * const sink = yield* sinkFor("result.zarr", { codec: "zstd", chunks: [64, 64, 64] })
 * ```
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { fileError, UnsupportedError, type IoError } from "../algebra/io-errors.js"
import { nrrdSink, openNrrd } from "./nrrd.js"
import type { SliceSink, SliceSource } from "../algebra/slices.js"
import { openTiffFile, openTiffStack } from "./tiff/reader.js"
import type { SinkOptions, SourceOptions } from "./options.js"
import { tiffFileSink, tiffStackSink } from "./tiff/writer.js"

export type { SinkOptions, SourceOptions } from "./options.js"
export { arraySink, arraySource, type ArraySink } from "./memory.js"
export { phantomSource, type PhantomOptions } from "./phantom.js"
export { listTiffFiles, openTiffFile, openTiffStack, type TiffReadOptions } from "./tiff/reader.js"
export { tiffFileSink, tiffStackSink, type TiffWriteOptions } from "./tiff/writer.js"
export type { ReadStrategy } from "./tiff/blocks.js"
export { nrrdSink, openNrrd, type NrrdEndian, type NrrdSinkOptions } from "./nrrd.js"
// NIfTI and Zarr are loaded on first use by openSource / sinkFor; their openers and sinks are in
// "slicewise/io/nifti" and "slicewise/io/zarr". Their types cost nothing at run time:
export type { NiftiOptions, NiftiSink, NiftiSinkOptions, NiftiSource } from "./nifti.js"
export type { ZarrOptions, ZarrSink, ZarrSinkOptions, ZarrSource } from "./zarr.js"

const extension = (path: string): string => {
  const m = /\.([A-Za-z0-9]+)$/.exec(path)
  return m === null ? "" : m[1]!.toLowerCase()
}

const KNOWN = "a directory of .tif files, .tif/.tiff, .nrrd/.nhdr, .nii/.nii.gz, or a Zarr/OME-Zarr directory or http(s) URL"

const isUrl = (path: string) => /^https?:\/\//i.test(path)
const isNifti = (path: string) => /\.nii(\.gz)?$/i.test(path)

/** True when `dir` holds Zarr metadata (an array, a group or an OME-Zarr image). */
const isZarrDirectory = (dir: string): boolean =>
  [".zarray", "zarr.json", ".zgroup", ".zattrs"].some((f) => fs.existsSync(nodePath.join(dir, f)))

/** Opens a volume for reading, choosing the format from the path. */
export const openSource = (path: string, options: SourceOptions = {}): Effect.Effect<SliceSource, IoError> =>
  Effect.gen(function* () {
    if (isUrl(path)) return yield* Effect.flatMap(loadZarr, (z) => z.openZarr(path, options))
    const stat = yield* Effect.try({ try: () => fs.statSync(path), catch: (e) => fileError(path, "stat", e) })
    if (stat.isDirectory()) {
      if (isZarrDirectory(path)) return yield* Effect.flatMap(loadZarr, (z) => z.openZarr(path, options))
      return yield* openTiffStack(path)
    }
    if (isNifti(path)) return yield* Effect.flatMap(loadNifti, (n) => n.openNifti(path, options))
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
export const sinkFor = (path: string, options: SinkOptions = {}): Effect.Effect<SliceSink, IoError> =>
  Effect.suspend((): Effect.Effect<SliceSink, IoError> => {
    if (isUrl(path)) return Effect.fail(new UnsupportedError({ path, detail: "writing over HTTP", hint: "write to a local path" }))
    const ext = extension(path)
    if (ext === "tif" || ext === "tiff") return Effect.succeed(tiffFileSink(path))
    if (ext === "nrrd" || ext === "nhdr") return Effect.succeed(nrrdSink(path))
    if (isNifti(path.replace(/\/+$/, "")))
      return Effect.map(loadNifti, (n) => {
        const like = options.like as Partial<import("./nifti.js").NiftiSource> | undefined
        const template = like?.niftiHeader
        // Stored values keep the source's scaling; values already scaled are written as they are.
        const scale = template !== undefined && like?.scaled === false ? { slope: template.sclSlope, inter: template.sclInter } : undefined
        return n.niftiSink(path.replace(/\/+$/, ""), {
          ...(template ? { template } : {}),
          ...(scale ? { scale } : {}),
          ...(options.compressionLevel !== undefined ? { level: options.compressionLevel } : {})
        })
      })
    const bare = path.replace(/\/+$/, "")
    if (/\.zarr$/i.test(bare)) return Effect.flatMap(loadZarr, (z) => z.zarrSinkFor(bare, options))
    const isDir = path.endsWith("/") || (fs.existsSync(path) && fs.statSync(path).isDirectory()) || ext === ""
    if (isDir) return Effect.succeed(tiffStackSink(bare || "/"))
    return Effect.fail(new UnsupportedError({ path, detail: "unknown output format", hint: `use ${KNOWN}` }))
  })

const loadNifti = Effect.promise(() => import("./nifti.js"))
const loadZarr = Effect.promise(() => import("./zarr.js"))
