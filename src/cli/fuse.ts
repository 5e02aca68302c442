/**
 * `slicewise fuse` and `slicewise dice`: multi-atlas label fusion of registered atlases, and the
 * Dice overlap of two label maps. `FuseJob` is also a job of `slicewise batch`.
 *
 * @example
 * ```sh
 * slicewise fuse fused.nii.gz --target t1.nii.gz --atlas a1.nii.gz:a1-labels.nii.gz --atlas … --method weighted --radius 2
 * slicewise fuse fused.nii.gz --target t1.nii.gz --atlas a1-labels.nii.gz --atlas a2-labels.nii.gz --atlas … --method majority
 * slicewise dice fused.nii.gz truth.nii.gz --json
 * ```
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { Program } from "../algebra/algebra.js"
import { isFloat } from "../algebra/dtype.js"
import { sameShape, shapeText } from "../algebra/volume.js"
import * as Run from "../interpreters/run/index.js"
import type { IoError } from "../algebra/io-errors.js"
import { openSource, sinkFor } from "../io/index.js"
import type { SliceSource } from "../algebra/slices.js"
import { dice, jointFusion, majorityVote, weightedVote, type DiceResult } from "../ops/fusion.js"
import type { IntegerDType } from "../ops/reducers.js"
import { parseSize } from "../util/units.js"
import { UsageError } from "./errors.js"
import { print, runAndReport } from "./run-program.js"

const PositiveNumber = Schema.Number.pipe(Schema.positive())
const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())

/** One registered atlas: its warped image (needed by "weighted" and "joint") and its warped labels. */
export const FuseAtlas = Schema.Struct({
  image: Schema.optional(Schema.NonEmptyString),
  labels: Schema.NonEmptyString
})
export type FuseAtlas = typeof FuseAtlas.Type

/**
 * A fusion: the target image, the atlases registered to it, the method and where to write. The
 * method parameters are those of `weightedVote` (radius, patch, weighting, beta, power, epsilon)
 * and `jointFusion` (radius, patch, alpha, exponent, epsilon); each method ignores the others'.
 * Majority voting reads only the label maps (atlas `image` may be left out) and the target's header
 * (for the grid and the output's orientation).
 *
 * @example
 * ```json
 * { "kind": "fuse", "name": "t1-weighted", "target": "t1.nii.gz", "method": "weighted", "radius": 2,
 *   "atlases": [{ "image": "a1.nii.gz", "labels": "a1-aal.nii.gz" }, …], "output": "t1-fused.nii.gz" }
 * ```
 */
export const FuseJob = Schema.Struct({
  kind: Schema.Literal("fuse"),
  name: Schema.optional(Schema.NonEmptyString),
  target: Schema.NonEmptyString,
  atlases: Schema.Array(FuseAtlas).pipe(Schema.minItems(1, { message: () => "give at least one atlas" })),
  method: Schema.Literal("majority", "weighted", "joint"),
  output: Schema.NonEmptyString,
  radius: Schema.optional(NonNegativeInt),
  patch: Schema.optional(Schema.Literal("box", "gaussian")),
  weighting: Schema.optional(Schema.Literal("gaussian", "inverse-distance")),
  beta: Schema.optional(PositiveNumber),
  power: Schema.optional(PositiveNumber),
  epsilon: Schema.optional(PositiveNumber),
  alpha: Schema.optional(Schema.Number.pipe(Schema.nonNegative())),
  exponent: Schema.optional(PositiveNumber),
  memory: Schema.optional(Schema.NonEmptyString),
  mode: Schema.optional(Schema.Literal("fused", "unfused"))
})
export type FuseJob = typeof FuseJob.Type

/** A NIfTI target with intensity scaling gives its orientation to the labels, but not its scaling. */
const unscaled = (source: SliceSource): SliceSource => {
  const nifti = source as SliceSource & { readonly niftiHeader?: { readonly sclSlope: number; readonly sclInter: number } }
  const h = nifti.niftiHeader
  if (h === undefined || ((h.sclSlope === 0 || h.sclSlope === 1) && h.sclInter === 0)) return source
  return { ...source, niftiHeader: { ...h, sclSlope: 1, sclInter: 0 } } as SliceSource
}

