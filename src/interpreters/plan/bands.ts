/**
 * In-plane tiling: when even one window of whole slices does not fit the memory budget, a pass
 * runs as several sub-passes over bands of rows. Each band computes rows [start, end) of its
 * outputs from rows [start − above, end + below) of its sources (the halo: the sum of the y reach
 * of every window on the way, so the rows it keeps never see the band's artificial edges).
 *
 * A banded pass is planned as "templates": the pass's stages with slices of the band's height,
 * planned like any pass, one per distinct height (first, middle and last bands differ only where
 * the halo is clipped at the volume's edges). At run time each band runs its template with readers
 * that read its rows and writers that write the rows it keeps.
 *
 * A pass can be banded only when every stage is local in-plane (no `inPlane: "global"` kernel,
 * no y-wrapping boundary), it has no reduction (a fold would see halo rows twice), and its sources
 * read and its sinks write bands of rows.
 *
 * @example
 * ```ts
 * const banded = bandPass(pass, 64)          // bands of 64 output rows
 * banded.bands?.bands.length                  // ⌈height / 64⌉
 * passReadBytes(banded)                       // the halo rows' extra reads included
 * ```
 */
import * as Effect from "effect/Effect"
import type { VolumeInfo } from "../../algebra/volume.js"
import type { WindowKernel } from "../../algebra/kernel.js"
import type { DType } from "../../algebra/dtype.js"
import type { SliceSource } from "../../algebra/slices.js"
import type { FusedTail, PointwiseNode, SourceNode, VolumeNode, WindowNode, WriteNode } from "./graph.js"
import { planPass } from "./passes.js"
import type { Band, PassPlan, PassRoot, Plan } from "./types.js"

export type { Band, BandPlan } from "./types.js"

/**
 * Rows a kernel's output row depends on, each way. Symmetric on purpose: at the volume's top edge a
 * reflecting boundary turns a reach of `before` rows upwards into rows below, which the band must hold.
 */
const yReach = (k: WindowKernel<DType, DType>): readonly [number, number] => {
  const r = Math.max(k.halo.y.before, k.halo.y.after)
  return [r, r]
}

const tailWindows = (fused: FusedTail | undefined): ReadonlyArray<WindowNode> =>
  (fused?.tail ?? []).filter((m): m is WindowNode => m.kind === "window")

/** Every kernel a stage runs: its own (windows) and its fused tail's. */
const kernelsOf = (n: VolumeNode): ReadonlyArray<WindowKernel<DType, DType>> =>
  n.kind === "source" ? [] : [...(n.kind === "window" ? [n.kernel] : []), ...tailWindows(n.fused).map((m) => m.kernel)]

/** Why `pass` cannot run in bands, or undefined when it can. */
export const whyNotBanded = (pass: PassPlan): string | undefined => {
  const reduce = pass.roots.find((r) => r.kind === "reduce")
  if (reduce !== undefined) return `it folds #${reduce.id} ${reduce.label} (a reduction sees whole slices)`
  for (const r of pass.roots) {
    if (r.kind === "write" && r.sink.writesRows !== true) return `its output ${r.sink.format} ${r.sink.path} is written in whole slices only`
  }
  const height = pass.roots[0]!.input.info.shape[1]
  for (const { node } of pass.stages) {
    if (node.info.shape[1] !== height) return `it holds volumes of different heights (#${node.id} ${node.label})`
    if (node.kind === "source" && node.source.rowReadBytes === undefined) {
      return `its input ${node.source.format} ${node.source.path} is read in whole slices only`
    }
    for (const k of kernelsOf(node)) {
      if (k.inPlane === "global") return `#${node.id} ${k.name} needs whole slices`
      if (k.mode === "wrap" && yReach(k)[0] > 0) return `#${node.id} ${k.name} wraps around in y`
    }
  }
  return undefined
}

/** Rows above and below an output row that the pass's roots depend on, through every window. */
export const bandHalo = (pass: PassPlan): readonly [number, number] => {
  const reach = new Map<VolumeNode, readonly [number, number]>()
  const add = (a: readonly [number, number], b: readonly [number, number]) => [a[0] + b[0], a[1] + b[1]] as const
  for (const { node } of pass.stages) {
    let r: readonly [number, number] = [0, 0]
    if (node.kind === "pointwise") {
      for (const i of node.inputs) {
        const ri = reach.get(i)!
        r = [Math.max(r[0], ri[0]), Math.max(r[1], ri[1])]
      }
    } else if (node.kind === "window") {
      r = reach.get(node.input)!
    }
    for (const k of kernelsOf(node)) r = add(r, yReach(k))
    reach.set(node, r)
  }
  let halo: readonly [number, number] = [0, 0]
  for (const root of pass.roots) {
    const r = reach.get(root.input)!
    halo = [Math.max(halo[0], r[0]), Math.max(halo[1], r[1])]
  }
  return halo
}

/** Bands of `rowsPerBand` output rows over `height` rows, each reading its halo (clipped). */
export const bandRows = (height: number, rowsPerBand: number, halo: readonly [number, number]): Array<Omit<Band, "template">> => {
  const bands: Array<Omit<Band, "template">> = []
  for (let start = 0; start < height; start += rowsPerBand) {
    const end = Math.min(height, start + rowsPerBand)
    bands.push({ rows: { start, end }, read: { start: Math.max(0, start - halo[0]), end: Math.min(height, end + halo[1]) } })
  }
  return bands
}

