/**
 * A small directed acyclic graph as inline SVG: nodes in layers from left to right (a node one
 * layer right of the furthest node it depends on), edges as curves from a node to those that
 * depend on it. For a pipeline's jobs and their `after`, or a plan's stages and their inputs.
 * Pure; text is escaped; nodes and edges carry data-node / data-from / data-to.
 *
 * @example
 * ```ts
 * dagChart([{ id: "a", label: "a", color: "#60a5fa" }, { id: "b", label: "b", color: "#60a5fa", after: ["a"] }])
 * ```
 */
import { escapeHtml } from "./svg.js"

export interface DagNode {
  readonly id: string
  readonly label: string
  /** A second, smaller line under the label (a kind, a state). */
  readonly sublabel?: string
  readonly color: string
  /** Shown on hover. */
  readonly title?: string
  /** The ids of the nodes it depends on (ids not among the nodes are left out). */
  readonly after?: ReadonlyArray<string>
}

const NODE = { width: 150, height: 36, colGap: 56, rowGap: 12, pad: 8 }

/** Each node's layer: 0 without dependencies, else one more than its deepest dependency. */
export const layersOf = (nodes: ReadonlyArray<DagNode>): ReadonlyMap<string, number> => {
  const byId = new Map(nodes.map((n) => [n.id, n]))
  const layer = new Map<string, number>()
  const visit = (id: string, seen: ReadonlySet<string>): number => {
    const known = layer.get(id)
    if (known !== undefined) return known
    // A circle (not a DAG) is cut where it closes rather than recursing forever.
    const deps = (byId.get(id)?.after ?? []).filter((d) => byId.has(d) && !seen.has(d))
    const l = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((d) => visit(d, new Set([...seen, id]))))
    layer.set(id, l)
    return l
  }
  for (const n of nodes) visit(n.id, new Set())
  return layer
}

const clip = (s: string, chars: number) => (s.length > chars ? `${s.slice(0, chars - 1)}…` : s)

/** The graph, as wide as its layers need (scaled down to `maxWidth`). */
export const dagChart = (nodes: ReadonlyArray<DagNode>, maxWidth = 880): string => {
  const layers = layersOf(nodes)
  const columns: Array<Array<DagNode>> = []
  for (const n of nodes) (columns[layers.get(n.id)!] ??= []).push(n)
  const rows = Math.max(1, ...columns.map((c) => c.length))
  const width = NODE.pad * 2 + columns.length * NODE.width + Math.max(0, columns.length - 1) * NODE.colGap
  const height = NODE.pad * 2 + rows * NODE.height + (rows - 1) * NODE.rowGap
  const at = new Map<string, { readonly x: number; readonly y: number }>()
  columns.forEach((col, c) =>
    col.forEach((n, r) => at.set(n.id, { x: NODE.pad + c * (NODE.width + NODE.colGap), y: NODE.pad + r * (NODE.height + NODE.rowGap) }))
  )
  const edges = nodes.flatMap((n) =>
    (n.after ?? []).flatMap((d) => {
      const [from, to] = [at.get(d), at.get(n.id)]
      if (from === undefined || to === undefined) return []
      const [x0, y0, x1, y1] = [from.x + NODE.width, from.y + NODE.height / 2, to.x - 4, to.y + NODE.height / 2]
      const mid = (x0 + x1) / 2
      return [
        `<path class="edge" data-from="${escapeHtml(d)}" data-to="${escapeHtml(n.id)}" d="M${x0},${y0} C${mid},${y0} ${mid},${y1} ${x1},${y1}" stroke-width="1.4"/>` +
          `<path d="M${x1},${y1} l-6,-3.5 v7 z" fill="#9ca3af"/>`
      ]
    })
  )
  const boxes = nodes.map((n) => {
    const { x, y } = at.get(n.id)!
    const title = n.title === undefined ? "" : `<title>${escapeHtml(n.title)}</title>`
    const sub = n.sublabel === undefined ? "" : `<text x="${x + 8}" y="${y + 28}" style="font-size:10px">${escapeHtml(clip(n.sublabel, 24))}</text>`
    return (
      `<g class="node" data-node="${escapeHtml(n.id)}">${title}<rect x="${x}" y="${y}" width="${NODE.width}" height="${NODE.height}" rx="4" fill="#fff" stroke="${n.color}" stroke-width="2"/>` +
      `<rect x="${x}" y="${y}" width="5" height="${NODE.height}" rx="2" fill="${n.color}"/>` +
      `<text x="${x + 8}" y="${y + (n.sublabel === undefined ? 22 : 15)}" style="font-size:12px">${escapeHtml(clip(n.label, 21))}</text>${sub}</g>`
    )
  })
  const shown = Math.min(width, maxWidth)
  return (
    `<svg viewBox="0 0 ${width} ${height}" width="${shown}" height="${Math.round((height * shown) / width)}" role="img" class="chart dag">` +
    edges.join("") +
    boxes.join("") +
    `</svg>`
  )
}
