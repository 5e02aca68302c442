/**
 * Formats by path: the one place that decides which reader or writer a path gets.
 *
 * | path                                   | format                                       |
 * | -------------------------------------- | -------------------------------------------- |
 * | `http://…`, `https://…`                | a Zarr array or OME-Zarr image, read-only    |
 * | a directory with `.zarray`/`zarr.json` | a Zarr v2/v3 array                           |
 * | a directory with OME `multiscales`     | an OME-Zarr image (level 0 unless `level`)   |
 * | `.zarr`, `.ome.zarr` (as output)       | a Zarr v2 array; OME-Zarr 0.4 image          |
 * | a directory of DICOM files or DICOMDIR | a DICOM series (`series` chooses one)        |
 * | `.dcm`                                 | one DICOM file: a volume of one slice        |
 * | any other existing directory           | a stack of 2D .tif/.tiff files               |
 * | a path ending in `/`                   | a stack (as output)                          |
 * | `.tif`, `.tiff`                        | one multi-page TIFF                          |
 * | `.nrrd`, `.nhdr`                       | NRRD, attached or detached                   |
 * | `.nii`, `.nii.gz`                      | NIfTI-1, slices along the third axis         |
 *
 * Zarr, NIfTI and DICOM modules (and zarrita) are loaded only when such a path is used, so that other
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
import { isDicomDirectory } from "./dicom/detect.js"
import type { SliceSink, SliceSource } from "../algebra/slices.js"
import { lockedSink } from "./output-lock.js"
import { openTiffFile, openTiffStack } from "./tiff/reader.js"
import type { SinkOptions, SourceOptions } from "./options.js"
import { tiffFileSink, tiffStackSink } from "./tiff/writer.js"

export type { SinkOptions, SourceOptions } from "./options.js"
export { arraySink, arraySource, type ArraySink } from "./memory.js"
export { phantomSource, type PhantomOptions } from "./phantom.js"
export { listTiffFiles, openTiffFile, openTiffStack, type TiffReadOptions } from "./tiff/reader.js"
export { tiffFileSink, tiffStackSink, type TiffWriteOptions } from "./tiff/writer.js"
export type { ReadStrategy } from "./tiff/blocks.js"
export type { TiffCompression } from "./tiff/compressed.js"
export type { NrrdEncoding } from "./nrrd/header.js"
export { nrrdSink, openNrrd, type NrrdEndian, type NrrdSinkOptions } from "./nrrd.js"
export { lockName, releaseAbandonedLock } from "./output-lock.js"
// NIfTI and Zarr are loaded on first use by openSource / sinkFor; their openers and sinks are in
// "slicewise/io/nifti" and "slicewise/io/zarr". Their types cost nothing at run time:
export type { NiftiOptions, NiftiSink, NiftiSinkOptions, NiftiSource } from "./nifti.js"
export type { ZarrOptions, ZarrSink, ZarrSinkOptions, ZarrSource } from "./zarr.js"
// DICOM series likewise: openDicomSeries is in "slicewise/io/dicom".
export type { DicomHeader, DicomOptions, DicomSeriesSummary, DicomSource } from "./dicom.js"

const extension = (path: string): string => {
  const m = /\.([A-Za-z0-9]+)$/.exec(path)
  return m === null ? "" : m[1]!.toLowerCase()
}

const KNOWN = "a directory of .tif files, .tif/.tiff, .nrrd/.nhdr, .nii/.nii.gz, a directory of DICOM files or .dcm, or a Zarr/OME-Zarr directory or http(s) URL"

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
      if (isDicomDirectory(path)) return yield* Effect.flatMap(loadDicom, (d) => d.openDicomSeries(path, options))
      return yield* openTiffStack(path, options)
    }
    if (isNifti(path)) return yield* Effect.flatMap(loadNifti, (n) => n.openNifti(path, options))
    switch (extension(path)) {
      case "tif":
      case "tiff":
        return yield* openTiffFile(path, options)
      case "nrrd":
      case "nhdr":
        return yield* openNrrd(path)
      case "dcm":
        return yield* Effect.flatMap(loadDicom, (d) => d.openDicomSeries(path, options))
      default:
        return yield* new UnsupportedError({ path, detail: "unknown input format", hint: `use ${KNOWN}` })
    }
  })

/** The output formats `sinkFor` chooses among. */
export type OutputKind = "tiff" | "tiff-stack" | "nrrd" | "nifti" | "nifti-gz" | "zarr" | "ome-zarr"

/** How each output kind is named in messages. */
export const OUTPUT_KIND_NAMES: Record<OutputKind, string> = {
  tiff: "TIFF",
  "tiff-stack": "TIFF stack",
  nrrd: "NRRD",
  nifti: "NIfTI .nii",
  "nifti-gz": "NIfTI .nii.gz",
  zarr: "Zarr",
  "ome-zarr": "OME-Zarr"
}

