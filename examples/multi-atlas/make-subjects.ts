/**
 * Synthetic subjects for multi-atlas segmentation, made from the Colin27 T1 brain and its AAL labels
 * (Debian's mricron-data): each subject is the template under its own smooth random deformation,
 * with its own intensity gain, bias field and noise. The atlases stand for atlases already
 * registered to the target: what differs between an atlas and the target is the residual
 * registration error (their different deformations) and the scanner. The target's true labels are
 * AAL under the target's own deformation.
 *
 *   npx tsx examples/multi-atlas/make-subjects.ts [--atlases 6] [--targets 1] [--amplitude 3] [--seed 1]
 *     [--methods majority,weighted,joint] [--out DIR]
 *
 * Writes DIR/atlas-<i>.nii.gz (T1) and DIR/atlas-<i>-aal.nii.gz (labels), DIR/target-<k>.nii.gz and
 * DIR/target-<k>-aal.nii.gz (its true labels), and DIR/jobs.json: one `fuse` job per target and
 * method of `--methods` for `slicewise batch` (absolute paths).
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Memory, openSource, sinkFor, voxelCount } from "slicewise"
import type { FuseJob } from "slicewise/jobs"

const TEMPLATES = "/usr/share/mricron/templates"

const args = process.argv.slice(2)
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : fallback
}
const atlases = Number(option("atlases", "6"))
const targets = Number(option("targets", "1"))
/** Largest displacement of one deformation component, in voxels (1 mm here). */
const amplitude = Number(option("amplitude", "3"))
const seed = Number(option("seed", "1"))
const methods = option("methods", "majority,weighted,joint").split(",") as Array<FuseJob["method"]>
for (const m of methods) {
  if (!["majority", "weighted", "joint"].includes(m)) throw new Error(`--methods: ${m} is not majority, weighted or joint`)
}
const out = path.resolve(option("out", "multi-atlas-data"))

/** mulberry32: a small seeded generator, so that every run makes the same subjects. */
const random = (s: number) => () => {
  s = (s + 0x6d2b79f5) | 0
  let t = Math.imul(s ^ (s >>> 15), 1 | s)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/**
 * A smooth field over (z, y, x): Σₖ aₖ·sin(2π fₖz z/Z + φ)·sin(2π fₖy y/Y + φ)·sin(2π fₖx x/X + φ),
 * with 1–2 cycles per axis. Separable terms, so a voxel costs a few multiplications.
 */
const smoothField = (rand: () => number, shape: readonly [number, number, number], terms: number, peak: number) => {
  const tables = Array.from({ length: terms }, () => {
    const a = (rand() * 2 - 1) * (peak / Math.sqrt(terms)) * 1.5
    return {
      a,
      axes: shape.map((n) => {
        const f = 0.5 + rand() * 1.5
        const phase = rand() * 2 * Math.PI
        return Float64Array.from({ length: n }, (_, t) => Math.sin((2 * Math.PI * f * t) / n + phase))
      })
    }
  })
  return (z: number, y: number, x: number): number => {
    let v = 0
    for (const t of tables) v += t.a * t.axes[0]![z]! * t.axes[1]![y]! * t.axes[2]![x]!
    return v
  }
}

const gaussianNoise = (rand: () => number) => () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())

