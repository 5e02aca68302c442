/**
 * Registration with elastix and resampling with transformix (Debian's elastix 5.0.1), as jobs of
 * a pipeline file. Both are specialisations of the one runner of external tools
 * (./run-external.ts): own process group, atomic outputs, log, retries, measured peak RSS.
 *
 * - `register`: `fixed`, `moving`, `params` ("affine", "bspline" — affine then B-spline, as
 *   elastix users chain them — a parameter file's path, or a list of these) and `output`, a
 *   directory that receives elastix's TransformParameters.0.txt … .N.txt (the last is the whole
 *   transform; each refers to the one before by its final path) and its log. The parameter files
 *   kept in the repository (params/elastix/) are small and tuned for speed.
 * - `warp`: `transform` (a register job's directory, meaning its last TransformParameters file, or
 *   a TransformParameters file), `input`, `output` (.nii.gz, .nii, .nrrd or .mha) and
 *   `interpolation`: "linear" (FinalBSplineInterpolationOrder 1) or "nearest" (order 0, for label
 *   maps: no new label is invented between two). transformix runs on a copy of the parameter
 *   file with the order, the output format and the input's voxel type set, so the original stays.
 *
 * Memory before they start (for admission): a job's own `memory`; else the model of its tool and
 * parameters in the store of measured peaks (./learned-memory.ts: filled by `slicewise
 * calibrate-tool` and by every finished register and warp job); else the built-in linear model in
 * the voxels they hold, fitted on this machine with bench/elastix-memory.ts (docs/BATCH.md,
 * "register and warp"): register `REGISTER_MODEL`, warp `WARP_MODEL`.
 *
 * @example
 * ```json
 * { "kind": "register", "name": "reg-a1-t1", "fixed": "t1.nii.gz", "moving": "a1.nii.gz", "params": "affine", "output": "reg/a1-t1" }
 * { "kind": "warp", "after": ["reg-a1-t1"], "transform": "reg/a1-t1", "input": "a1-labels.nii.gz",
 *   "interpolation": "nearest", "output": "warped/a1-t1-labels.nii.gz" }
 * ```
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { fileURLToPath } from "node:url"
import type { DType } from "../../algebra/dtype.js"
import type { IoError } from "../../algebra/io-errors.js"
import { voxelCount } from "../../algebra/volume.js"
import { openSource } from "../../io/index.js"
import { UsageError } from "../errors.js"
import type { ExternalSetUp } from "../external.js"
import { parseMemory } from "../memory.js"
import { commonCommand, externalFields, logFileOf } from "./exec-job.js"
import { predictTool, recordPeak, toolModelRef, type ModelOptions, type ToolModelRef } from "./learned-memory.js"
import { runExternal, type Attempt } from "./run-external.js"
import { modelKey } from "./tool-model-store.js"
import type { MemoryModel } from "./tool-model.js"
export { predictBytes, type MemoryModel } from "./tool-model.js"

/** Parameter sets kept in the repository, by name: the files elastix gets, in order. */
export const BUILTIN_PARAMS: Readonly<Record<string, ReadonlyArray<string>>> = {
  affine: ["affine.txt"],
  bspline: ["affine.txt", "bspline.txt"]
}

export const RegisterJob = Schema.Struct({
  kind: Schema.Literal("register"),
  fixed: Schema.NonEmptyString,
  moving: Schema.NonEmptyString,
  params: Schema.Union(Schema.NonEmptyString, Schema.NonEmptyArray(Schema.NonEmptyString)),
  /** A directory: the transform files and elastix's log. */
  output: Schema.NonEmptyString,
  ...externalFields
})
export type RegisterJob = typeof RegisterJob.Type

export const WarpJob = Schema.Struct({
  kind: Schema.Literal("warp"),
  transform: Schema.NonEmptyString,
  input: Schema.NonEmptyString,
  output: Schema.NonEmptyString,
  interpolation: Schema.Literal("linear", "nearest"),
  ...externalFields
})
export type WarpJob = typeof WarpJob.Type

const MiB = 2 ** 20

/**
 * elastix, 1 thread, the repository's affine.txt, voxels = fixed + moving: the least-squares line
 * through 32³, 64³, 128³ and 160³ phantoms (58.9 MiB + 17.5 B/voxel; bench/elastix-memory.ts,
 * docs/BATCH.md), with a quarter added for what the fit does not see (B-spline grids, threads,
 * other images). Other parameter files (full sampling, more levels) can need much more: give
 * the job its own `memory`.
 */
export const REGISTER_MODEL: MemoryModel = { baseBytes: 1.25 * 59 * MiB, bytesPerVoxel: 1.25 * 17.5 }

/** transformix, voxels = input + output grid: 49.2 MiB + 8.8 B/voxel measured the same way, with a quarter added. */
export const WARP_MODEL: MemoryModel = { baseBytes: 1.25 * 49 * MiB, bytesPerVoxel: 1.25 * 8.8 }