/**
 * The format `sinkFor` writes at `path` (undefined: a URL or a name it does not know). A path
 * ending in `/`, an existing directory or a name without extension is a TIFF stack.
 *
 * @example
 * ```ts
 * outputKindOf("out/labels.nhdr")   // "nrrd"
 * outputKindOf("cells.ome.zarr")    // "ome-zarr"
 * ```
 */
export const outputKindOf = (path: string): OutputKind | undefined => {
  if (isUrl(path)) return undefined
  const ext = extension(path)
  if (ext === "tif" || ext === "tiff") return "tiff"
  if (ext === "nrrd" || ext === "nhdr") return "nrrd"
  const bare = path.replace(/\/+$/, "")
  if (isNifti(bare)) return /\.gz$/i.test(bare) ? "nifti-gz" : "nifti"
  if (/\.ome\.zarr$/i.test(bare)) return "ome-zarr"
  if (/\.zarr$/i.test(bare)) return "zarr"
  if (path.endsWith("/") || (fs.existsSync(path) && fs.statSync(path).isDirectory()) || ext === "") return "tiff-stack"
  return undefined
}

/** The sink options each output kind takes (`like` goes everywhere). */
const TAKES: Record<OutputKind, ReadonlyArray<keyof SinkOptions>> = {
  tiff: ["tiffCodec", "compressionLevel"],
  "tiff-stack": ["tiffCodec", "compressionLevel"],
  nrrd: ["nrrdEncoding", "compressionLevel"],
  nifti: [],
  "nifti-gz": ["compressionLevel"],
  zarr: ["codec", "compressionLevel", "zarrVersion", "chunks", "levels", "labels"],
  "ome-zarr": ["codec", "compressionLevel", "zarrVersion", "chunks", "levels", "labels"]
}

/** The first option in `options` that an output of `kind` does not take, if any. */
export const inapplicableOption = (kind: OutputKind, options: SinkOptions): keyof SinkOptions | undefined => {
  for (const key of Object.keys(options) as Array<keyof SinkOptions>) {
    if (key === "like" || options[key] === undefined) continue
    if (!TAKES[kind].includes(key)) return key
  }
  return undefined
}

/**
 * A sink for writing a volume, choosing the format from the path. An option the format does not
 * take (a Zarr codec for a TIFF, chunks for NRRD, …) is an UnsupportedError naming it, not ignored.
 * Every format's writer takes the output's lock first (one run at a time writes a path; see
 * output-lock.ts), and its errors name the output rather than its temporaries.
 */
export const sinkFor = (path: string, options: SinkOptions = {}): Effect.Effect<SliceSink, IoError> =>
  Effect.map(formatSinkFor(path, options), (sink) => lockedSink(path.replace(/\/+$/, "") || "/", sink))

/** The format's own sink for `path`, without the lock. */
const formatSinkFor = (path: string, options: SinkOptions): Effect.Effect<SliceSink, IoError> =>
  Effect.suspend((): Effect.Effect<SliceSink, IoError> => {
    if (isUrl(path)) return Effect.fail(new UnsupportedError({ path, detail: "writing over HTTP", hint: "write to a local path" }))
    const kind = outputKindOf(path)
    const wrong = kind === undefined ? undefined : inapplicableOption(kind, options)
    if (kind !== undefined && wrong !== undefined)
      return Effect.fail(
        new UnsupportedError({
          path,
          detail: `the sink option ${wrong} (${JSON.stringify(options[wrong])}) does not apply to ${OUTPUT_KIND_NAMES[kind]} output`,
          hint: `${OUTPUT_KIND_NAMES[kind]} output takes ${TAKES[kind].length > 0 ? TAKES[kind].join(", ") : "no such option"}`
        })
      )
    const ext = extension(path)
    const level = options.compressionLevel !== undefined ? { level: options.compressionLevel } : {}
    if (kind === "tiff") return Effect.succeed(tiffFileSink(path, { compression: options.tiffCodec ?? "raw", ...level }))
    if (kind === "nrrd") return Effect.succeed(nrrdSink(path, { encoding: options.nrrdEncoding ?? "raw", ...level }))
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
    if (isDir) return Effect.succeed(tiffStackSink(bare || "/", { compression: options.tiffCodec ?? "raw", ...(options.compressionLevel !== undefined ? { level: options.compressionLevel } : {}) }))
    return Effect.fail(new UnsupportedError({ path, detail: "unknown output format", hint: `use ${KNOWN}` }))
  })

const loadNifti = Effect.promise(() => import("./nifti.js"))
const loadZarr = Effect.promise(() => import("./zarr.js"))
const loadDicom = Effect.promise(() => import("./dicom.js"))
