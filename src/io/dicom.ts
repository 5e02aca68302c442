/**
 * DICOM series input: a directory of DICOM files, one slice each (what scanners and PACS export),
 * read as a volume; `openSource` loads this module when a directory holds DICOM files. Transfer
 * syntaxes: implicit and explicit VR little endian, explicit VR big endian, deflated, RLE Lossless;
 * JPEG, JPEG-LS and JPEG 2000 are refused by name.
 *
 * @example
 * ```ts
 * import { openDicomSeries } from "slicewise/io/dicom"
 * const ct = yield* openDicomSeries("/data/exam/", { series: "3" })   // SeriesNumber or SeriesInstanceUID
 * ct.info.geometry   // { unit: "mm", space: "LPS", origin: [...], direction: [...] }
 * ct.series          // every series of the directory
 * ```
 */
export { openDicomSeries, type DicomOptions, type DicomSource } from "./dicom/reader.js"
export type { DicomSeriesSummary } from "./dicom/series.js"
export { compressedSyntaxName, parseDicom, memoryBytes, type ByteSource, type DicomHeader } from "./dicom/parse.js"
export { isDicomDirectory } from "./dicom/detect.js"