/** The directory of the repository's parameter files: found upward from this module (src/, dist/ or the bundle). */
export const paramsDirectory = (): string => {
  let dir = nodePath.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = nodePath.join(dir, "params", "elastix")
    if (fs.existsSync(nodePath.join(candidate, "affine.txt"))) return candidate
    const up = nodePath.dirname(dir)
    if (up === dir) return nodePath.join(nodePath.dirname(fileURLToPath(import.meta.url)), "params", "elastix")
    dir = up
  }
}

/** `params` as a list of names or paths. */
export const paramsList = (params: RegisterJob["params"]): ReadonlyArray<string> => (typeof params === "string" ? [params] : params)

/** The parameter files of `params`: built-in names expanded, paths as given. */
export const paramFiles = (params: RegisterJob["params"]): ReadonlyArray<string> =>
  paramsList(params).flatMap((p) => (BUILTIN_PARAMS[p] ?? [p]).map((f) => (BUILTIN_PARAMS[p] === undefined ? f : nodePath.join(paramsDirectory(), f))))

/** The last TransformParameters.N.txt of a register job's directory, or the file itself. */
export const transformFile = (transform: string): string => {
  if (!fs.existsSync(transform) || !fs.statSync(transform).isDirectory()) return transform
  const numbered = fs
    .readdirSync(transform)
    .map((f) => /^TransformParameters\.(\d+)\.txt$/.exec(f))
    .filter((m) => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
  const last = numbered[numbered.length - 1]
  return nodePath.join(transform, last === undefined ? "TransformParameters.0.txt" : last[0])
}

/** Sets an elastix parameter `(Name value…)` in a parameter file's text, adding it if absent. */
export const setParameter = (text: string, name: string, value: string): string => {
  const line = `(${name} ${value})`
  const re = new RegExp(`^\\(${name}\\s[^)]*\\)`, "m")
  return re.test(text) ? text.replace(re, line) : `${text.trimEnd()}\n${line}\n`
}

/** ITK's name of a voxel type, as ResultImagePixelType takes it. */
const ITK_PIXEL: Record<DType, string> = {
  uint8: "unsigned char",
  int8: "char",
  uint16: "unsigned short",
  int16: "short",
  uint32: "unsigned int",
  int32: "int",
  float32: "float",
  float64: "double"
}

/** transformix's ResultImageFormat for an output path, or undefined if it writes no such file. */
export const resultFormat = (output: string): string | undefined => {
  const m = /\.(nii\.gz|nii|nrrd|mha)$/i.exec(output)
  return m === null ? undefined : m[1]!.toLowerCase()
}

const voxelsOf = (path: string): Effect.Effect<{ readonly voxels: number; readonly dtype: DType }, IoError> =>
  Effect.map(openSource(path), (s) => ({ voxels: voxelCount(s.info), dtype: s.info.dtype }))

/** The job's own `memory`, or the stored (else built-in) model's prediction for `voxels` on `threads`. */
const predicted = (memory: string | undefined, ref: ToolModelRef, voxels: number, threads: number) =>
  memory === undefined ? Effect.map(predictTool(ref, voxels, threads), (p) => p.bytes) : parseMemory(memory, "memory")

/** elastix's model in the store: keyed by its parameter files' contents, named by their file names. */
export const registerModelRef = (files: ReadonlyArray<string>, options: ModelOptions = {}): Effect.Effect<ToolModelRef, UsageError> =>
  Effect.try({
    try: () =>
      toolModelRef(
        { key: modelKey("elastix", files.map((f) => fs.readFileSync(f, "utf8"))), tool: "elastix", params: files.map((f) => nodePath.basename(f)).join("+") },
        REGISTER_MODEL,
        options
      ),
    catch: (e) => new UsageError({ detail: `params: ${e instanceof Error ? e.message : String(e)}` })
  })

/**
 * The kinds of transform of a transform file and the files it chains to, first applied first
 * ("AffineTransform>BSplineTransform"): what transformix's memory depends on. Not its contents,
 * which differ with every registration.
 */
export const transformChain = (file: string, text: string): string => {
  const kinds: Array<string> = []
  let current: string | undefined = text
  // Bounded: a chain that names itself would otherwise loop.
  for (let depth = 0; current !== undefined && depth < 32; depth++) {
    kinds.unshift(/^\(Transform "([^"]+)"\)/m.exec(current)?.[1] ?? "?")
    const next: string | undefined = /^\(InitialTransformParametersFileName "([^"]+)"\)/m.exec(current)?.[1]
    const path: string | undefined = next === undefined || next === "NoInitialTransform" ? undefined : nodePath.resolve(nodePath.dirname(file), next)
    current = path !== undefined && fs.existsSync(path) ? fs.readFileSync(path, "utf8") : undefined
  }
  return kinds.join(">")
}

