/**
 * A fixed-seed slice of the fuzzers (scripts/fuzz/, issue 22 part 3): 150 mutated inputs per
 * format (TIFF, NRRD, NIfTI, Zarr, DICOM), each opened and read in a worker with a 5 s limit and
 * an allocation guard of 64 MiB; fails on any finding (a defect, an untyped failure, a hang, a
 * crash or a large allocation), printing it with its seed and mutations. The full run is
 * `npx tsx scripts/fuzz/run.ts --cases 10000`; this file: `npx vitest run test/io/fuzz.test.ts`.
 */
import { describe, expect, it } from "vitest"
import { FORMATS, fuzzFormat, type FormatName } from "../../scripts/fuzz/fuzz.js"

const CASES = 150

describe("fuzz: mutated inputs fail only with typed errors", () => {
  for (const format of Object.keys(FORMATS) as Array<FormatName>) {
    it(`${format}: ${CASES} cases`, async () => {
      const s = await fuzzFormat(format, { cases: CASES, seed: 22, shrink: false })
      const report = s.findings.map((f) => `[${f.finding} ×${f.count}] ${f.message}\n  seed ${f.seed}; mutations ${JSON.stringify(f.mutations)}`).join("\n")
      expect(s.cases).toBe(CASES)
      expect(report).toBe("")
      // Some cases must get through: the mutations are not all fatal to the parser.
      expect(s.ok + s.okUnread).toBeGreaterThan(0)
    }, 60_000)
  }
})
