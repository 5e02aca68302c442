/**
 * Pipelines as data, shared by the command line, batches and (later) the cluster: steps as text,
 * format options, run, fuse and external (exec) jobs with their Schemas, memory sizes, and the
 * pipeline (jobs) file with its dependency graph.
 *
 * @example
 * ```ts
 * import { Run } from "slicewise"
 * import { runJobSetUp } from "slicewise/jobs"
 *
 * const { program } = yield* runJobSetUp({ kind: "run", input: "scan.nii.gz", output: "mask.nii.gz", steps: ["gaussian:sigma=1", "otsu"] })
 * yield* Run.run(program)
 * ```
 */
export { UsageError } from "./errors.js"
export { decodeJobs, Job, JOB_KINDS, jobIo, jobName, jobSetUp, JobsFileError, readJobs, resolveFrom, resolveJobPaths } from "./file.js"
export { checkGraph } from "./dag.js"
export type { GraphJob, GraphPath, GraphProblem } from "./dag.js"
export { isExternal } from "./external.js"
export type { ExternalResult, ExternalSetUp } from "./external.js"
export { ExecJob, execSetUp } from "./exec/exec-job.js"
export {
  BUILTIN_PARAMS,
  paramFiles,
  paramsDirectory,
  predictBytes,
  REGISTER_MODEL,
  RegisterJob,
  registerSetUp,
  setParameter,
  transformFile,
  WARP_MODEL,
  WarpJob,
  warpSetUp
} from "./exec/elastix.js"
export type { MemoryModel } from "./exec/elastix.js"
export { registerModelRef, transformChain, warpModelRef } from "./exec/elastix.js"
export { fitModel, fittedPeak, MARGIN, predictPeak } from "./exec/tool-model.js"
export type { FittedModel, Sample } from "./exec/tool-model.js"
export { appendSamples, lookupModel, modelKey, ModelsFile, modelsPath, ModelStoreError, readModels } from "./exec/tool-model-store.js"
export type { ModelEntry, NewSample, StoredSample } from "./exec/tool-model-store.js"
export { predictTool, recordPeak } from "./exec/learned-memory.js"
export type { ModelOptions, ToolModelRef } from "./exec/learned-memory.js"
export { calibrateTool } from "./exec/calibrate-tool.js"
export type { Calibration, CalibratedTool, CalibrateOptions, CalibrationRow } from "./exec/calibrate-tool.js"
export { distinctIds, segmentationJobs } from "./segment.js"
export type { Segmentation, SegmentAtlas } from "./segment.js"
export { ExecError, runExternal, substitute } from "./exec/run-external.js"
export { reapOrphans, recordGroup } from "./exec/orphans.js"
export type { Attempt, DeclaredOutput, ExternalCommand } from "./exec/run-external.js"
export { sinkOptions, sourceOptions } from "./formats.js"
export type { InputFormat, OutputFormat } from "./formats.js"
export { FuseAtlas, FuseJob, fuseSetUp, parseAtlas } from "./fuse-job.js"
export { pipeline } from "./pipeline.js"
export { jobBuffers, RunJob, runJobSetUp, RunMode } from "./run-job.js"
export type { JobSetUp } from "./run-job.js"
export { applyStep, describeSteps, parseStep, parseStepEither, parseSteps, STEP_NAMES, StepError, stepText } from "./steps.js"
export type { Step, StepName } from "./steps.js"
export { HEADROOM_BYTES, headroomBytes, JOB_OVERHEAD_BYTES, jobBudget, parseMemory, settledRss, splitMemory, WORKER_THREAD_BYTES } from "./memory.js"
export type { MemorySplit } from "./memory.js"
