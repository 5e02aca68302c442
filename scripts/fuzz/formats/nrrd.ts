/**
 * NRRD seeds for the fuzzers: attached raw (several dtypes, big-endian, 2-D, vector), gzip and
 * bzip2 files and detached `.nhdr` headers with their raw, gzip or skipped data files, from
 * test/fixtures/nrrd. Header lines are mutated as text (mutate.ts); data bytes as bytes.
 */
import { fixture } from "../seeds.js"
import type { Seed } from "../types.js"

const ATTACHED = ["i8.nrrd", "f64-be.nrrd", "u8-2d.nrrd", "u16-stub.nrrd", "vec3.nrrd", "gzip.nrrd", "bzip2.nrrd", "f32-ras.nrrd"]
const DETACHED: ReadonlyArray<readonly [string, string]> = [
  ["be-int16.nhdr", "be-int16.raw"],
  ["gzip-f32.nhdr", "gzip-f32.raw.gz"],
  ["gzip-skip.nhdr", "gzip-skip.dat"],
  ["u32-skip.nhdr", "u32-skip.dat"],
  ["i32-be.nhdr", "i32-be.raw"]
]

export const nrrdSeeds = (): Array<Seed> => [
  ...ATTACHED.map((f) => ({ name: f, files: { [f]: fixture(`nrrd/${f}`) }, entry: f, fields: [], textFiles: [f] })),
  ...DETACHED.map(([h, d]) => ({ name: h, files: { [h]: fixture(`nrrd/${h}`), [d]: fixture(`nrrd/${d}`) }, entry: h, fields: [], textFiles: [h] }))
]
