/**
 * Synthetic subjects for multi-atlas segmentation, made from the Colin27 T1 brain and its AAL labels
 * (Debian's mricron-data): each subject is the template under its own smooth random deformation,
 * with its own intensity gain, bias field and noise. The atlases stand for atlases already
 * registered to the target: what differs between an atlas and the target is the residual
 * registration error (their different deformations) and the scanner. The target's true labels are
 * AAL under the target's own deformation.
 *
 * With `--pose DEG,MM[,PCT]` every subject (atlases and targets) is also placed in a random pose of
 * its own: rotated by up to DEG degrees about each axis, shifted by up to MM mm along each, scaled by
 * up to ±PCT % per axis (default 0), in the same resampling as its deformation and on the same grid
 * (what the pose moves out of the field of view is cut off). The atlases then stand for atlases not
 * yet registered to the target (`slicewise segment` registers them). Without it, every output byte is
 * what it was before the option existed.
 *
 *   npx tsx examples/multi-atlas/make-subjects.ts [--atlases 6] [--targets 1] [--amplitude 3] [--seed 1]
 *     [--pose DEG,MM[,PCT]] [--methods majority,weighted,joint] [--out DIR]
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
 * with 1–2 cycles per axis. Separable terms, kept as tables: per row (z, y) `rowOf` multiplies
 * aₖ·zₖ[z]·yₖ[y] into `row`, and a voxel x costs one multiply-add per term (`fieldAt`).
 */
interface SmoothField {
  readonly terms: number
  readonly a: Float64Array
  /** zₖ[z] at k·Z + z, yₖ[y] at k·Y + y, xₖ[x] at k·X + x. */
  readonly z: Float64Array
  readonly y: Float64Array
  readonly x: Float64Array
  /** aₖ·zₖ[z]·yₖ[y] of the current row. */
  readonly row: Float64Array
}

const smoothField = (rand: () => number, shape: readonly [number, number, number], terms: number, peak: number): SmoothField => {
  const [Z, Y, X] = shape
  const field: SmoothField = { terms, a: new Float64Array(terms), z: new Float64Array(terms * Z), y: new Float64Array(terms * Y), x: new Float64Array(terms * X), row: new Float64Array(terms) }
  for (let k = 0; k < terms; k++) {
    field.a[k] = (rand() * 2 - 1) * (peak / Math.sqrt(terms)) * 1.5
    for (const [axis, n] of [[field.z, Z], [field.y, Y], [field.x, X]] as const) {
      const f = 0.5 + rand() * 1.5
      const phase = rand() * 2 * Math.PI
      for (let t = 0; t < n; t++) axis[k * n + t] = Math.sin((2 * Math.PI * f * t) / n + phase)
    }
  }
  return field
}

const rowOf = (f: SmoothField, z: number, y: number, Z: number, Y: number): void => {
  for (let k = 0; k < f.terms; k++) f.row[k] = f.a[k]! * f.z[k * Z + z]! * f.y[k * Y + y]!
}

const fieldAt = (f: SmoothField, x: number, X: number): number => {
  let v = 0
  for (let k = 0; k < f.terms; k++) v += f.row[k]! * f.x[k * X + x]!
  return v
}

/**
 * `--pose DEG,MM[,PCT]`: a random affine pose per subject, drawn after its deformation and scanner
 * (so that without it the random sequence, and every output byte, is what it was). A voxel q of the
 * subject samples the template at c + M·(q + d(q) − c) + t: c the volume's centre, d the smooth
 * deformation, M = R·S with R rotations about z, y and x of up to DEG degrees each and S a scale of
 * up to ±PCT % per axis, t a translation of up to MM mm per axis (voxels are 1 mm).
 */
interface Pose {
  readonly degrees: readonly [number, number, number]
  readonly translation: readonly [number, number, number]
  readonly scale: readonly [number, number, number]
  /** M row by row, in (z, y, x) order. */
  readonly m: Float64Array
}

const parsePose = (text: string): { deg: number; mm: number; pct: number } | null => {
  if (text === "") return null
  const parts = text.split(",").map(Number)
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !Number.isFinite(p) || p < 0))
    throw new Error(`--pose ${text}: give DEG,MM or DEG,MM,PCT (non-negative numbers), e.g. 6,6 or 6,6,4`)
  return { deg: parts[0]!, mm: parts[1]!, pct: parts[2] ?? 0 }
}
const poseLimits = parsePose(option("pose", ""))

