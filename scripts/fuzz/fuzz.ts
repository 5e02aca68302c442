/**
 * One format's fuzz run: `cases` cases from fast-check (fixed `seed`) over the format's seeds,
 * each run by a CaseRunner (a worker with a time limit and an allocation guard), tallied into a
 * summary; then, if there were findings, the same run again with fast-check shrinking to the
 * smallest case that still gives the first finding's kind, whose files are saved for reproduction.
 * Used by scripts/fuzz/run.ts (`npx tsx scripts/fuzz/run.ts --format nrrd --cases 10000`) and
 * test/io/fuzz.test.ts.
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import fc from "fast-check"
import { caseArb, applyCase } from "./mutate.js"
import { CaseRunner } from "./pool.js"
import type { Case, FindingKind, Outcome, Seed } from "./types.js"
import { dicomSeeds } from "./formats/dicom.js"
import { niftiSeeds } from "./formats/nifti.js"
import { nrrdSeeds } from "./formats/nrrd.js"
import { tiffSeeds } from "./formats/tiff.js"
import { zarrSeeds } from "./formats/zarr.js"

export const FORMATS = { tiff: tiffSeeds, nrrd: nrrdSeeds, nifti: niftiSeeds, zarr: zarrSeeds, dicom: dicomSeeds } as const
export type FormatName = keyof typeof FORMATS

export interface Finding {
  readonly finding: FindingKind
  readonly message: string
  readonly seed: string
  readonly mutations: Case["mutations"]
}

export interface Summary {
  readonly format: FormatName
  readonly cases: number
  readonly ok: number
  /** Successes whose slices were too large to read (valid but huge: fill values). */
  readonly okUnread: number
  readonly typed: Record<string, number>
  /** Distinct findings (by kind and message), the first case of each. */
  readonly findings: ReadonlyArray<Finding & { count: number }>
  /** The first finding shrunk by fast-check, and where its files were saved. */
  readonly shrunk?: Finding & { saved: string }
  readonly seconds: number
  readonly peakArrayBuffersMiB: number
}

export interface FuzzOptions {
  readonly cases: number
  readonly seed: number
  readonly timeoutMs?: number
  readonly allocationLimit?: number
  /** Shrink the first finding (default true). */
  readonly shrink?: boolean
  /** Where shrunk counterexamples are saved. */
  readonly saveDir?: string
  readonly onProgress?: (done: number) => void
}

const signature = (o: Outcome & { kind: "finding" }) => `${o.finding}: ${o.message.replace(/\d+/g, "N").slice(0, 160)}`

export const fuzzFormat = async (format: FormatName, options: FuzzOptions): Promise<Summary> => {
  const seeds: ReadonlyArray<Seed> = FORMATS[format]()
  const runner = new CaseRunner({ timeoutMs: options.timeoutMs ?? 5000, allocationLimit: options.allocationLimit ?? 64 * 2 ** 20 })
  const start = performance.now()
  let ok = 0
  let okUnread = 0
  const typed: Record<string, number> = {}
  const findings = new Map<string, Finding & { count: number }>()
  let done = 0
  const arb = caseArb(seeds)
  try {
    const main = await fc.check(
      fc.asyncProperty(arb, async (c) => {
        const o = await runner.run(applyCase(seeds[c.seed]!, c))
        if (o.kind === "ok") (o.read ? ok++ : okUnread++)
        else if (o.kind === "typed") typed[o.tag] = (typed[o.tag] ?? 0) + 1
        else {
          const key = signature(o)
          const seen = findings.get(key)
          if (seen) seen.count++
          else findings.set(key, { finding: o.finding, message: o.message, seed: seeds[c.seed]!.name, mutations: c.mutations, count: 1 })
        }
        done++
        options.onProgress?.(done)
        return true
      }),
      { seed: options.seed, numRuns: options.cases }
    )
    // The property never fails: a failure here is the harness's own error.
    if (main.failed) throw new Error(`fuzz harness: ${String(main.errorInstance)}`)
    let shrunk: Summary["shrunk"]
    const first = [...findings.values()][0]
    if (first !== undefined && options.shrink !== false) {
      let tries = 0
      let last: { c: Case; o: Outcome & { kind: "finding" } } | undefined
      const result = await fc.check(
        fc.asyncProperty(arb, async (c) => {
          if (last !== undefined && ++tries > 300) return true // enough shrinking
          const o = await runner.run(applyCase(seeds[c.seed]!, c))
          if (o.kind === "finding" && o.finding === first.finding) {
            last = { c, o }
            return false
          }
          return true
        }),
        { seed: options.seed, numRuns: options.cases }
      )
      if (result.failed && last !== undefined) {
        const c = result.counterexample?.[0] ?? last.c
        const job = applyCase(seeds[c.seed]!, c)
        const saved = nodePath.join(options.saveDir ?? nodePath.join(runner.dir, ".."), `slicewise-fuzz-${format}-${options.seed}`)
        fs.rmSync(saved, { recursive: true, force: true })
        for (const [rel, bytes] of job.files) {
          fs.mkdirSync(nodePath.dirname(nodePath.join(saved, rel)), { recursive: true })
          fs.writeFileSync(nodePath.join(saved, rel), bytes)
        }
        fs.writeFileSync(nodePath.join(saved, "CASE.json"), JSON.stringify({ seed: seeds[c.seed]!.name, entry: job.entry, mutations: c.mutations, outcome: last.o }, null, 1))
        shrunk = { finding: last.o.finding, message: last.o.message, seed: seeds[c.seed]!.name, mutations: c.mutations, saved }
      }
    }
    return {
      format,
      cases: done,
      ok,
      okUnread,
      typed,
      findings: [...findings.values()],
      ...(shrunk ? { shrunk } : {}),
      seconds: (performance.now() - start) / 1000,
      peakArrayBuffersMiB: runner.peakArrayBuffers / 2 ** 20
    }
  } finally {
    await runner.close()
  }
}
