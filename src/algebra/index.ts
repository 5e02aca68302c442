/**
 * The algebra and its core vocabulary (`slicewise/algebra`): the `Algebra` interface programs are
 * written against, dtypes and the cast rule, volume metadata, pointwise expressions (the `Expr`
 * namespace), kernels and reducers (and `KernelError`, what a kernel that throws fails a run with),
 * boundary modes, the slice source/sink interface and its typed errors. Everything here is also
 * exported by the root, `slicewise`.
 *
 * @example
 * ```ts
 * import { Expr, volumeInfo, type Program, type SliceSource } from "slicewise/algebra"
 * const brighterThan = (src: SliceSource, t: number): Program => (alg) => ({
 *   mask: alg.map(alg.source(src), (x) => Expr.gt(x, t), { dtype: "uint8" })
 * })
 * ```
 *
 * @module
 */
export type { Algebra, Outputs, PointwiseOptions, Program, Repr, Scalar, Volume, Written } from "./algebra.js"
export {
  allocShared,
  allocSlice,
  arrayClassName,
  bytesPerVoxel,
  castValue,
  dtypeOf,
  dtypeRange,
  DTYPES,
  isDType,
  isFloat,
  viewOf
} from "./dtype.js"
export type { ArrayOf, DType, TypedArrayOf, VoxelArray } from "./dtype.js"
export * as Expr from "./expr.js"
export { BOUNDARY_MODES, boundaryIndex, extensionTable, isBoundaryMode } from "./boundary.js"
export type { BoundaryMode } from "./boundary.js"
export { haloOf, haloZ, reach } from "./kernel.js"
export type {
  Accumulator,
  CheckpointableState,
  ComputeRows,
  Direction,
  Halo,
  KernelRecipe,
  Params,
  PreparedKernel,
  Reach,
  Reducer,
  SliceWindow,
  WindowKernel
} from "./kernel.js"
export { sameShape, shapeText, sliceBytes, sliceLength, volumeBytes, volumeInfo, voxelCount, withDType } from "./volume.js"
export {
  affineOf,
  convertUnit,
  DEFAULT_GEOMETRY,
  describeGeometry,
  geometryDrops,
  geometryOf,
  IDENTITY_DIRECTION,
  inSpace,
  isDefaultGeometry,
  isIdentityDirection,
  METRES_PER_UNIT,
  parseLengthUnit,
  sameGeometry,
  UNIT_NAMES,
  unitFactor,
  voxelToPhysical
} from "./geometry.js"
export type { DirectionMatrix, Geometry, GeometryHeld, LengthUnit, Space, Vec3 } from "./geometry.js"
export type { Shape, Spacing, VolumeInfo } from "./volume.js"
export type { Location, ResumableSink, ResumableWriter, RowRange, SliceReader, SliceSink, SliceSource, SliceWriter } from "./slices.js"
export { FileError, FormatError, UnsupportedError } from "./io-errors.js"
export type { FileErrorProps, FileOperation, IoError } from "./io-errors.js"
export { KernelError } from "./kernel-error.js"
