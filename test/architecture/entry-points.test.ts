/**
 * The public entry points (package.json "exports"): each is built from a module of src/, is in the
 * API reference (typedoc.json) and resolves to its sources here (tsconfig.json "paths"). The
 * cluster's packages are optional peer dependencies, so only `slicewise/cluster` may load them:
 * no other entry point reaches src/cluster (or the CLI), nor imports one of those packages. Every
 * package an entry point imports is a dependency of its own (a dependency's dependency may be absent).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { importGraph, packageImports, reachable } from "./imports.js"

const ROOT = path.resolve(__dirname, "../..")
const SRC = path.join(ROOT, "src")
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  exports: Record<string, string | { types: string; import: string }>
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
  peerDependencies: Record<string, string>
  peerDependenciesMeta: Record<string, { optional?: boolean }>
  files: ReadonlyArray<string>
}

/** tsconfig.json with its comments removed. */
const readJsonc = (file: string): any => JSON.parse(fs.readFileSync(file, "utf8").replace(/^\s*\/\/.*$/gm, ""))

/** Each "exports" subpath but ./package.json, with its module under src/ (relative to src/). */
const entries = Object.entries(pkg.exports)
  .filter(([subpath]) => subpath !== "./package.json")
  .map(([subpath, target]) => {
    const js = typeof target === "string" ? target : target.import
    return { subpath, specifier: `slicewise${subpath.slice(1)}`, module: js.replace(/^\.\/dist\//, "").replace(/\.js$/, ".ts") }
  })

const inLayer = (module: string, layer: string) => module.startsWith(`${layer}${path.sep}`)

/** The optional peer dependencies: what only slicewise/cluster may import. */
const optionalPeers = Object.keys(pkg.peerDependencies ?? {}).filter((p) => pkg.peerDependenciesMeta?.[p]?.optional === true)

describe("the public entry points", () => {
  const graph = importGraph(SRC)

  it("each is a module of src/, with the same types and import targets", () => {
    expect(entries.length).toBeGreaterThan(10)
    for (const e of entries) {
      expect(fs.existsSync(path.join(SRC, e.module)), `${e.subpath} → src/${e.module}`).toBe(true)
      const target = pkg.exports[e.subpath]!
      if (typeof target !== "string") expect(target.types.replace(/\.d\.ts$/, ".js"), e.subpath).toBe(target.import)
    }
    expect(entries.map((e) => e.specifier)).toContain("slicewise/cluster")
  })

  it("each is in the API reference (typedoc.json) and resolves to its sources (tsconfig.json paths)", () => {
    const typedoc = readJsonc(path.join(ROOT, "typedoc.json")) as { entryPoints: ReadonlyArray<string> }
    const paths = (readJsonc(path.join(ROOT, "tsconfig.json")) as { compilerOptions: { paths: Record<string, ReadonlyArray<string>> } }).compilerOptions.paths
    for (const e of entries) {
      expect(typedoc.entryPoints, e.specifier).toContain(`src/${e.module}`)
      expect(paths[e.specifier], e.specifier).toEqual([`./src/${e.module}`])
    }
  })

  it("the cluster's packages are optional peer dependencies, kept in devDependencies at a version the range admits", () => {
    for (const p of ["@effect/cluster", "@effect/workflow", "@effect/rpc", "@effect/sql", "@effect/sql-pg", "@effect/experimental", "@effect/platform-node"]) {
      expect(optionalPeers, p).toContain(p)
      expect(pkg.dependencies[p], p).toBeUndefined()
      // "^0.60.2" admits 0.60.x from 0.60.2 on; the repository's own tests and bundle use the devDependency.
      const dev = pkg.devDependencies[p]!
      const range = pkg.peerDependencies[p]!
      expect(range, p).toMatch(/^\^0\.\d+\.\d+$/)
      const [minor, patch] = range.slice(3).split(".").map(Number)
      const [devMinor, devPatch] = dev.replace(/^0\./, "").split(".").map(Number)
      expect(devMinor === minor && devPatch! >= patch!, `${p}: devDependency ${dev} outside ${range}`).toBe(true)
    }
    expect(pkg.files).not.toContain("!dist/cluster")
  })

  it("no entry point but slicewise/cluster reaches src/cluster, and none reaches the CLI", () => {
    const found: Array<string> = []
    for (const e of entries) {
      for (const m of reachable(graph, e.module)) {
        if (inLayer(m, "cli")) found.push(`${e.specifier} reaches ${m}`)
        if (inLayer(m, "cluster") && e.specifier !== "slicewise/cluster") found.push(`${e.specifier} reaches ${m}`)
      }
    }
    expect(found).toEqual([])
  })

  it("no entry point but slicewise/cluster imports an optional peer dependency", () => {
    expect(optionalPeers.length).toBeGreaterThanOrEqual(7)
    const found: Array<string> = []
    for (const e of entries.filter((e) => e.specifier !== "slicewise/cluster")) {
      for (const m of reachable(graph, e.module)) {
        for (const p of packageImports(path.join(SRC, m))) if (optionalPeers.includes(p)) found.push(`${e.specifier} reaches ${m}, which imports ${p}`)
      }
    }
    expect(found).toEqual([])
  })

  it("each imports only the package's dependencies (slicewise/cluster: and its optional peers), not another package's", () => {
    // A package that only comes with a dependency (zstddec with geotiff) is not there for sure.
    const found: Array<string> = []
    for (const e of entries) {
      const allowed = new Set([...Object.keys(pkg.dependencies), ...(e.specifier === "slicewise/cluster" ? optionalPeers : [])])
      for (const m of reachable(graph, e.module)) for (const p of packageImports(path.join(SRC, m))) if (!allowed.has(p)) found.push(`${e.specifier}: ${m} imports ${p}`)
    }
    expect([...new Set(found)]).toEqual([])
  })

  it("the check itself sees an entry point that reaches the cluster and a peer it imports", () => {
    const bad = new Map([
      ["index.ts", [path.join("jobs", "index.ts")]],
      [path.join("jobs", "index.ts"), [path.join("cluster", "queue.ts")]],
      [path.join("cluster", "queue.ts"), []]
    ])
    expect(reachable(bad, "index.ts")).toContain(path.join("cluster", "queue.ts"))
    expect(packageImports(path.join(SRC, "cluster", "queue.ts"))).toContain("@effect/sql")
    expect(packageImports(path.join(SRC, "cluster", "queue.ts"))).toContain("effect")
  })
})
