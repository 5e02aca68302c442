/**
 * A plan as an indented text tree (what `slicewise plan` prints) and as plain JSON.
 *
 * Each pass is printed from its outputs down to its sources; a stage used by several consumers is
 * printed once and referred to by its number afterwards.
 *
 * @example
 * ```ts
 * console.log(planText(plan))
 * JSON.stringify(planJson(plan), null, 2)
 * ```
 */
import * as E from "../../algebra/expr.js"
import { shapeText } from "../../algebra/volume.js"
import { formatBytes } from "../../util/units.js"
import type { Graph, Node, VolumeNode } from "./graph.js"
import type { PassPlan, PassRoot, Plan, StagePlan } from "./passes.js"

const paramsText = (params: Readonly<Record<string, unknown>>): string =>
  Object.entries(params)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : String(v)}`)
    .join(" ")

/** What one stage does (without its fused tail). */
const ownWork = (n: VolumeNode): string => {
  switch (n.kind) {
    case "source":
      return `source ${n.source.format} ${n.source.path}`
    case "pointwise":
      return `${n.label.split("→")[0]} ${E.show(n.expr, n.inputs.map((i) => `#${i.id}`))}`
    case "window": {
      const p = paramsText(n.kernel.params)
      const sweep = n.direction === undefined ? "" : ` (sweep ${n.direction})`
      return `${n.kernel.name}${p ? ` ${p}` : ""}${sweep}`
    }
  }
}

/** What a stage does, with the slice-local stages fused after it. */
const what = (n: VolumeNode): string => {
  if (n.kind === "source" || n.fused === undefined) return ownWork(n)
  const tail = n.fused.tail.map((m) => (m.kind === "window" ? m.kernel.name : `${m.label} ${E.show(m.expr, ["·"])}`))
  return `${ownWork(n)} → ${tail.join(" → ")}  (fused chain)`
}

const stageLine = (sp: StagePlan): string => {
  const n = sp.node
  const parts = [`#${n.id} ${what(n)}`, `${n.info.dtype} ${shapeText(n.info.shape)}`]
  if (n.kind === "window") {
    const h = n.kernel.halo
    parts.push(`halo z-${h.z.before}/+${h.z.after} y±${Math.max(h.y.before, h.y.after)} x±${Math.max(h.x.before, h.x.after)}`)
  }
  if (sp.haloZ[0] + sp.haloZ[1] > 0) parts.push(`reach z-${sp.haloZ[0]}/+${sp.haloZ[1]}`)
  parts.push(`latency ${sp.latency}`)
  parts.push(`ring ${sp.ringSlices} slice${sp.ringSlices === 1 ? "" : "s"} (${formatBytes(sp.ringBytes)})`)
  if (sp.scratchBytes > 0) parts.push(`scratch ${formatBytes(sp.scratchBytes)}`)
  const delays = sp.delays.map((d, i) => ({ d, i })).filter(({ d }) => d > 0)
  if (delays.length > 0) parts.push(`delay line ${delays.map(({ d, i }) => `input ${i}: ${d}`).join(", ")}`)
  return parts.join("  ")
}

const rootLine = (pass: PassPlan, r: PassRoot): string =>
  r.kind === "write"
    ? `write ${r.sink.format} ${r.sink.path}  latency ${pass.rootLatency.get(r)}`
    : `reduce ${r.label}${Object.keys(r.reducer.params).length ? ` ${paramsText(r.reducer.params)}` : ""}`

/**
 * A pointwise stage read only by one window: its output ring is the window's input ring, so it
 * runs once per slice as the slice enters the window, not once per window position.
 */
const preMapOf = (pass: PassPlan): Map<Node, VolumeNode> => {
  const readers = new Map<Node, Array<Node>>()
  const add = (input: Node, reader: Node) => readers.set(input, [...(readers.get(input) ?? []), reader])
  for (const { node } of pass.stages) {
    if (node.kind === "pointwise") for (const i of node.inputs) add(i, node)
    else if (node.kind === "window") add(node.input, node)
  }
  for (const r of pass.roots) add(r.input, r)
  const out = new Map<Node, VolumeNode>()
  for (const [n, rs] of readers) if (n.kind === "pointwise" && rs.length === 1 && rs[0]!.kind === "window") out.set(n, rs[0] as VolumeNode)
  return out
}

/** What a pass holds at its largest: itself, or its largest band's template. */
const largest = (pass: PassPlan): PassPlan =>
  pass.bands === undefined ? pass : pass.bands.templates.reduce((a, b) => (b.bufferBytes > a.bufferBytes ? b : a))

const bandsText = (pass: PassPlan): string => {
  if (pass.bands === undefined) return ""
  const { bands, rowsPerBand, halo } = pass.bands
  return `  ${bands.length} bands of ${rowsPerBand} rows (+${halo[0]}/${halo[1]} halo rows read above/below; stages shown for the largest)`
}