const sameGrid = (what: string, s: SliceSource, target: SliceSource): Effect.Effect<void, UsageError> =>
  sameShape(s.info.shape, target.info.shape)
    ? Effect.void
    : new UsageError({
        detail: `${what} ${s.path} is ${shapeText(s.info.shape)} but the target ${target.path} is ${shapeText(target.info.shape)} (z×y×x): atlases must be registered to the target's grid`
      })

/**
 * Opens the target and the atlases of a fuse job (headers only: no voxel is read, no file created),
 * checks that every volume is on the target's grid and that the label maps share one integer
 * dtype, and builds the program that writes the fused labels to `output` (oriented as the target).
 *
 * @example
 * ```ts
 * const { program } = yield* fuseSetUp({ kind: "fuse", target: "t.nii.gz", atlases, method: "majority", output: "f.nii.gz" })
 * yield* Run.run(program)
 * ```
 */
export const fuseSetUp = (
  job: FuseJob
): Effect.Effect<{ readonly program: Program; readonly output: string; readonly mode?: "fused" | "unfused"; readonly memoryBytes?: number }, IoError | UsageError> =>
  Effect.gen(function* () {
    let memoryBytes: number | undefined
    if (job.memory !== undefined) {
      memoryBytes = parseSize(job.memory)
      if (memoryBytes === undefined || memoryBytes <= 0) return yield* new UsageError({ detail: `memory ${job.memory} is not a size (try 256MiB)` })
    }
    const needsImages = job.method !== "majority"
    const target = yield* openSource(job.target)
    const labels: Array<SliceSource> = []
    const images: Array<SliceSource> = []
    for (const [i, atlas] of job.atlases.entries()) {
      const l = yield* openSource(atlas.labels)
      yield* sameGrid(`atlas ${i + 1} labels`, l, target)
      if (isFloat(l.info.dtype)) {
        return yield* new UsageError({ detail: `atlas ${i + 1} labels ${l.path} are ${l.info.dtype}: label maps must have an integer dtype` })
      }
      if (labels.length > 0 && l.info.dtype !== labels[0]!.info.dtype) {
        return yield* new UsageError({
          detail: `atlas ${i + 1} labels ${l.path} are ${l.info.dtype} but atlas 1 labels ${labels[0]!.path} are ${labels[0]!.info.dtype}: label maps must share one dtype`
        })
      }
      labels.push(l)
      if (needsImages) {
        if (atlas.image === undefined) {
          return yield* new UsageError({ detail: `atlas ${i + 1} (${atlas.labels}): method ${job.method} needs the atlas's image (IMAGE:LABELS)` })
        }
        const im = yield* openSource(atlas.image)
        yield* sameGrid(`atlas ${i + 1} image`, im, target)
        images.push(im)
      }
    }
    const sink = yield* sinkFor(job.output, { like: unscaled(target) })
    const common = {
      ...(job.radius === undefined ? {} : { radius: job.radius }),
      ...(job.patch === undefined ? {} : { patch: job.patch }),
      ...(job.epsilon === undefined ? {} : { epsilon: job.epsilon })
    }
    const program: Program = (alg) => {
      const maps = labels.map((l) => alg.source(l as SliceSource<IntegerDType>))
      const atlases = () => maps.map((m, i) => ({ image: alg.source(images[i]!), labels: m }))
      const fused =
        job.method === "majority"
          ? majorityVote(alg, maps)
          : job.method === "weighted"
            ? weightedVote(alg, alg.source(target), atlases(), {
                ...common,
                ...(job.weighting === undefined ? {} : { weighting: job.weighting }),
                ...(job.beta === undefined ? {} : { beta: job.beta }),
                ...(job.power === undefined ? {} : { power: job.power })
              })
            : jointFusion(alg, alg.source(target), atlases(), {
                ...common,
                ...(job.alpha === undefined ? {} : { alpha: job.alpha }),
                ...(job.exponent === undefined ? {} : { exponent: job.exponent })
              })
      return { fused: alg.write(fused, sink) }
    }
    return {
      program,
      output: job.output,
      ...(job.mode === undefined ? {} : { mode: job.mode }),
      ...(memoryBytes === undefined ? {} : { memoryBytes })
    }
  })

