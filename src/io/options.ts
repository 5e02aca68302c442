/**
 * The options `openSource` and `sinkFor` take, one set for every format: each format reads the
 * fields that are its own; `sinkFor` refuses a sink option that its output's format does not take. A module of their own, below the dispatcher in
 * index.ts, so that a format's adapter (`zarrSinkFor`) can take them without importing the
 * dispatcher that loads it.
 *
 * @example
 * ```ts
 * const read: SourceOptions = { level: 1 }                       // OME-Zarr, second level
 * const write: SinkOptions = { codec: "zstd", chunks: [64, 64, 64] }
 * ```
 */
import type { SliceSource } from "../algebra/slices.js"
import type { HttpOptions } from "./zarr/http.js"

/** Options a format may take when reading; formats ignore what is not theirs. */
export interface SourceOptions {
  /** NIfTI: apply scl_slope/scl_inter (voxels become float32, or float64 for 32-bit data). */
  readonly scale?: boolean
  /** NIfTI: which volume of a 4D image (default 0). */
  readonly volume?: number
  /** OME-Zarr: which resolution level (default 0, the full resolution). */
  readonly level?: number
  /**
   * Time point and channel of a 4D/5D image: OME-Zarr (default 0), and TIFF hyperstacks and
   * OME-TIFF, which refuse a multi-channel or multi-time file when none is chosen.
   */
  readonly t?: number
  readonly c?: number
  /** DICOM directory: which series (SeriesNumber or SeriesInstanceUID); needed when it holds several. */
  readonly series?: string
  /** DICOM: apply RescaleSlope/RescaleIntercept (default true); false reads the stored values. */
  readonly rescale?: boolean
  /**
   * Open only to describe the input (`slicewise info`): a file with several channels, time points
   * or series is not refused for want of a choice; the first is opened and `details` lists them all.
   */
  readonly describe?: boolean
  /**
   * Zarr over http(s): retries, backoff and the timeout of each attempt (defaults 5 retries, 0.5 s
   * doubling up to 10 s, 30 s; or SLICEWISE_HTTP_RETRIES / _BACKOFF / _TIMEOUT, in seconds).
   */
  readonly http?: HttpOptions
}

/** Options a format may take when writing; `sinkFor` refuses those its output's format does not take. */
export interface SinkOptions {
  /** The source the output is made from: a NIfTI output keeps a NIfTI source's orientation. */
  readonly like?: SliceSource
  /** Zarr: 2 (default for `.zarr`) or 3. */
  readonly zarrVersion?: 2 | 3
  /** Zarr: chunk shape (z, y, x); default 64³ clipped to the volume. */
  readonly chunks?: readonly [number, number, number]
  /** Zarr: "raw", "gzip", "zstd" (default) or "blosc". */
  readonly codec?: "raw" | "gzip" | "zstd" | "blosc"
  /**
   * TIFF (file or stack): "raw" (default, uncompressed strips), "deflate" (Adobe deflate, zlib) or
   * "lzw"; compressed strips carry the horizontal predictor for integer dtypes, the floating-point
   * predictor for float32 and float64.
   */
  readonly tiffCodec?: "raw" | "deflate" | "lzw"
  /** NRRD: "raw" (default) or "gzip" (`encoding: gzip`). */
  readonly nrrdEncoding?: "raw" | "gzip"
  /** Compression level (gzip and deflate 1…9, zstd 1…22, blosc 0…9): Zarr, NIfTI .nii.gz, NRRD gzip, TIFF deflate. */
  readonly compressionLevel?: number
  /** OME-Zarr: number of pyramid levels including the full resolution (default: down to ~64 voxels). */
  readonly levels?: number
  /** OME-Zarr: the volume is a label image (pyramid by mode, not mean). */
  readonly labels?: boolean
}
