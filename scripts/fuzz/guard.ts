/**
 * An allocation guard for the fuzz executor: replaces the global ArrayBuffer and typed-array
 * constructors and Buffer's allocators by checking wrappers, so that any single allocation above a
 * limit throws before it happens and is remembered (the library may catch the throw and turn it
 * into a typed error; the memory would still have been asked for, so the case is a finding).
 * Install it before the library is imported (modules that keep `Uint8Array` in a variable at load,
 * as fflate does, then keep the wrapper). Used by scripts/fuzz/execute.ts.
 */

export interface Tripped {
  readonly bytes: number
  readonly stack: string
}

let limit = Number.POSITIVE_INFINITY
let tripped: Tripped | undefined

/** The first over-limit allocation since the last `resetGuard`, if any. */
export const guardTripped = (): Tripped | undefined => tripped

export const resetGuard = (): void => {
  tripped = undefined
}

const check = (bytes: number): void => {
  if (!(bytes > limit)) return
  const error = new RangeError(`fuzz guard: an allocation of ${bytes} bytes (limit ${limit})`)
  tripped ??= { bytes, stack: error.stack ?? error.message }
  throw error
}

/** Bytes a typed-array constructor call asks for: a length, or an array-like's length; a view of a buffer asks for none. */
const requested = (bytesPerElement: number, arg: unknown): number => {
  if (typeof arg === "number") return arg * bytesPerElement
  if (arg !== null && typeof arg === "object" && !(arg instanceof ArrayBuffer) && !(arg instanceof SharedArrayBuffer)) {
    const length = (arg as { length?: unknown }).length
    return typeof length === "number" ? length * bytesPerElement : 0
  }
  return 0
}

const TYPED = [
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
  "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"
] as const

/** Installs the guard once; later calls only change the limit. */
export const installGuard = (limitBytes: number): void => {
  const first = limit === Number.POSITIVE_INFINITY
  limit = limitBytes
  if (!first) return
  const g = globalThis as unknown as Record<string, unknown>
  for (const name of TYPED) {
    const C = g[name] as { BYTES_PER_ELEMENT: number } & (new (...a: Array<unknown>) => unknown)
    g[name] = new Proxy(C, {
      construct(target, args, newTarget) {
        check(requested(C.BYTES_PER_ELEMENT, args[0]))
        return Reflect.construct(target, args, newTarget)
      }
    })
  }
  for (const name of ["ArrayBuffer", "SharedArrayBuffer"] as const) {
    const C = g[name] as new (...a: Array<unknown>) => unknown
    g[name] = new Proxy(C, {
      construct(target, args, newTarget) {
        check(typeof args[0] === "number" ? args[0] : 0)
        return Reflect.construct(target, args, newTarget)
      }
    })
  }
  for (const name of ["alloc", "allocUnsafe", "allocUnsafeSlow"] as const) {
    const original = Buffer[name] as (...a: Array<unknown>) => Buffer
    ;(Buffer as unknown as Record<string, unknown>)[name] = (size: number, ...rest: Array<unknown>) => {
      check(size)
      return original.call(Buffer, size, ...rest)
    }
  }
}
