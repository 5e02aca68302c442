/**
 * Zarr v2/v3 and OME-Zarr sources and sinks (zarrita for metadata and codecs, slicewise for the
 * chunk-row slabs that make every chunk read once).
 *
 * @example
 * ```ts
 * import { openZarr, zarrSink } from "slicewise/io/zarr"
 * const src = yield* openZarr("in.zarr")
 * const sink = zarrSink("out.zarr", { codec: { codec: "zstd" }, chunks: [64, 64, 64] })
 * ```
 */
export { openZarr, type ZarrOptions, type ZarrSource } from "./zarr/reader.js"
export { zarrSink, zarrSinkFor, type ZarrSinkOptions, type ZarrSink } from "./zarr/writer.js"
export { parseCodec, type CodecChoice, type CodecName } from "./zarr/codecs.js"
