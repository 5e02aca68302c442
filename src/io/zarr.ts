/**
 * Zarr v2/v3 and OME-Zarr sources and sinks (zarrita for metadata and codecs, slicewise for the
 * chunk-row slabs that make every chunk read once).
 *
 * @example
 * ```ts
 * import { openZarr, zarrSink } from "slicewise/io/zarr"
 * const src = yield* openZarr("in.zarr")
 * const web = yield* openZarr("https://example.org/vol.zarr", { http: { retries: 8, timeout: "1 minute" } })
 * const sink = zarrSink("out.zarr", { codec: { codec: "zstd" }, chunks: [64, 64, 64] })
 * ```
 */
export { openZarr, type ZarrOptions, type ZarrSource } from "./zarr/reader.js"
export { zarrSink, zarrSinkFor, type ZarrSinkOptions, type ZarrSink } from "./zarr/writer.js"
export { parseCodec, type CodecChoice, type CodecName } from "./zarr/codecs.js"
export type { HttpOptions } from "./zarr/http.js"