/** One pass as a tree (a banded pass: its largest band). */
export const passText = (whole: PassPlan, passes: number): string => {
  const pass = largest(whole)
  const byNode = new Map<Node, StagePlan>(pass.stages.map((s) => [s.node, s]))
  const preMaps = preMapOf(pass)
  const printed = new Set<Node>()
  const lines = [
    `pass ${pass.index + 1}/${passes}  ${pass.direction}  ${whole.ticks} ticks  buffers ${formatBytes(whole.bufferBytes)}${bandsText(whole)}` +
      (whole.threads.threads > 1 ? `  ${whole.threads.threads} threads` : "")
  ]
  const visit = (n: VolumeNode, indent: string): void => {
    if (printed.has(n)) {
      lines.push(`${indent}#${n.id} (shared, above)`)
      return
    }
    printed.add(n)
    const window = preMaps.get(n)
    lines.push(`${indent}${stageLine(byNode.get(n)!)}${window ? `  (pre-map of #${window.id}: once per slice, into its ring)` : ""}`)
    const inputs = n.kind === "pointwise" ? n.inputs : n.kind === "window" ? [n.input] : []
    for (const i of inputs) visit(i, `${indent}  `)
    if (n.kind === "pointwise") for (const s of n.scalars) lines.push(`${indent}  $${s.label} (scalar #${s.id}, from an earlier pass)`)
  }
  for (const r of pass.roots) {
    lines.push(`  ${rootLine(pass, r)}`)
    visit(r.input, "    ")
  }
  return lines.join("\n")
}

/** The whole plan as text. */
export const planText = (plan: Plan): string =>
  [
    `plan: ${plan.passes.length} pass${plan.passes.length === 1 ? "" : "es"}, peak buffers ${formatBytes(plan.peakBufferBytes)}`,
    ...plan.passes.map((p) => passText(p, plan.passes.length)),
    ...geometryNotes(plan.graph)
  ].join("\n")

/**
 * One line per output that cannot hold all of its volume's physical metadata, saying what it
 * drops (`SliceSink.drops`): what `plan` prints and `run` reports, so that nothing is lost silently.
 *
 * @example
 * ```ts
 * geometryNotes(plan.graph)   // ["note: out.ome.zarr (ome-zarr) does not hold the direction (not axis-aligned); it is not written"]
 * ```
 */
export const geometryNotes = (graph: Graph): ReadonlyArray<string> =>
  graph.nodes.flatMap((n) => {
    if (n.kind !== "write") return []
    const drops = n.sink.drops?.(n.input.info) ?? []
    return drops.length === 0 ? [] : [`note: ${n.sink.path} (${n.sink.format}) does not hold ${listText(drops)}; ${drops.length === 1 ? "it is" : "they are"} not written`]
  })

const listText = (items: ReadonlyArray<string>): string =>
  items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`

/** The plan as JSON-ready data. */
export const planJson = (plan: Plan) => ({
  peakBufferBytes: plan.peakBufferBytes,
  notes: geometryNotes(plan.graph),
  passes: plan.passes.map((whole) => passJson(whole))
})

const passJson = (whole: PassPlan) => {
  const pass = largest(whole)
  return {
    index: pass.index,
    level: pass.level,
    direction: pass.direction,
    ticks: whole.ticks,
    threads: whole.threads.threads,
    bufferBytes: whole.bufferBytes,
    bands:
      whole.bands === undefined
        ? null
        : { rowsPerBand: whole.bands.rowsPerBand, halo: whole.bands.halo, rows: whole.bands.bands.map((b) => ({ rows: b.rows, read: b.read })) },
    roots: pass.roots.map((r) => ({
      id: r.id,
      kind: r.kind,
      label: r.label,
      input: r.input.id,
      latency: pass.rootLatency.get(r)!,
      ...(r.kind === "write" ? { format: r.sink.format, path: r.sink.path } : { params: r.reducer.params })
    })),
    stages: pass.stages.map((sp) => {
      const n = sp.node
      return {
        id: n.id,
        kind: n.kind,
        label: n.label,
        dtype: n.info.dtype,
        shape: n.info.shape,
        inputs: n.kind === "pointwise" ? n.inputs.map((i) => i.id) : n.kind === "window" ? [n.input.id] : [],
        latency: sp.latency,
        ringSlices: sp.ringSlices,
        ringBytes: sp.ringBytes,
        scratchBytes: sp.scratchBytes,
        reachZ: sp.haloZ,
        ...(n.kind === "source" ? { format: n.source.format, path: n.source.path } : {}),
        ...(n.kind === "pointwise"
          ? { expr: E.show(n.expr, n.inputs.map((i) => `#${i.id}`)), delays: sp.delays, scalars: n.scalars.map((s) => s.id) }
          : {}),
        ...(n.kind === "window"
          ? { kernel: n.kernel.name, params: n.kernel.params, halo: n.kernel.halo, mode: n.kernel.mode, direction: n.direction ?? null }
          : {}),
        ...(n.kind !== "source" && n.fused !== undefined
          ? {
              fusedTail: n.fused.tail.map((m) =>
                m.kind === "window" ? { kernel: m.kernel.name, params: m.kernel.params } : { expr: E.show(m.expr, ["·"]) }
              )
            }
          : {})
      }
    })
  }
}