/** transformix's model in the store: keyed by the kinds of transform it applies. */
export const warpModelRef = (chain: string, options: ModelOptions = {}): ToolModelRef =>
  toolModelRef({ key: modelKey("transformix", [chain]), tool: "transformix", params: chain }, WARP_MODEL, options)

/** Rewrites the temporary directory's path to the final one in every transform file (they chain by path). */
const fixChain = (a: Attempt) =>
  Effect.try({
    try: () => {
      const [temp, final] = [a.temps[0]!, a.finals[0]!]
      const files = fs.readdirSync(temp).filter((f) => /^TransformParameters\.\d+\.txt$/.test(f))
      if (files.length === 0) throw new Error(`elastix wrote no TransformParameters file into ${final}`)
      for (const f of files) {
        const p = nodePath.join(temp, f)
        fs.writeFileSync(p, fs.readFileSync(p, "utf8").split(temp).join(final))
      }
    },
    catch: (e) => (e instanceof Error ? e : new Error(String(e)))
  })

/**
 * Sets up a register job: reads the images' headers for the memory model and checks the parameter
 * files; runs nothing.
 */
export const registerSetUp = (job: RegisterJob, name: string, options: ModelOptions = {}): Effect.Effect<ExternalSetUp, IoError | UsageError> =>
  Effect.gen(function* () {
    const [fixed, moving] = [yield* voxelsOf(job.fixed), yield* voxelsOf(job.moving)]
    const files = paramFiles(job.params)
    const missing = files.find((f) => !fs.existsSync(f))
    if (missing !== undefined) {
      return yield* new UsageError({ detail: `params: no parameter file ${missing} (give affine, bspline or the path of an elastix parameter file)` })
    }
    const threads = job.threads ?? 1
    const output = job.output.replace(/\/+$/, "")
    const [ref, voxels] = [yield* registerModelRef(files, options), fixed.voxels + moving.voxels]
    return {
      _tag: "External",
      predictedBytes: yield* predicted(job.memory, ref, voxels, threads),
      output,
      run: recordPeak(ref, voxels, threads, options.source ?? "job", runExternal({
        job: name,
        argv: ["elastix", "-f", job.fixed, "-m", job.moving, ...files.flatMap((f) => ["-p", f]), "-out", "{output0}", "-threads", String(threads)],
        inputs: [job.fixed, job.moving],
        outputs: [{ path: output, directory: true }],
        logFile: logFileOf(job, output),
        ...commonCommand({ ...job, threads }),
        collect: fixChain
      }))
    }
  })

/** Sets up a warp job: reads the input's header (voxel type, memory model); runs nothing. */
export const warpSetUp = (job: WarpJob, name: string, options: ModelOptions = {}): Effect.Effect<ExternalSetUp, IoError | UsageError> =>
  Effect.gen(function* () {
    const format = resultFormat(job.output)
    if (format === undefined) return yield* new UsageError({ detail: `output ${job.output}: transformix writes .nii.gz, .nii, .nrrd or .mha` })
    const input = yield* voxelsOf(job.input)
    const tp = transformFile(job.transform)
    const text = yield* Effect.try({
      try: () => fs.readFileSync(tp, "utf8"),
      catch: () => new UsageError({ detail: `transform ${job.transform}: no TransformParameters file at ${tp}` })
    })
    const size = /^\(Size ([\d ]+)\)/m.exec(text)?.[1]?.split(" ").map(Number)
    const outputVoxels = size === undefined ? input.voxels : size.reduce((a, b) => a * b, 1)
    let parameters = setParameter(text, "FinalBSplineInterpolationOrder", job.interpolation === "nearest" ? "0" : "1")
    parameters = setParameter(parameters, "ResultImageFormat", `"${format}"`)
    parameters = setParameter(parameters, "ResultImagePixelType", `"${ITK_PIXEL[input.dtype]}"`)
    const threads = job.threads ?? 1
    const [ref, voxels] = [warpModelRef(transformChain(tp, text), options), input.voxels + outputVoxels]
    return {
      _tag: "External",
      predictedBytes: yield* predicted(job.memory, ref, voxels, threads),
      output: job.output,
      run: recordPeak(ref, voxels, threads, options.source ?? "job", runExternal({
        job: name,
        argv: ["transformix", "-in", job.input, "-out", "{work}", "-tp", "{work}/TransformParameters.txt", "-threads", String(threads)],
        inputs: [job.input, tp],
        outputs: [{ path: job.output }],
        logFile: logFileOf(job, job.output),
        ...commonCommand({ ...job, threads }),
        prepare: (a) => Effect.sync(() => fs.writeFileSync(nodePath.join(a.work, "TransformParameters.txt"), parameters)),
        collect: (a) =>
          Effect.try({
            try: () => fs.renameSync(nodePath.join(a.work, `result.${format}`), a.temps[0]!),
            catch: () => new Error(`transformix wrote no result.${format}`)
          })
      }))
    }
  })
