/**
 * JSON for the values a reduction gives (numbers, plain objects and arrays of them, typed arrays):
 * what a resumable run's journal stores of a finished pass's scalars, so that a resumed run need
 * not fold its input again. `encodeValue` gives undefined for anything else (a class instance, a
 * function, a bigint), which the caller then does not store. Numbers survive exactly (NaN, ±∞ and
 * −0 too); typed arrays as base64 of their bytes, in this machine's byte order.
 *
 * @example
 * ```ts
 * const j = encodeValue({ min: 0, max: 255, counts: new Float64Array([1, 2]) })
 * decodeValue(JSON.parse(JSON.stringify(j)))   // { min: 0, max: 255, counts: Float64Array [1, 2] }
 * ```
 */

const TYPED = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array
} as const
type TypedName = keyof typeof TYPED

const typedName = (v: unknown): TypedName | undefined => {
  for (const name of Object.keys(TYPED) as Array<TypedName>) if (v instanceof TYPED[name] && v.constructor === TYPED[name]) return name
  return undefined
}

/**
 * `value` as JSON-able data, or undefined when it holds something this cannot encode. With
 * `blobs`, typed arrays are not put in the JSON as base64 but pushed on `blobs` (as views of their
 * bytes, not copies) and named by their index: what a binary file of large state stores.
 */
export const encodeValue = (value: unknown, blobs?: Array<Uint8Array>): unknown => {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value
  if (typeof value === "number") {
    return Number.isFinite(value) && !Object.is(value, -0) ? value : { $number: Object.is(value, -0) ? "-0" : String(value) }
  }
  if (Array.isArray(value)) {
    const out: Array<unknown> = []
    for (const v of value) {
      const e = encodeValue(v, blobs)
      if (e === undefined) return undefined
      out.push(e)
    }
    return out
  }
  const typed = typedName(value)
  if (typed !== undefined) {
    const a = value as ArrayBufferView
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
    if (blobs === undefined) return { $typed: typed, base64: Buffer.from(bytes).toString("base64") }
    blobs.push(bytes)
    return { $typed: typed, blob: blobs.length - 1 }
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k.startsWith("$")) return undefined
      const e = encodeValue(v, blobs)
      if (e === undefined) return undefined
      out[k] = e
    }
    return out
  }
  return undefined
}

/** The value `encodeValue` encoded (after a JSON round trip), with the `blobs` it was given. */
export const decodeValue = (json: unknown, blobs?: ReadonlyArray<Uint8Array>): unknown => {
  if (json === null || typeof json !== "object") return json
  if (Array.isArray(json)) return json.map((v) => decodeValue(v, blobs))
  const o = json as Record<string, unknown>
  if (typeof o.$number === "string") return o.$number === "-0" ? -0 : Number(o.$number)
  if (typeof o.$typed === "string" && Object.hasOwn(TYPED, o.$typed)) {
    const bytes = typeof o.base64 === "string" ? Buffer.from(o.base64, "base64") : blobs?.[o.blob as number]
    if (bytes === undefined) throw new RangeError(`a typed array's bytes are missing (blob ${String(o.blob)})`)
    const Ctor = TYPED[o.$typed as TypedName]
    if (bytes.length % Ctor.BYTES_PER_ELEMENT !== 0) throw new RangeError(`${bytes.length} bytes are not a whole ${o.$typed}`)
    const copy = new Uint8Array(bytes.length)
    copy.set(bytes)
    return new Ctor(copy.buffer, 0, bytes.length / Ctor.BYTES_PER_ELEMENT)
  }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(o)) out[k] = decodeValue(v, blobs)
  return out
}