const drawPose = (rand: () => number, limits: { deg: number; mm: number; pct: number }): Pose => {
  const uniform = (h: number) => (rand() * 2 - 1) * h
  const degrees = [uniform(limits.deg), uniform(limits.deg), uniform(limits.deg)] as const
  const translation = [uniform(limits.mm), uniform(limits.mm), uniform(limits.mm)] as const
  const scale = [1 + uniform(limits.pct / 100), 1 + uniform(limits.pct / 100), 1 + uniform(limits.pct / 100)] as const
  // Rotations about the z, y and x axes (angles in that order), as 3×3 matrices over (z, y, x).
  const [a, b, g] = degrees.map((d) => (d * Math.PI) / 180) as [number, number, number]
  const rz = [1, 0, 0, 0, Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a)]
  const ry = [Math.cos(b), 0, Math.sin(b), 0, 1, 0, -Math.sin(b), 0, Math.cos(b)]
  const rx = [Math.cos(g), -Math.sin(g), 0, Math.sin(g), Math.cos(g), 0, 0, 0, 1]
  const mul = (p: ReadonlyArray<number>, q: ReadonlyArray<number>) =>
    Array.from({ length: 9 }, (_, i) => p[3 * Math.floor(i / 3)]! * q[i % 3]! + p[3 * Math.floor(i / 3) + 1]! * q[3 + (i % 3)]! + p[3 * Math.floor(i / 3) + 2]! * q[6 + (i % 3)]!)
  const r = mul(mul(rz, ry), rx)
  const m = Float64Array.from(r, (v, i) => v * scale[i % 3]!)
  return { degrees, translation, scale, m }
}

/**
 * How many of the template's labelled voxels the pose alone puts outside the field of view: each
 * is mapped to the subject by the pose's inverse (the deformation, up to a few mm, left out).
 */
const labelsOutside = (aal: Memory.MemVolume<"uint8">, pose: Pose): { outside: number; labelled: number } => {
  const [Z, Y, X] = aal.info.shape
  const [cz, cy, cx] = [(Z - 1) / 2, (Y - 1) / 2, (X - 1) / 2]
  const m = pose.m
  const det = m[0]! * (m[4]! * m[8]! - m[5]! * m[7]!) - m[1]! * (m[3]! * m[8]! - m[5]! * m[6]!) + m[2]! * (m[3]! * m[7]! - m[4]! * m[6]!)
  const inv = [
    m[4]! * m[8]! - m[5]! * m[7]!, m[2]! * m[7]! - m[1]! * m[8]!, m[1]! * m[5]! - m[2]! * m[4]!,
    m[5]! * m[6]! - m[3]! * m[8]!, m[0]! * m[8]! - m[2]! * m[6]!, m[2]! * m[3]! - m[0]! * m[5]!,
    m[3]! * m[7]! - m[4]! * m[6]!, m[1]! * m[6]! - m[0]! * m[7]!, m[0]! * m[4]! - m[1]! * m[3]!
  ].map((v) => v / det)
  const [tz, ty, tx] = pose.translation
  let outside = 0
  let labelled = 0
  let i = 0
  for (let z = 0; z < Z; z++)
    for (let y = 0; y < Y; y++)
      for (let x = 0; x < X; x++, i++) {
        if (aal.data[i] === 0) continue
        labelled++
        const uz = z - cz - tz
        const uy = y - cy - ty
        const ux = x - cx - tx
        const qz = cz + inv[0]! * uz + inv[1]! * uy + inv[2]! * ux
        const qy = cy + inv[3]! * uz + inv[4]! * uy + inv[5]! * ux
        const qx = cx + inv[6]! * uz + inv[7]! * uy + inv[8]! * ux
        if (qz < -0.5 || qz > Z - 0.5 || qy < -0.5 || qy > Y - 0.5 || qx < -0.5 || qx > X - 0.5) outside++
      }
  return { outside, labelled }
}

/**
 * One subject: T1 trilinear and labels nearest under its deformation (and pose, with `--pose`),
 * with its own scanner. Without a pose a sample outside the template is taken at its edge (as it
 * always was); with one, outside the template is background (0), as outside a scanner's field of view.
 */
