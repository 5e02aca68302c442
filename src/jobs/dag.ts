/**
 * The jobs of a pipeline file as a graph: a job comes `after` others (by name), reads inputs and
 * writes outputs. This module checks the graph before anything runs, and says what is wrong at
 * the JSON path where it is written:
 *
 * - `after` names a job that does not exist, or a name that two jobs share;
 * - `after` makes a circle (named in full: `a → b → a`);
 * - two jobs write the same output;
 * - an input is neither an existing file nor written by a job it (transitively) comes after
 *   (written by a job it does not come after would be a race: it is refused too).
 *
 * It knows nothing of job kinds: `file.ts` describes each job as a GraphJob.
 *
 * @example
 * ```ts
 * const problem = checkGraph([
 *   { name: "reg", at: "jobs[0]", after: [], inputs: [], outputs: [{ at: "jobs[0].output", path: "/d/reg" }] },
 *   { name: "warp", at: "jobs[1]", after: ["reg"], inputs: [{ at: "jobs[1].transform", path: "/d/reg" }], outputs: [] }
 * ], fs.existsSync)   // undefined: the graph is sound
 * ```
 */
import * as nodePath from "node:path"

/** A path a job names, with where the file says it. */
export interface GraphPath {
  /** JSON path, e.g. `jobs[2].inputs[0]`. */
  readonly at: string
  /** Absolute path (or URL). */
  readonly path: string
}

export interface GraphJob {
  readonly name: string
  /** JSON path of the job, e.g. `jobs[2]`. */
  readonly at: string
  readonly after: ReadonlyArray<string>
  readonly inputs: ReadonlyArray<GraphPath>
  /** Files or directories it writes; an input inside an output directory is that output's. */
  readonly outputs: ReadonlyArray<GraphPath>
}

/** What is wrong, and where. */
export interface GraphProblem {
  readonly at: string
  readonly detail: string
}

const isUrl = (p: string) => /^https?:\/\//i.test(p)

/** Does output `o` make path `p` (the same path, or a path inside a directory `o`)? */
const writes = (o: string, p: string): boolean => {
  const [a, b] = [nodePath.normalize(o), nodePath.normalize(p)]
  return a === b || b.startsWith(a.endsWith(nodePath.sep) ? a : a + nodePath.sep)
}

/** Positions of the jobs each job comes after, transitively (the job itself excluded). */
const ancestors = (after: ReadonlyArray<ReadonlyArray<number>>): Array<Set<number>> => {
  const memo: Array<Set<number> | undefined> = after.map(() => undefined)
  const of = (i: number): Set<number> => {
    const known = memo[i]
    if (known !== undefined) return known
    const set = new Set<number>()
    memo[i] = set
    for (const d of after[i]!) {
      set.add(d)
      for (const a of of(d)) set.add(a)
    }
    return set
  }
  return after.map((_, i) => of(i))
}

/** A circle of `after`, as positions from a job back to it, or undefined. */
const findCircle = (after: ReadonlyArray<ReadonlyArray<number>>): Array<number> | undefined => {
  const state = after.map(() => 0) // 0 unvisited, 1 on the path, 2 done
  const path: Array<number> = []
  const visit = (i: number): Array<number> | undefined => {
    state[i] = 1
    path.push(i)
    for (const d of after[i]!) {
      if (state[d] === 1) return [...path.slice(path.indexOf(d)), d]
      if (state[d] === 0) {
        const found = visit(d)
        if (found !== undefined) return found
      }
    }
    path.pop()
    state[i] = 2
    return undefined
  }
  for (let i = 0; i < after.length; i++) {
    if (state[i] !== 0) continue
    const found = visit(i)
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * The first problem of the graph, in file order: names, circles, outputs, then inputs; undefined
 * when it is sound. `exists` says whether a file or directory is there (URLs are taken as there).
 */
export const checkGraph = (jobs: ReadonlyArray<GraphJob>, exists: (path: string) => boolean): GraphProblem | undefined => {
  const first = new Map<string, number>()
  const referenced = new Set(jobs.flatMap((j) => j.after))
  for (const [i, job] of jobs.entries()) {
    const k = first.get(job.name)
    if (k === undefined) first.set(job.name, i)
    else if (referenced.has(job.name)) {
      return { at: `${job.at}.name`, detail: `"${job.name}" is also the name of ${jobs[k]!.at}: a name that after refers to must be unique` }
    }
  }
  const after: Array<Array<number>> = []
  for (const job of jobs) {
    const ids: Array<number> = []
    for (const [n, name] of job.after.entries()) {
      const k = first.get(name)
      if (k === undefined) return { at: `${job.at}.after[${n}]`, detail: `no job is named "${name}"` }
      ids.push(k)
    }
    after.push(ids)
  }
  const circle = findCircle(after)
  if (circle !== undefined) {
    return { at: `${jobs[circle[0]!]!.at}.after`, detail: `after makes a circle: ${circle.map((i) => jobs[i]!.name).join(" → ")}` }
  }
  const writer = new Map<string, { job: number; at: string }>()
  for (const [i, job] of jobs.entries()) {
    for (const o of job.outputs) {
      const key = nodePath.normalize(o.path)
      const other = writer.get(key)
      if (other !== undefined) return { at: o.at, detail: `${o.path} is also written by ${jobs[other.job]!.at} ("${jobs[other.job]!.name}", ${other.at})` }
      writer.set(key, { job: i, at: o.at })
    }
  }
  const before = ancestors(after)
  for (const [i, job] of jobs.entries()) {
    for (const input of job.inputs) {
      let writtenBy: number | undefined
      for (const [k, other] of jobs.entries()) if (k !== i && other.outputs.some((o) => writes(o.path, input.path))) writtenBy = k
      if (writtenBy !== undefined) {
        if (before[i]!.has(writtenBy)) continue
        const w = jobs[writtenBy]!
        return { at: input.at, detail: `${input.path} is written by "${w.name}" (${w.at}), which this job does not come after (add "${w.name}" to its after)` }
      }
      if (isUrl(input.path) || exists(input.path)) continue
      return { at: input.at, detail: `${input.path}: no such file, and no job this one comes after writes it` }
    }
  }
  return undefined
}
