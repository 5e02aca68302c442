/**
 * NRRD (Teem's "nearly raw raster data") sources and sinks: raw encoding, either byte order,
 * attached (`.nrrd`) or detached (`.nhdr` + data file) headers.
 *
 * @example
 * ```ts
 * import { openNrrd, nrrdSink } from "slicewise/io"
 * const src = yield* openNrrd("in.nhdr")
 * const sink = nrrdSink("out.nrrd", { endian: "little" })
 * ```
 */
export { openNrrd } from "./nrrd/reader.js"
export { nrrdSink, type NrrdSinkOptions } from "./nrrd/writer.js"
export { formatNrrdHeader, nrrdType, type NrrdEndian } from "./nrrd/header.js"
