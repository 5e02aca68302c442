/**
 * Whether two runs of the segmentation pipeline wrote the same outputs, byte for byte: the fused
 * labels, every warped atlas's labels and every registration's transform file (not the logs).
 *
 *   const c = compareRuns(subjects, "/tmp/seg/clean", "/tmp/seg/crash-r1")
 *   c.identical === c.files   // else c.differ / c.missing name the files
 *
 * Used by bench/segmentation/run.ts.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { outputsOf } from "./score.js"
import type { Subjects } from "./subjects.js"

export interface Comparison {
  readonly files: number
  readonly identical: number
  /** Relative paths present in both runs whose bytes differ. */
  readonly differ: ReadonlyArray<string>
  /** Relative paths missing from either run. */
  readonly missing: ReadonlyArray<string>
  /** Per kind of output: how many of how many are identical. */
  readonly byKind: Readonly<Record<"fused" | "warped" | "transform", { identical: number; files: number }>>
}

export const compareRuns = (s: Subjects, a: string, b: string): Comparison => {
  const kinds: Array<["fused" | "warped" | "transform", string]> = outputsOf(s, a).flatMap((o) => [
    ["fused", o.fused] as ["fused", string],
    ...o.warped.map((w) => ["warped", w] as ["warped", string]),
    ...o.transforms.map((t) => ["transform", t] as ["transform", string])
  ])
  const differ: Array<string> = []
  const missing: Array<string> = []
  const byKind = { fused: { identical: 0, files: 0 }, warped: { identical: 0, files: 0 }, transform: { identical: 0, files: 0 } }
  for (const [kind, file] of kinds) {
    const rel = path.relative(a, file)
    const other = path.join(b, rel)
    byKind[kind].files++
    if (!fs.existsSync(file) || !fs.existsSync(other)) missing.push(rel)
    else if (fs.readFileSync(file).equals(fs.readFileSync(other))) byKind[kind].identical++
    else differ.push(rel)
  }
  const identical = byKind.fused.identical + byKind.warped.identical + byKind.transform.identical
  return { files: kinds.length, identical, differ, missing, byKind }
}

/** One line for a table: "28 of 28 (4 fused, 12 warped, 12 transforms)", naming what differs. */
export const compareLine = (c: Comparison): string => {
  const k = c.byKind
  const parts = `${k.fused.identical}/${k.fused.files} fused, ${k.warped.identical}/${k.warped.files} warped, ${k.transform.identical}/${k.transform.files} transforms`
  const bad = [...c.differ.map((f) => `\`${f}\` differs`), ...c.missing.map((f) => `\`${f}\` missing`)]
  return `${c.identical} of ${c.files} (${parts})${bad.length > 0 ? `; ${bad.join(", ")}` : ""}`
}
