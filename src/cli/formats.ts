/**
 * The command line's format options: which part of an input to read (an OME-Zarr level, a channel,
 * a NIfTI volume) and how to write an output (Zarr chunks and codec, pyramid levels), mapped onto
 * the options of `openSource` and `sinkFor` (../io/index.ts). Formats ignore what is not theirs.
 *
 * @example
 * ```sh
 * slicewise run cells.ome.zarr out.ome.zarr median:radius=1 --level 1 --chunks 32,128,128 --codec zstd:5
 * ```
 */
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { SinkOptions, SourceOptions } from "../io/index.js"
import type { SliceSource } from "../algebra/slices.js"
import { UsageError } from "./errors.js"

const optionalInteger = (name: string, description: string) =>
  Options.integer(name).pipe(Options.optional, Options.withDescription(description))

/** Options that choose what of the input is read. */
export const inputOptions = Options.all({
  level: optionalInteger("level", "OME-Zarr input: the resolution level to read (0, the default, is the full resolution)"),
  channel: optionalInteger("channel", "OME-Zarr input: the channel of a multi-channel image (default 0)"),
  time: optionalInteger("time", "OME-Zarr input: the time point (default 0)"),
  volume: optionalInteger("volume", "NIfTI input: the volume of a 4D image (default 0)"),
  scale: Options.boolean("scale").pipe(Options.withDescription("NIfTI input: apply scl_slope/scl_inter (voxels become float32)"))
})

/** Options that shape the output. */
export const outputOptions = Options.all({
  chunks: Options.text("chunks").pipe(Options.optional, Options.withDescription("Zarr output: chunk shape z,y,x (default 64,64,64)")),
  codec: Options.text("codec").pipe(
    Options.optional,
    Options.withDescription("Zarr output: raw, gzip, zstd (default) or blosc, with an optional level (zstd:5); NIfTI .nii.gz: gzip:LEVEL")
  ),
  zarrVersion: Options.choice("zarr-version", ["2", "3"]).pipe(Options.optional, Options.withDescription("Zarr output: format version (default 2)")),
  levels: optionalInteger("levels", "OME-Zarr output: pyramid levels, the full resolution included (default: down to about 64 voxels)"),
  labels: Options.boolean("labels").pipe(Options.withDescription("OME-Zarr output: a label image (pyramid by mode, not mean)"))
})

export interface InputFlags {
  readonly level: Option.Option<number>
  readonly channel: Option.Option<number>
  readonly time: Option.Option<number>
  readonly volume: Option.Option<number>
  readonly scale: boolean
}

export interface OutputFlags {
  readonly chunks: Option.Option<string>
  readonly codec: Option.Option<string>
  readonly zarrVersion: Option.Option<string>
  readonly levels: Option.Option<number>
  readonly labels: boolean
}

export const sourceOptions = (f: InputFlags): SourceOptions => {
  const options: { -readonly [K in keyof SourceOptions]: SourceOptions[K] } = {}
  if (Option.isSome(f.level)) options.level = f.level.value
  if (Option.isSome(f.channel)) options.c = f.channel.value
  if (Option.isSome(f.time)) options.t = f.time.value
  if (Option.isSome(f.volume)) options.volume = f.volume.value
  if (f.scale) options.scale = true
  return options
}

/** The sink options of the flags; an output made from `source` keeps its orientation (NIfTI). */
export const sinkOptions = (f: OutputFlags, source: SliceSource): Effect.Effect<SinkOptions, UsageError> =>
  Effect.gen(function* () {
    let chunks: readonly [number, number, number] | undefined
    if (Option.isSome(f.chunks)) {
      const parts = f.chunks.value.split(",").map(Number)
      if (parts.length !== 3 || !parts.every((n) => Number.isInteger(n) && n >= 1)) {
        return yield* new UsageError({ detail: `--chunks ${f.chunks.value}: give three positive integers z,y,x (e.g. 64,64,64)` })
      }
      chunks = [parts[0]!, parts[1]!, parts[2]!]
    }
    let codec: Pick<SinkOptions, "codec" | "compressionLevel"> = {}
    if (Option.isSome(f.codec)) {
      const text = f.codec.value
      // The codec names live with the Zarr module, loaded only when a codec is named.
      const { parseCodec } = yield* Effect.promise(() => import("../io/zarr.js"))
      const parsed = parseCodec(text)
      if (parsed === undefined) return yield* new UsageError({ detail: `--codec ${text}: use raw, gzip, zstd or blosc, optionally with :LEVEL` })
      codec = { codec: parsed.codec, ...(parsed.level === undefined ? {} : { compressionLevel: parsed.level }) }
    }
    const options: { -readonly [K in keyof SinkOptions]: SinkOptions[K] } = { like: source, ...codec }
    if (chunks !== undefined) options.chunks = chunks
    if (Option.isSome(f.zarrVersion)) options.zarrVersion = f.zarrVersion.value === "3" ? 3 : 2
    if (Option.isSome(f.levels)) options.levels = f.levels.value
    if (f.labels) options.labels = true
    return options
  })
