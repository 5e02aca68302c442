/**
 * Format options of a pipeline, as plain data: which part of an input to read (an OME-Zarr level,
 * a channel, a NIfTI volume) and how to write an output (Zarr chunks and codec, pyramid levels).
 * The command line's flags and a run job's fields are the same names (`--zarr-version` is
 * `zarrVersion`); this module maps them onto the options of `openSource` and `sinkFor`. Formats
 * ignore what is not theirs.
 *
 * @example
 * ```ts
 * const source = yield* openSource("cells.ome.zarr", sourceOptions({ level: 1 }))
 * const sink = yield* sinkFor("out.ome.zarr", yield* sinkOptions({ chunks: "32,128,128", codec: "zstd:5" }, source))
 * ```
 */
import * as Effect from "effect/Effect"
import type { SliceSource } from "../algebra/slices.js"
import type { SinkOptions, SourceOptions } from "../io/index.js"
import { UsageError } from "./errors.js"

/** What of the input is read. */
export interface InputFormat {
  /** OME-Zarr: the resolution level (0, the default, is the full resolution). */
  readonly level?: number | undefined
  /** OME-Zarr: the channel of a multi-channel image (default 0). */
  readonly channel?: number | undefined
  /** OME-Zarr: the time point (default 0). */
  readonly time?: number | undefined
  /** NIfTI: the volume of a 4D image (default 0). */
  readonly volume?: number | undefined
  /** NIfTI: apply scl_slope/scl_inter (voxels become float32). */
  readonly scale?: boolean | undefined
}

/** How the output is shaped. */
export interface OutputFormat {
  /** Zarr: the chunk shape "z,y,x" (default 64,64,64). */
  readonly chunks?: string | undefined
  /** Zarr: raw, gzip, zstd (default) or blosc with an optional level ("zstd:5"); NIfTI .nii.gz: gzip:LEVEL. */
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

const parseCodecText = (text: string): Effect.Effect<Pick<SinkOptions, "codec" | "compressionLevel">, UsageError> =>
  Effect.gen(function* () {
    // The codec names live with the Zarr module, loaded only when a codec is named.
    const { parseCodec } = yield* Effect.promise(() => import("../io/zarr.js"))
    const parsed = parseCodec(text)
    if (parsed === undefined) return yield* new UsageError({ detail: `--codec ${text}: use raw, gzip, zstd or blosc, optionally with :LEVEL` })
    return { codec: parsed.codec, ...(parsed.level === undefined ? {} : { compressionLevel: parsed.level }) }
  })

/** The `sinkFor` options of an output format; an output made from `source` keeps its orientation (NIfTI). */
export const sinkOptions = (f: OutputFormat, source: SliceSource): Effect.Effect<SinkOptions, UsageError> =>
  Effect.gen(function* () {
    const options: Mutable<SinkOptions> = { like: source }
    if (f.chunks !== undefined) options.chunks = yield* parseChunks(f.chunks)
    if (f.codec !== undefined) Object.assign(options, yield* parseCodecText(f.codec))
    if (f.zarrVersion !== undefined) options.zarrVersion = f.zarrVersion === "3" ? 3 : 2
    if (f.levels !== undefined) options.levels = f.levels
    if (f.labels === true) options.labels = true
    return options
  })
