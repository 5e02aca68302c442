/**
 * `slicewise fuse` and `slicewise dice`: multi-atlas label fusion of registered atlases (a fuse
 * job, src/jobs/fuse-job.ts, made from the command line), and the Dice overlap of two label maps.
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
import type { SliceSource } from "../algebra/slices.js"
import { sameShape, shapeText } from "../algebra/volume.js"
import * as Run from "../interpreters/run/index.js"
import { openSource } from "../io/index.js"
import { UsageError } from "../jobs/errors.js"
import { FuseJob, fuseSetUp, parseAtlas } from "../jobs/fuse-job.js"
import { dice, type DiceResult } from "../ops/fusion.js"
import type { IntegerDType } from "../ops/reducers.js"
import { print, runAndReport } from "./run-program.js"

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
  memory: Options.text("memory").pipe(Options.optional, Options.withDescription("keep the process's peak resident memory within SIZE (e.g. 256MiB), as for run")),
  buffers: Options.text("buffers").pipe(Options.optional, Options.withDescription("keep the plan's buffers alone within SIZE")),
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
    yield* runAndReport(program, { ...a, extra: { method: job.method, atlases: job.atlases.length } })
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
