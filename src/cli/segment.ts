/**
 * `slicewise segment --target T.nii.gz… --atlas IMAGE:LABELS… --out DIR [--method majority|weighted|joint]
 * [--params affine|bspline|FILE]`: writes (does not run) DIR/pipeline.json, the pipeline of a
 * multi-atlas segmentation (src/jobs/segment.ts): register every atlas image to every target with
 * elastix, warp its labels with nearest neighbour, fuse per target. `slicewise batch` runs it.
 *
 * @example
 * ```sh
 * slicewise segment --target t1.nii.gz --target t2.nii.gz --atlas a1.nii.gz:a1-labels.nii.gz --atlas a2.nii.gz:a2-labels.nii.gz --out seg
 * slicewise batch seg/pipeline.json --memory 2GiB
 * ```
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { fileError } from "../algebra/io-errors.js"
import { UsageError } from "../jobs/errors.js"
import type { SegmentAtlas } from "../jobs/segment.js"

const parseAtlasPair = (spec: string): Effect.Effect<SegmentAtlas, UsageError> => {
  const parts = spec.split(":")
  return parts.length === 2 && parts[0] !== "" && parts[1] !== ""
    ? Effect.succeed({ image: nodePath.resolve(parts[0]!), labels: nodePath.resolve(parts[1]!) })
    : Effect.fail(new UsageError({ detail: `--atlas ${spec}: give IMAGE:LABELS (the atlas image is registered, its labels warped; paths without ':')` }))
}

export const segmentCommand = Command.make(
  "segment",
  {
    target: Options.text("target").pipe(Options.repeated, Options.withDescription("an image to segment; repeat for each target")),
    atlas: Options.text("atlas").pipe(Options.repeated, Options.withDescription("a labelled atlas, IMAGE:LABELS; repeat for each atlas")),
    out: Options.text("out").pipe(Options.withDescription("the directory of the pipeline file and of everything it writes")),
    method: Options.choice("method", ["majority", "weighted", "joint"]).pipe(
      Options.withDefault("majority" as const),
      Options.withDescription("label fusion: majority (default), weighted (needs the warped atlas images too) or joint")
    ),
    params: Options.text("params").pipe(
      Options.withDefault("affine"),
      Options.withDescription("elastix parameters: affine (default), bspline (affine then B-spline), or a parameter file")
    ),
    threads: Options.integer("threads").pipe(Options.optional, Options.withDescription("elastix threads per registration (default 1)"))
  },
  (a) =>
    Effect.gen(function* () {
      if (a.target.length === 0) return yield* new UsageError({ detail: "segment: give at least one --target" })
      if (a.atlas.length === 0) return yield* new UsageError({ detail: "segment: give at least one --atlas IMAGE:LABELS" })
      const atlases = yield* Effect.forEach(a.atlas, parseAtlasPair)
      const params = a.params === "affine" || a.params === "bspline" ? a.params : nodePath.resolve(a.params)
      const threads = a.threads._tag === "Some" ? { threads: a.threads.value } : {}
      // Loaded only when the command runs: the job modules (fusion ops, elastix) are not every command's.
      const [{ decodeJobs }, { segmentationJobs }] = yield* Effect.promise(() => Promise.all([import("../jobs/file.js"), import("../jobs/segment.js")]))
      const jobs = segmentationJobs({ targets: a.target.map((t) => nodePath.resolve(t)), atlases, method: a.method, params, ...threads })
      const dir = nodePath.resolve(a.out)
      const file = nodePath.join(dir, "pipeline.json")
      const text = `${JSON.stringify({ jobs }, null, 2)}\n`
      // The file is checked as batch will read it (inputs there, graph sound) before it is written.
      const checked = decodeJobs(file, text, fs.existsSync)
      if (Either.isLeft(checked)) return yield* checked.left
      yield* Effect.try({
        try: () => {
          // fuse jobs write into fused/ (slicewise sinks do not make directories; external jobs do).
          fs.mkdirSync(nodePath.join(dir, "fused"), { recursive: true })
          fs.writeFileSync(file, text)
        },
        catch: (e) => fileError(file, "write", e)
      })
      const count = (kind: string) => jobs.filter((j) => j.kind === kind).length
      yield* Effect.sync(() =>
        process.stdout.write(
          `${file}: ${a.target.length} target${a.target.length === 1 ? "" : "s"} × ${atlases.length} atlas${atlases.length === 1 ? "" : "es"}: ` +
            `${count("register")} register, ${count("warp")} warp, ${count("fuse")} fuse jobs; run it with slicewise batch ${file} --memory SIZE\n`
        )
      )
    })
).pipe(Command.withDescription("write the pipeline file of a multi-atlas segmentation (register, warp labels, fuse per target) for slicewise batch"))
