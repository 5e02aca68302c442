/**
 * The import graph of src/: every relative import (static, dynamic, type-only and re-exports) of
 * every TypeScript module, resolved to the module it names.
 */
import * as fs from "node:fs"
import * as path from "node:path"

export type ImportGraph = ReadonlyMap<string, ReadonlyArray<string>>

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g

const modulesUnder = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    return e.isDirectory() ? modulesUnder(p) : p.endsWith(".ts") ? [p] : []
  })

/** The module a specifier names from `from`: `./x.js` is `./x.ts`, `./dir` is `./dir/index.ts`. */
const resolve = (from: string, specifier: string): string => {
  const target = path.resolve(path.dirname(from), specifier)
  for (const candidate of [target.replace(/\.js$/, ".ts"), `${target}.ts`, path.join(target, "index.ts")]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate
  }
  return target
}

/** Removes comments, so that an import shown in a doc comment's example is not taken for one. */
const withoutComments = (source: string): string => source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1")

/** Every module under `root` and the modules it imports, as paths relative to `root`. */
export const importGraph = (root: string): ImportGraph => {
  const graph = new Map<string, Array<string>>()
  for (const file of modulesUnder(root)) {
    const source = withoutComments(fs.readFileSync(file, "utf8"))
    const targets = [...source.matchAll(IMPORT)].map((m) => path.relative(root, resolve(file, m[1]!)))
    graph.set(path.relative(root, file), [...new Set(targets)])
  }
  return graph
}

/** The import circles of a graph: its strongly connected components of more than one module, or one importing itself. */
export const importCircles = (graph: ImportGraph): Array<Array<string>> => {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const circles: Array<Array<string>> = []
  const visit = (v: string): void => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) !== index.get(v)) return
    const component: Array<string> = []
    let w: string
    do {
      w = stack.pop()!
      onStack.delete(w)
      component.push(w)
    } while (w !== v)
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) circles.push(component.sort())
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return circles
}

const PACKAGE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)["']((?:@[^/"'.][^/"']*\/)?[^./"'][^/"']*)(?:\/[^"']*)?["']/g

/** The packages (bare specifiers, without subpaths; node: built-ins left out) a module imports. */
export const packageImports = (file: string): Array<string> => {
  const source = withoutComments(fs.readFileSync(file, "utf8"))
  return [...new Set([...source.matchAll(PACKAGE_IMPORT)].map((m) => m[1]!).filter((p) => !p.startsWith("node:")))]
}

/** `start` and every module it reaches through the graph (relative to the graph's root). */
export const reachable = (graph: ImportGraph, start: string): Set<string> => {
  const seen = new Set<string>()
  const stack = [start]
  while (stack.length > 0) {
    const m = stack.pop()!
    if (seen.has(m)) continue
    seen.add(m)
    for (const next of graph.get(m) ?? []) stack.push(next)
  }
  return seen
}
