/**
 * A multi-atlas label fusion as data: the target, the atlases registered to it, the method and its
 * parameters, and the output; what `slicewise fuse` reads from its command line and a
 * `"kind": "fuse"` job from a jobs file.
 *
 * @example
 * ```ts
 * const { program } = yield* fuseSetUp({ kind: "fuse", target: "t.nii.gz", atlases: [{ labels: "a1.nii.gz" }], method: "majority", output: "f.nii.gz" })
 * yield* Run.run(program)
 * ```
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Program } from "../algebra/algebra.js"
import { isFloat } from "../algebra/dtype.js"
import type { IoError } from "../algebra/io-errors.js"
import type { SliceSource } from "../algebra/slices.js"
import { sameShape, shapeText } from "../algebra/volume.js"
import { openSource, sinkFor } from "../io/index.js"
import { jointFusion, majorityVote, weightedVote } from "../ops/fusion.js"
import type { IntegerDType } from "../ops/reducers.js"
import { UsageError } from "./errors.js"
import { After, jobBuffers, jobRunOptions, RunMode, type JobSetUp } from "./run-job.js"

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
  after: Schema.optional(After),
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
  buffers: Schema.optional(Schema.NonEmptyString),
  mode: Schema.optional(RunMode)
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
export const fuseSetUp = (job: FuseJob): Effect.Effect<JobSetUp, IoError | UsageError> =>
  Effect.gen(function* () {
    const bufferBytes = yield* jobBuffers(job.buffers)
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
    return { program, ...jobRunOptions(job, bufferBytes) }
  })

/** `IMAGE:LABELS`, or a bare `LABELS` (majority voting needs no image). */
export const parseAtlas = (spec: string): Effect.Effect<FuseAtlas, UsageError> => {
  const parts = spec.split(":")
  if (parts.length === 1 && parts[0] !== "") return Effect.succeed({ labels: parts[0]! })
  if (parts.length === 2 && parts[0] !== "" && parts[1] !== "") return Effect.succeed({ image: parts[0]!, labels: parts[1]! })
  return Effect.fail(new UsageError({ detail: `--atlas ${spec}: give IMAGE:LABELS, or LABELS alone for --method majority (paths without ':')` }))
}

