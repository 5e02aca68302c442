/**
 * NIfTI-1 sources and sinks: `.nii` and `.nii.gz`, slices along the third axis, header kept.
 *
 * @example
 * ```ts
 * import { openNifti, niftiSink } from "slicewise/io/nifti"
 * const src = yield* openNifti("brain.nii.gz", { scale: true })
 * const sink = niftiSink("out.nii.gz", { template: src.niftiHeader })
 * ```
 */
export { openNifti, type NiftiOptions, type NiftiSource } from "./nifti/reader.js"
export { niftiSink, type NiftiSink, type NiftiSinkOptions } from "./nifti/writer.js"
export { formatNiftiHeader, parseNiftiHeader, niftiDatatype, type NiftiHeader } from "./nifti/header.js"
