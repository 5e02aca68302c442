/**
 * The inputs of the segmentation bench: synthetic subjects made by examples/multi-atlas/make-subjects.ts
 * from Debian's mricron-data (Colin27 T1 and AAL labels), n atlases and m targets with a fixed
 * seed (and, with a pose, each subject in a random pose of its own: see make-subjects' --pose), kept in a data directory and reused when a run with the same arguments made them already;
 * and the pipeline file of each run, written by `slicewise segment`.
 *
 *   const s = await makeSubjects({ dir: "/tmp/seg/data", atlases: 3, targets: 4, seed: 1, pose: "6,6,4" })
 *   await writePipeline(s, "/tmp/seg/clean", { method: "majority", params: "affine" })
 *
 * Used by bench/segmentation/run.ts.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { promisify } from "node:util"
import { cli, ROOT } from "./processes.js"

export interface Subjects {
  readonly dir: string
  /** The make-subjects.ts command line that made them. */
  readonly command: string
  readonly atlases: ReadonlyArray<{ readonly image: string; readonly labels: string }>
  readonly targets: ReadonlyArray<{ readonly image: string; readonly truth: string }>
  /** Seconds it took to make them, or null when they were there already. */
  readonly seconds: number | null
  /** make-subjects' line per subject on its pose ("atlas-1: pose rotation … outside the field of view"), none without --pose. */
  readonly poses: ReadonlyArray<string>
}

const posesIn = (stdout: string): ReadonlyArray<string> => stdout.split("\n").filter((l) => /^\S+: pose /.test(l))

export const makeSubjects = async (o: { dir: string; atlases: number; targets: number; seed: number; pose: string }): Promise<Subjects> => {
  const args = ["--atlases", String(o.atlases), "--targets", String(o.targets), "--seed", String(o.seed), ...(o.pose === "" ? [] : ["--pose", o.pose]), "--methods", "majority", "--out", o.dir]
  const command = `npx tsx examples/multi-atlas/make-subjects.ts ${args.join(" ")}`
  const atlases = Array.from({ length: o.atlases }, (_, i) => ({ image: path.join(o.dir, `atlas-${i + 1}.nii.gz`), labels: path.join(o.dir, `atlas-${i + 1}-aal.nii.gz`) }))
  const targets = Array.from({ length: o.targets }, (_, k) => ({ image: path.join(o.dir, `target-${k + 1}.nii.gz`), truth: path.join(o.dir, `target-${k + 1}-aal.nii.gz`) }))
  // A stamp with the arguments: the same arguments find the same subjects (the generator is seeded).
  const stamp = path.join(o.dir, "made-by.txt")
  const files = [...atlases.flatMap((a) => [a.image, a.labels]), ...targets.flatMap((t) => [t.image, t.truth])]
  const log = path.join(o.dir, "made-by.log")
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === command && files.every((f) => fs.existsSync(f)) && fs.existsSync(log)) {
    console.error(`subjects: reusing ${o.dir} (${command})`)
    return { dir: o.dir, command, atlases, targets, seconds: null, poses: posesIn(fs.readFileSync(log, "utf8")) }
  }
  fs.rmSync(o.dir, { recursive: true, force: true })
  console.error(`subjects: ${command}`)
  const started = performance.now()
  const made = await promisify(execFile)(process.execPath, ["--import", "tsx", path.join(ROOT, "examples/multi-atlas/make-subjects.ts"), ...args], { cwd: ROOT })
  fs.writeFileSync(stamp, command)
  fs.writeFileSync(log, made.stdout)
  return { dir: o.dir, command, atlases, targets, seconds: (performance.now() - started) / 1000, poses: posesIn(made.stdout) }
}

export interface PipelineOptions {
  readonly method: string
  readonly params: string
}

/** `slicewise segment` of `targets` (default all) into `out` (a fresh directory): its command line. */
export const writePipeline = async (s: Subjects, out: string, o: PipelineOptions, targets = s.targets): Promise<string> => {
  fs.rmSync(out, { recursive: true, force: true })
  const args = [
    "segment",
    ...targets.flatMap((t) => ["--target", t.image]),
    ...s.atlases.flatMap((a) => ["--atlas", `${a.image}:${a.labels}`]),
    "--out",
    out,
    "--method",
    o.method,
    "--params",
    o.params
  ]
  const r = await cli(args)
  if (r.code !== 0) throw new Error(`slicewise segment exited ${r.code}: ${r.stderr.trim()}`)
  return `slicewise ${args.join(" ")}`
}
