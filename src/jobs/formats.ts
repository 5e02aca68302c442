/**
 * Format options of a pipeline, as plain data: which part of an input to read (an OME-Zarr level,
 * a channel, a NIfTI volume) and how to write an output (Zarr chunks and codec, pyramid levels).
 * The command line's flags and a run job's fields are the same names (`--zarr-version` is
 * `zarrVersion`); this module maps them onto the options of `openSource` and `sinkFor`. An output
 * option that the output's format does not take (`--codec gzip` for a TIFF, `--chunks` for NRRD)
 * is a UsageError naming the option and the output, never ignored.
 *
 * @example
 * ```ts
 * const source = yield* openSource("cells.ome.zarr", sourceOptions({ level: 1 }))
 * const sink = yield* sinkFor("out.ome.zarr", yield* sinkOptions({ chunks: "32,128,128", codec: "zstd:5" }, source))
 * ```
 */
import * as Effect from "effect/Effect"
import type { SliceSource } from "../algebra/slices.js"
import { OUTPUT_KIND_NAMES, outputKindOf, type OutputKind, type SinkOptions, type SourceOptions } from "../io/index.js"
import { UsageError } from "./errors.js"

/** What of the input is read. */
export interface InputFormat {
  /** OME-Zarr: the resolution level (0, the default, is the full resolution). */
  readonly level?: number | undefined
  /** OME-Zarr, TIFF hyperstack or OME-TIFF: the channel of a multi-channel image. */
  readonly channel?: number | undefined
  /** OME-Zarr, TIFF hyperstack or OME-TIFF: the time point. */
  readonly time?: number | undefined
  /** DICOM directory: the series to read (its SeriesNumber or SeriesInstanceUID, as `info` lists them). */
  readonly series?: string | undefined
  /** NIfTI: the volume of a 4D image (default 0). */
  readonly volume?: number | undefined
  /** NIfTI: apply scl_slope/scl_inter (voxels become float32). */
  readonly scale?: boolean | undefined
}

