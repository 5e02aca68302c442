/**
 * The cheap identity of an input, for the journal of a resumable run: its size, its modification
 * time and a checksum of its first 64 KiB (for a directory, a TIFF stack: its entries' names,
 * sizes and times, and its first file's head). A resumed run compares it with the journal's and
 * refuses to continue over an input that changed. Cheap by design: it reads 64 KiB, not the volume;
 * an edit that keeps size, time and head escapes it (docs/RESUME.md).
 *
 * @example
 * ```ts
 * const id = fileIdentity("scan.nrrd")   // { path: "scan.nrrd", size: 16777512, mtimeMs: 1.7e12, head: 2873105342 }
 * identityChange(id, fileIdentity("scan.nrrd"))   // undefined: unchanged
 * ```
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import { fileError, type FileError } from "../algebra/io-errors.js"
import { sliceChecksum } from "./checksum.js"

/** What a journal records of an input. */
export interface InputIdentity {
  readonly path: string
  readonly size: number
  readonly mtimeMs: number
  /** CRC-32 of the first 64 KiB (of a directory: of its listing, then of its first file's head). */
  readonly head: number
}

const HEAD_BYTES = 64 * 1024

const headOf = (file: string): Uint8Array => {
  const fd = fs.openSync(file, "r")
  try {
    const buffer = new Uint8Array(HEAD_BYTES)
    const n = fs.readSync(fd, buffer, 0, HEAD_BYTES, 0)
    return buffer.subarray(0, n)
  } finally {
    fs.closeSync(fd)
  }
}

const identityNow = (path: string): InputIdentity => {
  const stat = fs.statSync(path)
  if (!stat.isDirectory()) return { path, size: stat.size, mtimeMs: stat.mtimeMs, head: sliceChecksum(headOf(path)) }
  const names = fs.readdirSync(path).sort()
  let size = 0
  let mtimeMs = stat.mtimeMs
  const listing: Array<string> = []
  for (const name of names) {
    const s = fs.statSync(nodePath.join(path, name))
    size += s.size
    mtimeMs = Math.max(mtimeMs, s.mtimeMs)
    listing.push(`${name} ${s.size} ${s.mtimeMs}`)
  }
  const first = names.find((n) => fs.statSync(nodePath.join(path, n)).isFile())
  const head = first === undefined ? new Uint8Array(0) : headOf(nodePath.join(path, first))
  const text = Buffer.from(listing.join("\n"))
  return { path, size, mtimeMs, head: (sliceChecksum(text) ^ sliceChecksum(head)) >>> 0 }
}

/**
 * The identity of the file or directory at `path`. A failure is a FileError "stat".
 *
 * @example
 * ```ts
 * const id = yield* fileIdentity("scan.nrrd")
 * ```
 */
export const fileIdentity = (path: string): Effect.Effect<InputIdentity, FileError> =>
  Effect.try({ try: () => identityNow(path), catch: (e) => fileError(path, "stat", e) })

/**
 * How `now` differs from `before` (the journal's), as a phrase; undefined when it does not.
 *
 * @example
 * ```ts
 * identityChange(before, now)   // "in.nrrd changed since the interrupted run (size 1000 → 1200)"
 * ```
 */
export const identityChange = (before: InputIdentity, now: InputIdentity): string | undefined => {
  const what =
    before.size !== now.size
      ? `size ${before.size} → ${now.size}`
      : before.mtimeMs !== now.mtimeMs
        ? `modified ${new Date(before.mtimeMs).toISOString()} → ${new Date(now.mtimeMs).toISOString()}`
        : before.head !== now.head
          ? "its first bytes differ"
          : undefined
  return what === undefined ? undefined : `${now.path} changed since the interrupted run (${what})`
}