const makeSubject = (t1: Memory.MemVolume<"uint8">, aal: Memory.MemVolume<"uint8">, rand: () => number, label: string) => {
  const [Z, Y, X] = t1.info.shape
  const dz = smoothField(rand, [Z, Y, X], 6, amplitude)
  const dy = smoothField(rand, [Z, Y, X], 6, amplitude)
  const dx = smoothField(rand, [Z, Y, X], 6, amplitude)
  const bias = smoothField(rand, [Z, Y, X], 3, 0.06)
  const gain = 0.9 + 0.2 * rand()
  const offset = -5 + 10 * rand()
  const sigma = 2 + 2 * rand()
  const pose = poseLimits === null ? null : drawPose(rand, poseLimits)
  if (pose !== null) {
    const { outside, labelled } = labelsOutside(aal, pose)
    const f = (xs: ReadonlyArray<number>, d: number) => xs.map((v) => v.toFixed(d)).join(", ")
    console.log(
      `${label}: pose rotation (z, y, x) ${f(pose.degrees, 2)}°, translation ${f(pose.translation, 2)} mm, scale ${f(pose.scale, 4)}; ` +
        `${outside} of the template's ${labelled} labelled voxels (${((100 * outside) / labelled).toFixed(2)} %) outside the field of view (pose alone)`
    )
  }
  const m = pose?.m ?? new Float64Array(9)
  const [tz, ty, tx] = pose?.translation ?? [0, 0, 0]
  const [cz, cy, cx] = [(Z - 1) / 2, (Y - 1) / 2, (X - 1) / 2]
  const image = new Uint8Array(voxelCount(t1.info))
  const labels = new Uint8Array(voxelCount(t1.info))
  const src = t1.data
  const lab = aal.data
  const plane = Y * X
  let i = 0
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      rowOf(dz, z, y, Z, Y)
      rowOf(dy, z, y, Z, Y)
      rowOf(dx, z, y, Z, Y)
      rowOf(bias, z, y, Z, Y)
      for (let x = 0; x < X; x++, i++) {
        let pz = z + fieldAt(dz, x, X)
        let py = y + fieldAt(dy, x, X)
        let px = x + fieldAt(dx, x, X)
        let v = 0
        if (pose === null) {
          // The edge of the template stands for what lies beyond it.
          pz = pz < 0 ? 0 : pz > Z - 1 ? Z - 1 : pz
          py = py < 0 ? 0 : py > Y - 1 ? Y - 1 : py
          px = px < 0 ? 0 : px > X - 1 ? X - 1 : px
        } else {
          const uz = pz - cz
          const uy = py - cy
          const ux = px - cx
          pz = cz + tz + m[0]! * uz + m[1]! * uy + m[2]! * ux
          py = cy + ty + m[3]! * uz + m[4]! * uy + m[5]! * ux
          px = cx + tx + m[6]! * uz + m[7]! * uy + m[8]! * ux
        }
        if (pz < 0 || pz > Z - 1 || py < 0 || py > Y - 1 || px < 0 || px > X - 1) labels[i] = 0
        else {
          labels[i] = lab[(Math.round(pz) * Y + Math.round(py)) * X + Math.round(px)]!
          const z0 = Math.min(Math.floor(pz), Z - 2)
          const y0 = Math.min(Math.floor(py), Y - 2)
          const x0 = Math.min(Math.floor(px), X - 2)
          const fz = pz - z0
          const fy = py - y0
          const fx = px - x0
          const j = (z0 * Y + y0) * X + x0
          v =
            (1 - fz) * ((1 - fy) * ((1 - fx) * src[j]! + fx * src[j + 1]!) + fy * ((1 - fx) * src[j + X]! + fx * src[j + X + 1]!)) +
            fz * ((1 - fy) * ((1 - fx) * src[j + plane]! + fx * src[j + plane + 1]!) + fy * ((1 - fx) * src[j + plane + X]! + fx * src[j + plane + X + 1]!))
        }
        // Gaussian noise (Box–Muller), drawn for every voxel in the order it always was.
        const noise = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
        const scanned = v * gain * (1 + fieldAt(bias, x, X)) + offset + sigma * noise
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
    yield* write(`atlas-${i}`, makeSubject(t1, aal, rand, `atlas-${i}`))
    atlasList.push({ image: path.join(out, `atlas-${i}.nii.gz`), labels: path.join(out, `atlas-${i}-aal.nii.gz`) })
  }
  const jobs: Array<FuseJob> = []
  for (let k = 1; k <= targets; k++) {
    yield* write(`target-${k}`, makeSubject(t1, aal, rand, `target-${k}`))
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
