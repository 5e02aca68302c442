/**
 * The side files of a resumable run's journal that hold the state of a pass at a checkpoint
 * (docs/RESUME.md): its sweeps' and folds' state and the slices its stateful stages hold in their
 * rings, too large for the JSON journal. Two files, `<journal>.state-0` and `<journal>.state-1`,
 * written in turn: a checkpoint writes and fsyncs one, then the journal that names it (with its
 * length and CRC-32), so the file the last journal names is never the one being written.
 *
 * A file is the bytes `SWSTATE1`, the header's length (uint32, little-endian), the header (JSON:
 * the value as util/json-value.ts encodes it with blobs, and each blob's length), then the blobs.
 *
 * @example
 * ```ts
 * const saved = yield* writeStateFile(stateFileName(journal, 1), { tick: 40, rings: [] })
 * const value = yield* readStateFile(saved.file, saved)   // undefined: gone, or not what was written
 * ```
 */
import * as fs from "node:fs"
import * as zlib from "node:zlib"
import * as Effect from "effect/Effect"
import { fileError, type FileError } from "../algebra/io-errors.js"
import { decodeValue, encodeValue } from "../util/json-value.js"
import { removeSuffixed } from "./atomic.js"

const MAGIC = Buffer.from("SWSTATE1", "latin1")

/** A state file as the journal names it. */
export interface SavedState {
  readonly file: string
  readonly bytes: number
  readonly crc: number
}

/** State file `k` (0 or 1) of the journal at `journal`. */
export const stateFileName = (journal: string, k: number): string => `${journal}.state-${k}`

/** The side file of the journal at `journal` that holds the value of reduce node `node`. */
export const scalarFileName = (journal: string, node: number): string => `${journal}.state-scalar-${node}`

/**
 * Writes `value` (which util/json-value.ts must be able to encode) to `file` and fsyncs it. A
 * failure (a full disk) is a FileError "write" naming the file.
 */
export const writeStateFile = (file: string, value: unknown): Effect.Effect<SavedState, FileError> =>
  Effect.try({
    try: () => {
      const blobs: Array<Uint8Array> = []
      const json = encodeValue(value, blobs)
      if (json === undefined) throw new TypeError("internal: a checkpoint state holds a value that cannot be encoded")
      const header = Buffer.from(JSON.stringify({ value: json, blobs: blobs.map((b) => b.byteLength) }), "utf8")
      const length = Buffer.alloc(4)
      length.writeUInt32LE(header.length)
      const parts = [MAGIC, length, header, ...blobs]
      const fd = fs.openSync(file, "w")
      let crc = 0
      let bytes = 0
      try {
        for (const part of parts) {
          fs.writeSync(fd, part)
          crc = zlib.crc32(part, crc)
          bytes += part.byteLength
        }
        fs.fsyncSync(fd)
      } finally {
        fs.closeSync(fd)
      }
      return { file, bytes, crc: crc >>> 0 }
    },
    catch: (e) => fileError(file, "write", e)
  })

/**
 * The value in the state file `expected` names, or undefined when the file is gone, or its length
 * or CRC-32 is not what the journal recorded (a run killed while writing it; the caller then
 * restarts the pass from its start).
 */
export const readStateFile = (file: string, expected: Pick<SavedState, "bytes" | "crc">): Effect.Effect<unknown> =>
  Effect.sync(() => {
    let data: Buffer
    try {
      data = fs.readFileSync(file)
    } catch {
      return undefined
    }
    if (data.length !== expected.bytes || zlib.crc32(data) >>> 0 !== expected.crc || !data.subarray(0, 8).equals(MAGIC)) return undefined
    const headerLength = data.readUInt32LE(8)
    const header = JSON.parse(data.subarray(12, 12 + headerLength).toString("utf8")) as { value: unknown; blobs: Array<number> }
    const blobs: Array<Uint8Array> = []
    let at = 12 + headerLength
    for (const n of header.blobs) {
      blobs.push(data.subarray(at, at + n))
      at += n
    }
    return decodeValue(header.value, blobs)
  })

/** Removes every side file of the journal at `journal` (`<journal>.state-…`); none is not an error. */
export const removeStateFiles = (journal: string): void => removeSuffixed(journal, ".state-")