/** A source standing for rows of another in a band template (its reader is made by the run). */
const bandSource = (parent: SliceSource, info: VolumeInfo): SliceSource => ({
  format: parent.format,
  path: parent.path,
  info,
  details: parent.details,
  sliceReadBytes: () => 0,
  ...(parent.readerBufferBytes === undefined ? {} : { readerBufferBytes: parent.readerBufferBytes }),
  open: Effect.dieMessage(`internal: band template of ${parent.path} opened directly`)
})

/** The pass's stages with slices `height` rows high, planned as a pass. */
const template = (
  pass: PassPlan,
  height: number,
  sourceOf: Map<SliceSource, SliceSource>,
  writeOf: Map<WriteNode, WriteNode>
): PassPlan => {
  const banded = (info: VolumeInfo): VolumeInfo => ({ ...info, shape: [info.shape[0], height, info.shape[2]] })
  const copies = new Map<VolumeNode, VolumeNode>()
  const copyTail = (fused: FusedTail | undefined): FusedTail | undefined =>
    fused === undefined ? undefined : { ...fused, tail: fused.tail.map((m) => ({ ...m, info: banded(m.info) })) }
  for (const { node } of pass.stages) {
    let copy: VolumeNode
    if (node.kind === "source") {
      const source = bandSource(node.source, banded(node.info))
      sourceOf.set(source, node.source)
      copy = { ...node, info: source.info, source } satisfies SourceNode
    } else if (node.kind === "pointwise") {
      copy = { ...node, info: banded(node.info), inputs: node.inputs.map((i) => copies.get(i)!), fused: copyTail(node.fused) } as PointwiseNode
    } else {
      copy = { ...node, info: banded(node.info), input: copies.get(node.input)!, fused: copyTail(node.fused) } as WindowNode
    }
    copies.set(node, copy)
  }
  const roots = pass.roots.map((r): PassRoot => {
    const w: WriteNode = { ...(r as WriteNode), input: copies.get(r.input)! }
    writeOf.set(w, r as WriteNode)
    return w
  })
  return planPass(pass.index, pass.level, pass.direction, roots, pass.overlap, pass.threads, pass.writesBehind)
}

/**
 * `pass` run in bands of `rowsPerBand` output rows (the caller checked `whyNotBanded`). With
 * `rowsPerBand` ≥ the height the pass is returned as it is.
 */
export const bandPass = (pass: PassPlan, rowsPerBand: number): PassPlan => {
  const height = pass.roots[0]!.input.info.shape[1]
  if (rowsPerBand >= height) return pass
  const halo = bandHalo(pass)
  const sourceOf = new Map<SliceSource, SliceSource>()
  const writeOf = new Map<WriteNode, WriteNode>()
  const byHeight = new Map<number, number>()
  const templates: Array<PassPlan> = []
  const bands = bandRows(height, rowsPerBand, halo).map((b): Band => {
    const h = b.read.end - b.read.start
    let t = byHeight.get(h)
    if (t === undefined) {
      t = templates.length
      templates.push(template(pass, h, sourceOf, writeOf))
      byHeight.set(h, t)
    }
    return { ...b, template: t }
  })
  return {
    ...pass,
    ticks: bands.reduce((sum, b) => sum + templates[b.template]!.ticks, 0),
    bufferBytes: Math.max(...templates.map((t) => t.bufferBytes)),
    bands: { rowsPerBand, halo, bands, templates, sourceOf, writeOf }
  }
}

/** Bytes a whole read of a source takes. */
export const wholeReadBytes = (node: SourceNode): number => {
  let total = 0
  for (let z = 0; z < node.info.shape[0]; z++) total += node.source.sliceReadBytes(z)
  return total
}

/** Bytes a pass reads from its sources: whole slices, or each band's rows with its halo. */
export const passReadBytes = (pass: PassPlan): Map<SourceNode, number> => {
  const bytes = new Map<SourceNode, number>()
  for (const { node } of pass.stages) {
    if (node.kind !== "source") continue
    let total = 0
    const depth = node.info.shape[0]
    if (pass.bands === undefined) {
      total = wholeReadBytes(node)
    } else {
      const rowBytes = node.source.rowReadBytes!
      for (const band of pass.bands.bands) for (let z = 0; z < depth; z++) total += rowBytes(z, band.read)
    }
    bytes.set(node, total)
  }
  return bytes
}

/** Bytes the plan reads (sources and spills, halos included) and writes. */
export const planIo = (plan: Plan): { readonly read: number; readonly written: number } => {
  let read = 0
  let written = 0
  for (const pass of plan.passes) {
    for (const b of passReadBytes(pass).values()) read += b
    for (const r of pass.roots) if (r.kind === "write") written += r.sink.outputBytes(r.input.info)
  }
  return { read, written }
}

/**
 * The pass in the widest bands that fit `budget` bytes of buffers (binary search on the rows per
 * band; buffers grow with the band's height), or undefined when even one row per band does not.
 */
export const fitBands = (pass: PassPlan, budget: number): PassPlan | undefined => {
  if (pass.bufferBytes <= budget) return pass
  if (whyNotBanded(pass) !== undefined) return undefined
  const height = pass.roots[0]!.input.info.shape[1]
  let best = bandPass(pass, 1)
  if (best.bufferBytes > budget) return undefined
  let lo = 1
  let hi = height - 1
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    const candidate = bandPass(pass, mid)
    if (candidate.bufferBytes <= budget) {
      lo = mid
      best = candidate
    } else {
      hi = mid - 1
    }
  }
  return best
}

/** The least buffer bytes a pass can run in: one row per band if it can be banded. */
export const leastBufferBytes = (pass: PassPlan): number =>
  whyNotBanded(pass) === undefined ? Math.min(pass.bufferBytes, bandPass(pass, 1).bufferBytes) : pass.bufferBytes
