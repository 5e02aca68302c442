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
 * Memory before they start (for admission): a linear model in the voxels they hold, fitted to peak
 * RSS measured on this machine with bench/elastix-memory.ts (docs/BATCH.md, "register and warp"):
 * register `REGISTER_MODEL`, warp `WARP_MODEL`. A job's own `memory` replaces the model.
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
import { runExternal, type Attempt } from "./run-external.js"

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

/** A linear model of peak RSS: `baseBytes + bytesPerVoxel · voxels`. */
export interface MemoryModel {
  readonly baseBytes: number
  readonly bytesPerVoxel: number
}

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

export const predictBytes = (m: MemoryModel, voxels: number): number => Math.ceil(m.baseBytes + m.bytesPerVoxel * voxels)

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

/** The job's own `memory`, or the model's prediction for `voxels`. */
const predicted = (memory: string | undefined, model: MemoryModel, voxels: number) =>
  memory === undefined ? Effect.succeed(predictBytes(model, voxels)) : parseMemory(memory, "memory")

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
export const registerSetUp = (job: RegisterJob, name: string): Effect.Effect<ExternalSetUp, IoError | UsageError> =>
  Effect.gen(function* () {
    const [fixed, moving] = [yield* voxelsOf(job.fixed), yield* voxelsOf(job.moving)]
    const files = paramFiles(job.params)
    const missing = files.find((f) => !fs.existsSync(f))
    if (missing !== undefined) {
      return yield* new UsageError({ detail: `params: no parameter file ${missing} (give affine, bspline or the path of an elastix parameter file)` })
    }
    const threads = job.threads ?? 1
    const output = job.output.replace(/\/+$/, "")
    return {
      _tag: "External",
      predictedBytes: yield* predicted(job.memory, REGISTER_MODEL, fixed.voxels + moving.voxels),
      output,
      run: runExternal({
        job: name,
        argv: ["elastix", "-f", job.fixed, "-m", job.moving, ...files.flatMap((f) => ["-p", f]), "-out", "{output0}", "-threads", String(threads)],
        inputs: [job.fixed, job.moving],
        outputs: [{ path: output, directory: true }],
        logFile: logFileOf(job, output),
        ...commonCommand({ ...job, threads }),
        collect: fixChain
      })
    }
  })

/** Sets up a warp job: reads the input's header (voxel type, memory model); runs nothing. */
export const warpSetUp = (job: WarpJob, name: string): Effect.Effect<ExternalSetUp, IoError | UsageError> =>
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
    return {
      _tag: "External",
      predictedBytes: yield* predicted(job.memory, WARP_MODEL, input.voxels + outputVoxels),
      output: job.output,
      run: runExternal({
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
      })
    }
  })
