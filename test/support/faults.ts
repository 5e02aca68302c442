/** Helpers for tests of what a run leaves behind when it fails or is interrupted. */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import type { DType } from "../../src/algebra/dtype.js"
import type { IoError } from "../../src/algebra/io-errors.js"
import type { SliceSource } from "../../src/algebra/slices.js"

/** Open file descriptors of this process (Linux). */
export const openFdCount = (): number => fs.readdirSync("/proc/self/fd").length

/** A source that behaves like `inner` but, at slice `at`, runs `onRead` instead of reading. */
export const trapRead = <D extends DType>(inner: SliceSource<D>, at: number, onRead: Effect.Effect<void, IoError>): SliceSource<D> => ({
  ...inner,
  open: Effect.map(inner.open, (reader) => ({
    ...reader,
    read: (z, into) => (z === at ? onRead : reader.read(z, into))
  }))
})
