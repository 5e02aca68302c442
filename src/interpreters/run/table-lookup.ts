/**
 * `lookup(table, x)` of uint32 voxels in a uint32 table — label's provisional labels to its final
 * ones — as a WebAssembly loop (table-lookup.wat): the table is copied once into the memory of an
 * instance of its own, and the voxels go through it a chunk at a time, copies included a little
 * faster than the generated JavaScript loop (2.3–2.4 against 2.6 ns a voxel here, noisy:
 * bench/table-lookup.ts).
 *
 * Tables of more than 2²² entries (16 MiB) keep the JavaScript loop: their copy would be memory
 * that the plan does not count.
 *
 * @example
 * ```ts
 * if (!lookupUint32(out, provisional, provisional.length, table)) jsLoop(out, provisional, table)
 * ```
 */
import { compiledOnce, instantiate } from "../../ops/internal/wasm.js"
import { TABLE_LOOKUP_WASM } from "./table-lookup-wasm.js"

type LookupExport = (input: number, out: number, n: number, padded: number, entries: number) => void

/** Voxels a call looks up: its input and output regions, 64 KiB each. */
const CHUNK = 16384
/** The largest table copied. */
const MAX_ENTRIES = 2 ** 22

const tableLookupModule = compiledOnce(TABLE_LOOKUP_WASM)

interface Instance {
  readonly input: Uint32Array
  readonly output: Uint32Array
  readonly run: (n: number) => void
}

/** An instance per table, for as long as the table lives (a pass's lookups share one). */
const instances = new WeakMap<Uint32Array, Instance | null>()

const instanceFor = (table: Uint32Array): Instance | null => {
  let made = instances.get(table)
  if (made !== undefined) return made
  const module = tableLookupModule()
  if (module === null || table.length > MAX_ENTRIES) made = null
  else {
    // [input chunk][output chunk][0][table]
    const paddedAt = 8 * CHUNK
    const { buffer, exports } = instantiate(module, paddedAt + 4 * (table.length + 1))
    new Uint32Array(buffer, paddedAt + 4, table.length).set(table)
    const lookup = exports.lookup_u32 as LookupExport
    const entries = table.length
    made = {
      input: new Uint32Array(buffer, 0, CHUNK),
      output: new Uint32Array(buffer, 4 * CHUNK, CHUNK),
      run: (n) => lookup(0, 4 * CHUNK, n, paddedAt, entries)
    }
  }
  instances.set(table, made)
  return made
}

/**
 * out[i] = table[input[i]] (0 past the table) for i < length, as WebAssembly; false (nothing done)
 * where it is missing or the table too large. The table must not change while it is in use.
 */
export const lookupUint32 = (out: Uint32Array, input: Uint32Array, length: number, table: Uint32Array): boolean => {
  const instance = instanceFor(table)
  if (instance === null) return false
  const { input: chunkIn, output: chunkOut, run } = instance
  for (let c = 0; c < length; c += CHUNK) {
    const n = Math.min(CHUNK, length - c)
    chunkIn.set(input.subarray(c, c + n))
    run(n)
    out.set(n === CHUNK ? chunkOut : chunkOut.subarray(0, n), c)
  }
  return true
}
