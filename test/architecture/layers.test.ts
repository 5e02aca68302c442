/**
 * The layers of DESIGN.md ("Layers and layout"): imports only go down, ops and io never import
 * each other, the public entry points never load the CLI, and there is no import circle.
 */
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { importCircles, importGraph, type ImportGraph } from "./imports.js"

const SRC = path.resolve(__dirname, "../../src")

/** Bottom to top. A module may import its own layer and the layers before it, except as below. */
const LAYERS = ["util", "algebra", "io", "ops", "interpreters", "profile", "jobs", "batch", "cluster", "cli"] as const

/** Pairs of layers that are side by side: neither imports the other. */
const SIBLINGS: ReadonlyArray<readonly [string, string]> = [["io", "ops"]]

/** The layer of a module (a path relative to src/): its top folder; root modules are the public surface. */
const layerOf = (module: string): string => (module.includes(path.sep) ? module.split(path.sep)[0]! : "root")

const rank = (layer: string): number => (layer === "root" ? LAYERS.length : LAYERS.indexOf(layer as (typeof LAYERS)[number]))

/** Every import that breaks the layering, as "from → to (why)". */
export const layerViolations = (graph: ImportGraph): Array<string> => {
  const found: Array<string> = []
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const [a, b] = [layerOf(from), layerOf(to)]
      if (a === b) continue
      if (rank(b) < 0) found.push(`${from} → ${to} (outside the known layers)`)
      else if (rank(b) > rank(a)) found.push(`${from} → ${to} (${b} is above ${a})`)
      else if (SIBLINGS.some(([x, y]) => (x === a && y === b) || (x === b && y === a))) found.push(`${from} → ${to} (${a} and ${b} never import each other)`)
      else if (a === "root" && b === "cli") found.push(`${from} → ${to} (the public surface does not load the CLI)`)
    }
  }
  return found
}

describe("the layers of src/", () => {
  const graph = importGraph(SRC)

  it("finds the modules and their imports", () => {
    expect(graph.size).toBeGreaterThan(100)
    expect(graph.get(path.join("cli", "main.ts"))).toContain(path.join("jobs", "run-job.ts"))
  })

  it("imports only go down, and io and ops never import each other", () => {
    expect(layerViolations(graph)).toEqual([])
  })

  it("has no import circle", () => {
    expect(importCircles(graph)).toEqual([])
  })

  it("the check itself sees an import that goes up, one between siblings and a circle", () => {
    const bad: ImportGraph = new Map([
      [path.join("algebra", "a.ts"), [path.join("io", "b.ts")]],
      [path.join("io", "b.ts"), [path.join("ops", "c.ts")]],
      [path.join("ops", "c.ts"), [path.join("algebra", "a.ts")]],
      ["index.ts", [path.join("cli", "main.ts")]]
    ])
    expect(layerViolations(bad)).toHaveLength(3)
    expect(importCircles(bad)).toHaveLength(1)
  })
})