/** How the output is shaped. */
export interface OutputFormat {
  /** Zarr: the chunk shape "z,y,x" (default 64,64,64). */
  readonly chunks?: string | undefined
  /**
   * The output's compression, named per format: Zarr raw, gzip, zstd (default) or blosc, each with
   * an optional level ("zstd:5"); NIfTI .nii.gz gzip:LEVEL; NRRD raw (default) or gzip[:LEVEL];
   * TIFF raw (default), deflate[:LEVEL] or lzw.
   */
  readonly codec?: string | undefined
  /** Zarr: the format version (default 2). */
  readonly zarrVersion?: "2" | "3" | undefined
  /** OME-Zarr: pyramid levels, the full resolution included (default: down to about 64 voxels). */
  readonly levels?: number | undefined
  /** OME-Zarr: a label image (its pyramid by mode, not mean). */
  readonly labels?: boolean | undefined
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** The `openSource` options of an input format. */
export const sourceOptions = (f: InputFormat): SourceOptions => {
  const options: Mutable<SourceOptions> = {}
  if (f.level !== undefined) options.level = f.level
  if (f.channel !== undefined) options.c = f.channel
  if (f.time !== undefined) options.t = f.time
  if (f.series !== undefined) options.series = f.series
  if (f.volume !== undefined) options.volume = f.volume
  if (f.scale === true) options.scale = true
  return options
}

const parseChunks = (text: string): Effect.Effect<readonly [number, number, number], UsageError> => {
  const parts = text.split(",").map(Number)
  return parts.length === 3 && parts.every((n) => Number.isInteger(n) && n >= 1)
    ? Effect.succeed([parts[0]!, parts[1]!, parts[2]!] as const)
    : Effect.fail(new UsageError({ detail: `--chunks ${text}: give three positive integers z,y,x (e.g. 64,64,64)` }))
}

/** The codecs each output takes, as the help and the errors name them. */
const CODECS_OF: Record<OutputKind, string> = {
  zarr: "raw, gzip, zstd or blosc, optionally with :LEVEL",
  "ome-zarr": "raw, gzip, zstd or blosc, optionally with :LEVEL",
  "nifti-gz": "gzip or gzip:LEVEL (1…9)",
  nifti: "none (name the output .nii.gz for gzip)",
  nrrd: "raw, gzip or gzip:LEVEL (1…9)",
  tiff: "raw, deflate, deflate:LEVEL (1…9) or lzw",
  "tiff-stack": "raw, deflate, deflate:LEVEL (1…9) or lzw"
}

const CODEC_TEXT = /^([a-z0-9]+)(?::(\d+))?$/

/** `--codec TEXT` for an output of `kind` at `output`, as sink options; a UsageError if it does not apply. */
const parseCodecText = (
  text: string,
  kind: OutputKind | undefined,
  output: string | undefined
): Effect.Effect<Pick<SinkOptions, "codec" | "compressionLevel" | "tiffCodec" | "nrrdEncoding">, UsageError> =>
  Effect.gen(function* () {
    const m = CODEC_TEXT.exec(text.trim().toLowerCase())
    const name = m?.[1] === "none" ? "raw" : m?.[1]
    const level = m?.[2] === undefined ? {} : { compressionLevel: Number(m[2]) }
    const where = kind === undefined ? "" : ` to ${OUTPUT_KIND_NAMES[kind]} output${output === undefined ? "" : ` ${output}`}`
    const refuse = () =>
      new UsageError({ detail: `--codec ${text} does not apply${where} (use ${kind === undefined ? "a codec its format takes" : CODECS_OF[kind]})` })
    if (kind === undefined || kind === "zarr" || kind === "ome-zarr") {
      // Zarr's codec names live with the Zarr module, loaded only when a codec is named.
      const { parseCodec } = yield* Effect.promise(() => import("../io/zarr.js"))
      const parsed = parseCodec(text)
      if (parsed === undefined) return yield* kind === undefined ? new UsageError({ detail: `--codec ${text}: use raw, gzip, zstd or blosc, optionally with :LEVEL` }) : refuse()
      return { codec: parsed.codec, ...(parsed.level === undefined ? {} : { compressionLevel: parsed.level }) }
    }
    if (m === null) return yield* refuse()
    switch (kind) {
      case "nifti-gz":
        if (name === "gzip") return level
        return yield* refuse()
      case "nrrd":
        if (name === "raw" && m[2] === undefined) return { nrrdEncoding: "raw" }
        if (name === "gzip") return { nrrdEncoding: "gzip", ...level }
        return yield* refuse()
      case "tiff":
      case "tiff-stack":
        if ((name === "raw" || name === "lzw") && m[2] === undefined) return { tiffCodec: name }
        if (name === "deflate") return { tiffCodec: "deflate", ...level }
        return yield* refuse()
      case "nifti":
        return yield* refuse()
    }
  })

/** The output formats a Zarr-only option applies to. */
const ZARR_KINDS: ReadonlyArray<OutputKind | undefined> = ["zarr", "ome-zarr", undefined]

/**
 * The `sinkFor` options of an output format; an output made from `source` keeps its orientation
 * (NIfTI). With the output's path (a job's `output`), options its format does not take are refused.
 */
export const sinkOptions = (f: OutputFormat & { readonly output?: string | undefined }, source: SliceSource): Effect.Effect<SinkOptions, UsageError> =>
  Effect.gen(function* () {
    const kind = f.output === undefined ? undefined : outputKindOf(f.output)
    const zarrOnly = (flag: string, present: boolean) =>
      present && !ZARR_KINDS.includes(kind)
        ? Effect.fail(
            new UsageError({
              detail: `${flag} does not apply to ${OUTPUT_KIND_NAMES[kind!]} output ${f.output} (it is a Zarr${flag === "--levels" || flag === "--labels" ? " / OME-Zarr" : ""} option)`
            })
          )
        : Effect.void
    yield* zarrOnly("--chunks", f.chunks !== undefined)
    yield* zarrOnly("--zarr-version", f.zarrVersion !== undefined)
    yield* zarrOnly("--levels", f.levels !== undefined)
    yield* zarrOnly("--labels", f.labels === true)
    const options: Mutable<SinkOptions> = { like: source }
    if (f.chunks !== undefined) options.chunks = yield* parseChunks(f.chunks)
    if (f.codec !== undefined) Object.assign(options, yield* parseCodecText(f.codec, kind, f.output))
    if (f.zarrVersion !== undefined) options.zarrVersion = f.zarrVersion === "3" ? 3 : 2
    if (f.levels !== undefined) options.levels = f.levels
    if (f.labels === true) options.labels = true
    return options
  })