/** One subject: T1 trilinear and labels nearest under its deformation, with its own scanner. */
const makeSubject = (t1: Memory.MemVolume<"uint8">, aal: Memory.MemVolume<"uint8">, rand: () => number) => {
  const [Z, Y, X] = t1.info.shape
  const dz = smoothField(rand, [Z, Y, X], 6, amplitude)
  const dy = smoothField(rand, [Z, Y, X], 6, amplitude)
  const dx = smoothField(rand, [Z, Y, X], 6, amplitude)
  const bias = smoothField(rand, [Z, Y, X], 3, 0.06)
  const gain = 0.9 + 0.2 * rand()
  const offset = -5 + 10 * rand()
  const noise = gaussianNoise(rand)
  const sigma = 2 + 2 * rand()
  const image = new Uint8Array(voxelCount(t1.info))
  const labels = new Uint8Array(voxelCount(t1.info))
  const src = t1.data
  const lab = aal.data
  const clamp = (v: number, n: number) => (v < 0 ? 0 : v > n - 1 ? n - 1 : v)
  let i = 0
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++, i++) {
        const pz = clamp(z + dz(z, y, x), Z)
        const py = clamp(y + dy(z, y, x), Y)
        const px = clamp(x + dx(z, y, x), X)
        labels[i] = lab[(Math.round(pz) * Y + Math.round(py)) * X + Math.round(px)]!
        const z0 = Math.min(Math.floor(pz), Z - 2)
        const y0 = Math.min(Math.floor(py), Y - 2)
        const x0 = Math.min(Math.floor(px), X - 2)
        const fz = pz - z0
        const fy = py - y0
        const fx = px - x0
        const at = (a: number, b: number, c: number) => src[((z0 + a) * Y + y0 + b) * X + x0 + c]!
        const v =
          (1 - fz) * ((1 - fy) * ((1 - fx) * at(0, 0, 0) + fx * at(0, 0, 1)) + fy * ((1 - fx) * at(0, 1, 0) + fx * at(0, 1, 1))) +
          fz * ((1 - fy) * ((1 - fx) * at(1, 0, 0) + fx * at(1, 0, 1)) + fy * ((1 - fx) * at(1, 1, 0) + fx * at(1, 1, 1)))
        const scanned = v * gain * (1 + bias(z, y, x)) + offset + sigma * noise()
        image[i] = scanned < 0 ? 0 : scanned > 255 ? 255 : Math.round(scanned)
      }
    }
  }
  return { image: Memory.memVolume(t1.info, image), labels: Memory.memVolume(aal.info, labels) }
}

const program = Effect.gen(function* () {
  const t1Source = yield* openSource(path.join(TEMPLATES, "ch2.nii.gz"))
  const aalSource = yield* openSource(path.join(TEMPLATES, "aal.nii.gz"))
  const t1 = (yield* Memory.loadSource(t1Source)) as Memory.MemVolume<"uint8">
  const aal = (yield* Memory.loadSource(aalSource)) as Memory.MemVolume<"uint8">
  fs.mkdirSync(out, { recursive: true })
  const rand = random(seed)
  const write = (name: string, subject: ReturnType<typeof makeSubject>) =>
    Effect.gen(function* () {
      yield* Memory.storeVolume(subject.image, yield* sinkFor(path.join(out, `${name}.nii.gz`), { like: t1Source }))
      yield* Memory.storeVolume(subject.labels, yield* sinkFor(path.join(out, `${name}-aal.nii.gz`), { like: aalSource }))
      console.log(`wrote ${name}.nii.gz and ${name}-aal.nii.gz`)
    })
  const atlasList: Array<{ image: string; labels: string }> = []
  for (let i = 1; i <= atlases; i++) {
    yield* write(`atlas-${i}`, makeSubject(t1, aal, rand))
    atlasList.push({ image: path.join(out, `atlas-${i}.nii.gz`), labels: path.join(out, `atlas-${i}-aal.nii.gz`) })
  }
  const jobs: Array<FuseJob> = []
  for (let k = 1; k <= targets; k++) {
    yield* write(`target-${k}`, makeSubject(t1, aal, rand))
    for (const method of methods) {
      jobs.push({
        kind: "fuse",
        name: `target-${k}-${method}`,
        target: path.join(out, `target-${k}.nii.gz`),
        atlases: atlasList,
        method,
        output: path.join(out, `target-${k}-${method}.nii.gz`),
        ...(method === "majority" ? {} : { radius: 2 })
      })
    }
  }
  fs.writeFileSync(path.join(out, "jobs.json"), `${JSON.stringify({ jobs }, null, 2)}\n`)
  console.log(`wrote ${path.join(out, "jobs.json")} (${jobs.length} fuse jobs)`)
})

Effect.runPromise(program).catch((e) => {
  console.error(e instanceof Error ? e.message : String(e))
  process.exitCode = 1
})
