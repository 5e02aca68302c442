/**
 * The log of a resumable Zarr writer (docs/RESUME.md): at each checkpoint, the slices of its
 * unfinished chunk-rows and its pyramid's waiting slices that are not in the log yet are appended
 * raw (no chunk is encoded twice), then the log is flushed. A resumed writer reads them back from
 * it; complete rows are in the store's chunks. A record is its level, z and byte length (uint32,
 * little-endian), then the bytes; a record cut short by a kill ends the log.
 *
 * @example
 * ```ts
 * const log = openRowLog(`${temp}-rows`, false)
 * log.append(0, 17, sliceBytes)
 * log.sync()
 * openRowLog(`${temp}-rows`, true).read().get(rowLogKey(0, 17))   // the slice's bytes
 * ```
 */
import * as fs from "node:fs"

/** The key of a record: its level and z. */
export const rowLogKey = (level: number, z: number): string => `${level}:${z}`

export interface RowLog {
  readonly path: string
  /** Bytes in the log. */
  readonly size: () => number
  /** Appends a record; returns where its bytes start in the log. */
  append(level: number, z: number, bytes: Uint8Array): number
  /** `length` bytes of the log at `offset` (a record's, as `append` said). */
  readAt(offset: number, length: number): Uint8Array
  /** Flushes what was appended to stable storage. */
  sync(): void
  /** Every whole record, by key (a later record of a key replaces an earlier one). */
  read(): Map<string, Uint8Array>
  /**
   * Replaces the log by one holding `entries` only, durably (written, flushed, renamed over it);
   * returns where each entry's bytes start in it.
   */
  rewrite(entries: ReadonlyMap<string, Uint8Array>): Map<string, number>
  close(): void
}

const HEADER = 12

/** Opens the log at `path`: a new one, or (`reuse`) an interrupted run's, cut after its last whole record. */
export const openRowLog = (path: string, reuse: boolean): RowLog => {
  let fd = fs.openSync(path, reuse && fs.existsSync(path) ? "r+" : "w+")
  const parse = (): { entries: Map<string, Uint8Array>; end: number } => {
    const data = fs.readFileSync(path)
    const entries = new Map<string, Uint8Array>()
    let at = 0
    while (at + HEADER <= data.length) {
      const level = data.readUInt32LE(at)
      const z = data.readUInt32LE(at + 4)
      const n = data.readUInt32LE(at + 8)
      if (at + HEADER + n > data.length) break
      entries.set(rowLogKey(level, z), data.subarray(at + HEADER, at + HEADER + n))
      at += HEADER + n
    }
    return { entries, end: at }
  }
  let size = reuse ? parse().end : 0
  if (reuse) fs.ftruncateSync(fd, size)
  const record = (level: number, z: number, bytes: Uint8Array) => {
    const header = Buffer.alloc(HEADER)
    header.writeUInt32LE(level, 0)
    header.writeUInt32LE(z, 4)
    header.writeUInt32LE(bytes.byteLength, 8)
    return [header, bytes] as const
  }
  return {
    path,
    size: () => size,
    append: (level, z, bytes) => {
      for (const part of record(level, z, bytes)) {
        fs.writeSync(fd, part, 0, part.byteLength, size)
        size += part.byteLength
      }
      return size - bytes.byteLength
    },
    readAt: (offset, length) => {
      const out = new Uint8Array(length)
      fs.readSync(fd, out, 0, length, offset)
      return out
    },
    sync: () => fs.fdatasyncSync(fd),
    read: () => parse().entries,
    rewrite: (entries) => {
      const draft = `${path}.new`
      const out = fs.openSync(draft, "w")
      const offsets = new Map<string, number>()
      let n = 0
      try {
        for (const [key, bytes] of entries) {
          const [level, z] = key.split(":").map(Number) as [number, number]
          for (const part of record(level, z, bytes)) {
            fs.writeSync(out, part, 0, part.byteLength, n)
            n += part.byteLength
          }
          offsets.set(key, n - bytes.byteLength)
        }
        fs.fdatasyncSync(out)
      } finally {
        fs.closeSync(out)
      }
      fs.renameSync(draft, path)
      fs.closeSync(fd)
      fd = fs.openSync(path, "r+")
      size = n
      return offsets
    },
    close: () => fs.closeSync(fd)
  }
}