/** `IMAGE:LABELS`, or a bare `LABELS` (majority voting needs no image). */
export const parseAtlas = (spec: string): Effect.Effect<FuseAtlas, UsageError> => {
  const parts = spec.split(":")
  if (parts.length === 1 && parts[0] !== "") return Effect.succeed({ labels: parts[0]! })
  if (parts.length === 2 && parts[0] !== "" && parts[1] !== "") return Effect.succeed({ image: parts[0]!, labels: parts[1]! })
  return Effect.fail(new UsageError({ detail: `--atlas ${spec}: give IMAGE:LABELS, or LABELS alone for --method majority (paths without ':')` }))
}

const json = Options.boolean("json").pipe(Options.withDescription("print a machine-readable result"))
const optionalFloat = (name: string, description: string) => Options.float(name).pipe(Options.optional, Options.withDescription(description))

const fuseOptions = {
  output: Args.text({ name: "output" }).pipe(Args.withDescription("where to write the fused label map (format by extension, oriented as the target)")),
  target: Options.text("target").pipe(Options.withDescription("the target image the atlases are registered to")),
  atlas: Options.text("atlas").pipe(
    Options.repeated,
    Options.withDescription("a registered atlas, IMAGE:LABELS (LABELS alone for --method majority); repeat for each atlas")
  ),
  method: Options.choice("method", ["majority", "weighted", "joint"]).pipe(
    Options.withDefault("weighted" as const),
    Options.withDescription("majority: most votes; weighted: votes weighted by local patch similarity (default); joint: joint label fusion")
  ),
  radius: Options.integer("radius").pipe(Options.optional, Options.withDescription("patch radius in voxels (default 2)")),
  patch: Options.choice("patch", ["box", "gaussian"]).pipe(Options.optional, Options.withDescription("patch averaging (default box)")),
  weighting: Options.choice("weighting", ["gaussian", "inverse-distance"]).pipe(
    Options.optional,
    Options.withDescription("weighted: exp(-D/h), h = beta·min D + epsilon (gaussian, default), or (D + epsilon)^-power")
  ),
  beta: optionalFloat("beta", "weighted, gaussian weighting: h = beta · the best patch distance + epsilon (default 1)"),
  power: optionalFloat("power", "weighted, inverse-distance weighting: the power (default 2)"),
  epsilon: optionalFloat("epsilon", "keeps weights finite where a patch matches exactly (weighted 1e-6, joint 1e-12)"),
  alpha: optionalFloat("alpha", "joint: ridge, relative to the mean diagonal of M (default 0.1)"),
  exponent: optionalFloat("exponent", "joint: M is the patch mean of (|T−Ai|·|T−Aj|)^exponent (default 2)"),
  memory: Options.text("memory").pipe(Options.optional, Options.withDescription("keep the plan's buffers within SIZE (e.g. 256MiB)")),
  mode: Options.choice("mode", ["fused", "unfused"]).pipe(Options.withDefault("fused" as const), Options.withDescription("fused (default) or unfused execution")),
  threads: Options.integer("threads").pipe(Options.optional, Options.withDescription("threads that compute each slice together (default: the number of CPUs)")),
  json
}

const some = <A>(o: Option.Option<A>): A | undefined => Option.getOrUndefined(o)

