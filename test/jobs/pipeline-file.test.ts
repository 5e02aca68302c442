/**
 * The pipeline file as a graph: `after` on every kind, and what decoding refuses (unknown or shared
 * names, a circle, an input that is neither there nor written by a job it comes after), each at
 * the JSON path where it is written.
 */
import * as Either from "effect/Either"
import { describe, expect, it } from "vitest"
import { decodeJobs } from "../../src/jobs/file.js"

const FILE = "/data/pipeline.json"
const decode = (jobs: ReadonlyArray<unknown>, exists: (p: string) => boolean = () => true) => decodeJobs(FILE, JSON.stringify({ jobs }), exists)
const problem = (jobs: ReadonlyArray<unknown>, exists?: (p: string) => boolean) => {
  const r = decode(jobs, exists)
  if (Either.isRight(r)) throw new Error("decoded")
  return r.left.message
}

const run = (name: string, input: string, output: string, after?: ReadonlyArray<string>) => ({
  kind: "run",
  name,
  input,
  output,
  steps: ["copy"],
  ...(after === undefined ? {} : { after })
})

describe("a pipeline file", () => {
  it("keeps today's batch files: no names, no after", () => {
    const r = decode([
      { kind: "run", input: "a.nrrd", output: "b.nrrd", steps: ["copy"] },
      { kind: "run", input: "a.nrrd", output: "c.nrrd", steps: ["copy"] }
    ])
    expect(Either.isRight(r)).toBe(true)
  })

  it("takes after on run and fuse jobs, and an input written by a job it comes after (even transitively)", () => {
    const r = decode(
      [
        run("a", "in.nrrd", "a.nrrd"),
        run("b", "a.nrrd", "b.nrrd", ["a"]),
        { kind: "fuse", name: "f", after: ["b"], target: "in.nrrd", atlases: [{ labels: "a.nrrd" }, { labels: "b.nrrd" }], method: "majority", output: "f.nrrd" }
      ],
      (p) => p === "/data/in.nrrd"
    )
    expect(Either.isRight(r)).toBe(true)
  })

  it("refuses after naming no job", () => {
    expect(problem([run("a", "in.nrrd", "a.nrrd"), run("b", "a.nrrd", "b.nrrd", ["a", "nope"])])).toBe(`${FILE}: jobs[1].after[1]: no job is named "nope"`)
  })

  it("refuses a name shared by two jobs when after refers to it", () => {
    expect(problem([run("a", "in.nrrd", "a.nrrd"), run("a", "in.nrrd", "a2.nrrd"), run("b", "a.nrrd", "b.nrrd", ["a"])])).toBe(
      `${FILE}: jobs[1].name: "a" is also the name of jobs[0]: a name that after refers to must be unique`
    )
    // Unreferenced, as today, a shared name is only a label.
    expect(Either.isRight(decode([run("a", "in.nrrd", "a.nrrd"), run("a", "in.nrrd", "a2.nrrd")]))).toBe(true)
  })

  it("refuses a circle, naming it", () => {
    expect(problem([run("a", "c.nrrd", "a.nrrd", ["c"]), run("b", "a.nrrd", "b.nrrd", ["a"]), run("c", "b.nrrd", "c.nrrd", ["b"])])).toBe(
      `${FILE}: jobs[0].after: after makes a circle: a → c → b → a`
    )
    expect(problem([run("self", "in.nrrd", "s.nrrd", ["self"])])).toBe(`${FILE}: jobs[0].after: after makes a circle: self → self`)
  })

  it("refuses an input that is not there and that no job it comes after writes", () => {
    expect(problem([run("a", "missing.nrrd", "a.nrrd")], () => false)).toBe(
      `${FILE}: jobs[0].input: /data/missing.nrrd: no such file, and no job this one comes after writes it`
    )
  })

  it("refuses an input written by a job it does not come after (a race), even if the file is there now", () => {
    expect(problem([run("a", "in.nrrd", "a.nrrd"), run("b", "a.nrrd", "b.nrrd")])).toBe(
      `${FILE}: jobs[1].input: /data/a.nrrd is written by "a" (jobs[0]), which this job does not come after (add "a" to its after)`
    )
  })

  it("refuses two jobs writing one output", () => {
    expect(problem([run("a", "in.nrrd", "x.nrrd"), run("b", "in.nrrd", "./x.nrrd")])).toBe(
      `${FILE}: jobs[1].output: /data/x.nrrd is also written by jobs[0] ("a", jobs[0].output)`
    )
  })

  it("checks the fields of after with the Schema", () => {
    expect(problem([{ ...run("a", "in.nrrd", "a.nrrd"), after: "b" }])).toMatch(/^\/data\/pipeline\.json: jobs\[0\]\.after: Expected ReadonlyArray<NonEmptyString>, actual "b"$/)
  })
})
