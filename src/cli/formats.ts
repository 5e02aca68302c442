/**
 * The command line's format flags (`--level`, `--chunks`, `--codec` …): their @effect/cli options,
 * and the job fields they fill (src/jobs/formats.ts says what each means).
 *
 * @example
 * ```sh
 * slicewise run cells.ome.zarr out.ome.zarr median:radius=1 --level 1 --chunks 32,128,128 --codec zstd:5
 * slicewise run scan.nrrd mask.tif threshold:min=100 --codec lzw
 * ```
 */
import * as Options from "@effect/cli/Options"
import * as Option from "effect/Option"

const optionalInteger = (name: string, description: string) =>
  Options.integer(name).pipe(Options.optional, Options.withDescription(description))

/** Options that choose what of the input is read. */
export const inputOptions = Options.all({
  level: optionalInteger("level", "OME-Zarr input: the resolution level to read (0, the default, is the full resolution)"),
  channel: optionalInteger("channel", "OME-Zarr, ImageJ hyperstack or OME-TIFF input: the channel of a multi-channel image"),
  time: optionalInteger("time", "OME-Zarr, ImageJ hyperstack or OME-TIFF input: the time point"),
  series: Options.text("series").pipe(
    Options.optional,
    Options.withDescription("DICOM directory input: the series to read, by SeriesNumber or SeriesInstanceUID (info lists them)")
  ),
  volume: optionalInteger("volume", "NIfTI input: the volume of a 4D image (default 0)"),
  scale: Options.boolean("scale").pipe(Options.withDescription("NIfTI input: apply scl_slope/scl_inter (voxels become float32)"))
})

/** Options that shape the output. */
export const outputOptions = Options.all({
  chunks: Options.text("chunks").pipe(Options.optional, Options.withDescription("Zarr output only: chunk shape z,y,x (default 64,64,64)")),
  codec: Options.text("codec").pipe(
    Options.optional,
    Options.withDescription(
      "Output compression, per format: Zarr raw, gzip, zstd (default) or blosc, each with an optional level (zstd:5); " +
        "NIfTI .nii.gz gzip:LEVEL; NRRD raw (default) or gzip[:LEVEL]; TIFF raw (default), deflate[:LEVEL] or lzw " +
        "(with the horizontal predictor for integers, the floating-point one for floats). A codec the output does not take is refused"
    )
  ),
  zarrVersion: Options.choice("zarr-version", ["2", "3"] as const).pipe(Options.optional, Options.withDescription("Zarr output only: format version (default 2)")),
  levels: optionalInteger("levels", "OME-Zarr output only: pyramid levels, the full resolution included (default: down to about 64 voxels)"),
  labels: Options.boolean("labels").pipe(Options.withDescription("OME-Zarr output only: a label image (pyramid by mode, not mean)"))
})

/** What @effect/cli gives for the options of T: an Option for a value, a boolean for a switch. */
export type Flags<T> = { readonly [K in keyof T]-?: boolean extends T[K] ? boolean : Option.Option<Exclude<T[K], undefined>> }

/** The job fields of the flags given (flags left out stay out). */
export const fieldsOf = <T>(flags: Flags<T>): T => {
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(flags)) {
    if (value === true) fields[key] = true
    else if (Option.isOption(value) && Option.isSome(value)) fields[key] = value.value
  }
  return fields as T
}
