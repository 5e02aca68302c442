/**
 * The vocabulary of the fuzzers (issue 22, part 3): a seed (a small valid file or store), the
 * mutations applied to it, the case sent to the executor and the outcome it reports.
 * Used by every module under scripts/fuzz/; run the fuzzers with `npx tsx scripts/fuzz/run.ts`.
 */

/** A numeric field of a seed at a known byte offset (a header field, an IFD entry's count …). */
export interface Field {
  /** The file (a key of `Seed.files`). */
  readonly file: string
  readonly offset: number
  /** Bytes; "f32"/"f64" are IEEE floats of 4 or 8 bytes. */
  readonly width: 1 | 2 | 4 | 8 | "f32" | "f64"
  readonly little: boolean
  /** Values worth trying besides the shared extremes (an IFD's own offset: a loop). */
  readonly values?: ReadonlyArray<number>
  /** What it is, for counterexamples ("IFD 0 tag 256 value"). */
  readonly name: string
}

/** A small valid input: its files (relative paths), the path opened, its mutable fields. */
export interface Seed {
  readonly name: string
  readonly files: Readonly<Record<string, Uint8Array>>
  /** The path given to openSource, relative to the case directory (a file or a directory). */
  readonly entry: string
  readonly fields: ReadonlyArray<Field>
  /** Files whose text is `key: value` lines (NRRD headers), for line mutations. */
  readonly textFiles?: ReadonlyArray<string>
  /** Files holding JSON (Zarr metadata), for tree mutations. */
  readonly jsonFiles?: ReadonlyArray<string>
  /** Applied after the mutations (gzip the mutated content of a `.nii.gz`). */
  readonly finish?: (files: Record<string, Uint8Array>) => Record<string, Uint8Array>
}

/** One mutation; indices are reduced modulo what they index, so any value is valid for any seed. */
export type Mutation =
  | { readonly op: "flip"; readonly file: number; readonly at: number; readonly mask: number }
  | { readonly op: "truncate"; readonly file: number; readonly at: number }
  | { readonly op: "insert"; readonly file: number; readonly at: number; readonly byte: number; readonly count: number }
  | { readonly op: "delete"; readonly file: number; readonly at: number; readonly count: number }
  | { readonly op: "int"; readonly file: number; readonly at: number; readonly width: 1 | 2 | 4 | 8; readonly little: boolean; readonly value: number }
  | { readonly op: "field"; readonly field: number; readonly value: number; readonly own: boolean }
  | { readonly op: "line"; readonly line: number; readonly value: string }
  | { readonly op: "dupline"; readonly line: number; readonly times: number }
  | { readonly op: "json"; readonly file: number; readonly node: number; readonly value: unknown }
  | { readonly op: "remove"; readonly file: number }

/** A generated case: which seed, which mutations in order. */
export interface Case {
  readonly seed: number
  readonly mutations: ReadonlyArray<Mutation>
}

/** What the executor runs: files to write into a fresh directory and the path to open. */
export interface Job {
  readonly files: ReadonlyArray<readonly [string, Uint8Array]>
  readonly entry: string
}

/** Kinds of finding: anything but a success or a typed IO error naming the file. */
export type FindingKind = "defect" | "untyped" | "wrong-path" | "allocation" | "retained" | "hang" | "crash"

export type Outcome =
  | { readonly kind: "ok"; readonly slices: number; readonly read: boolean }
  | { readonly kind: "typed"; readonly tag: string; readonly message: string }
  | { readonly kind: "finding"; readonly finding: FindingKind; readonly message: string }
