/**
 * TIFF input and output for slicewise: multi-page files and directories of 2D files, classic and
 * BigTIFF, read slice by slice with exact byte counts, written atomically.
 *
 * @example
 * ```ts
 * import { openTiffFile, tiffStackSink } from "slicewise/io"
 * const src = yield* openTiffFile("/data/vol.tif")
 * const sink = tiffStackSink("/out/slices")
 * ```
 */
export { openTiffFile, openTiffStack, listTiffFiles, type TiffReadOptions } from "./reader.js"
export { tiffFileSink, tiffStackSink, stackFileName, type TiffWriteOptions } from "./writer.js"
export { planTiffLayout, type TiffLayout, type LayoutOptions } from "./layout.js"
export type { ReadStrategy } from "./blocks.js"
export { naturalCompare } from "./natural.js"