/** The FuseJob a `slicewise fuse` command line describes, checked by the same schema as a jobs file. */
const jobOf = (a: {
  readonly output: string
  readonly target: string
  readonly atlas: ReadonlyArray<string>
  readonly method: "majority" | "weighted" | "joint"
  readonly radius: Option.Option<number>
  readonly patch: Option.Option<"box" | "gaussian">
  readonly weighting: Option.Option<"gaussian" | "inverse-distance">
  readonly beta: Option.Option<number>
  readonly power: Option.Option<number>
  readonly epsilon: Option.Option<number>
  readonly alpha: Option.Option<number>
  readonly exponent: Option.Option<number>
}) =>
  Effect.gen(function* () {
    if (a.atlas.length === 0) return yield* new UsageError({ detail: "give at least one --atlas IMAGE:LABELS" })
    const atlases = yield* Effect.forEach(a.atlas, parseAtlas)
    const raw = {
      kind: "fuse",
      target: a.target,
      atlases,
      method: a.method,
      output: a.output,
      radius: some(a.radius),
      patch: some(a.patch),
      weighting: some(a.weighting),
      beta: some(a.beta),
      power: some(a.power),
      epsilon: some(a.epsilon),
      alpha: some(a.alpha),
      exponent: some(a.exponent)
    }
    const defined = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined))
    return yield* Schema.decodeUnknown(FuseJob)(defined).pipe(
      Effect.mapError((e) => {
        const issue = ParseResult.ArrayFormatter.formatErrorSync(e)[0]
        return new UsageError({ detail: issue === undefined ? "fuse: invalid options" : `--${issue.path.join(".")}: ${issue.message}` })
      })
    )
  })

export const fuseCommand = Command.make("fuse", fuseOptions, (a) =>
  Effect.gen(function* () {
    const job = yield* jobOf(a)
    const { program } = yield* fuseSetUp(job)
    yield* runAndReport(program, { output: a.output, mode: a.mode, memory: a.memory, json: a.json, threads: a.threads, extra: { method: job.method, atlases: job.atlases.length } })
  })
).pipe(Command.withDescription("fuse the label maps of atlases registered to a target (majority, locally weighted or joint label fusion)"))

/** Per-label Dice as a table, then the mean. */
export const diceText = (d: DiceResult): string => {
  const rows = d.labels.map((l, k) => `${String(l).padStart(6)}  ${d.dice[k]!.toFixed(4)}  ${String(d.countA[k]).padStart(10)}  ${String(d.countB[k]).padStart(10)}`)
  return [`${"label".padStart(6)}  ${"dice".padEnd(6)}  ${"voxels a".padStart(10)}  ${"voxels b".padStart(10)}`, ...rows, `mean dice over ${d.labels.length} labels (0 excluded): ${d.mean.toFixed(4)}`].join("\n")
}

export const diceCommand = Command.make(
  "dice",
  {
    a: Args.text({ name: "a" }).pipe(Args.withDescription("a label map")),
    b: Args.text({ name: "b" }).pipe(Args.withDescription("another label map on the same grid")),
    json
  },
  (a) =>
    Effect.gen(function* () {
      const left = yield* openSource(a.a)
      const right = yield* openSource(a.b)
      if (!sameShape(left.info.shape, right.info.shape)) {
        return yield* new UsageError({ detail: `${left.path} is ${shapeText(left.info.shape)} but ${right.path} is ${shapeText(right.info.shape)} (z×y×x)` })
      }
      for (const s of [left, right]) {
        if (isFloat(s.info.dtype)) return yield* new UsageError({ detail: `${s.path} is ${s.info.dtype}: label maps must have an integer dtype` })
      }
      const program: Program = (alg) => ({
        dice: dice(alg, alg.source(left as SliceSource<IntegerDType>), alg.source(right as SliceSource<IntegerDType>))
      })
      const result = yield* Run.run(program)
      const d = result.scalars.dice as DiceResult
      if (d.outOfRange > 0) {
        return yield* new UsageError({ detail: `${d.outOfRange} voxels of ${left.path} or ${right.path} hold labels outside 0…65535` })
      }
      yield* print(
        a.json
          ? JSON.stringify({ a: left.path, b: right.path, mean: d.mean, labels: d.labels.map((l, k) => ({ label: l, dice: d.dice[k], voxelsA: d.countA[k], voxelsB: d.countB[k] })) }, null, 2)
          : diceText(d)
      )
    })
).pipe(Command.withDescription("Dice overlap per label of two label maps, and the mean over labels other than 0"))
