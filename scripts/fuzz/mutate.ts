/**
 * Mutations of seed files for the fuzzers: fast-check arbitraries (byte flips, truncations,
 * insertions, deletions, extreme integers at any offset or at a seed's known header fields, NRRD
 * header lines replaced or repeated, JSON nodes replaced, files removed) and `applyCase`, which
 * turns a seed and its mutations into the files of one case. Used by scripts/fuzz/fuzz.ts.
 */
import fc from "fast-check"
import type { Case, Field, Job, Mutation, Seed } from "./types.js"

/** Integers that break careless arithmetic: 0, −1, sign and width limits, 2^53, 10^12. */
export const EXTREME_INTS: ReadonlyArray<number> = [
  0, 1, -1, 2, 3, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 32,
  2 ** 32 + 1, 2 ** 40, 2 ** 53, 2 ** 53 + 2, 1e12, -2147483648, -32768
]

const EXTREME_FLOATS: ReadonlyArray<number> = [0, -0, 1, -1, 352, 1e12, 1e30, 1e308, -1e308, NaN, Infinity, -Infinity, 1e-30, 2 ** 31]

/** Header values that break careless parsing: huge sizes, NaN text, signs, long strings. */
export const NASTY_TEXT: ReadonlyArray<string> = [
  "0", "-1", "1", "2147483647", "4294967296", "9007199254740993", "1e308", "NaN", "nan", "inf", "-inf", "", " ",
  "1000000 1000000 1000000", "1 1 1000000000000", "10000 10000 10000", "4294967296 1 1", "-5 3 3", "3 3",
  "3 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3", "1.5 2 3", "0x10 2 2", "raw", "gzip", "bzip2", "ascii", "hex", "zrl",
  "uint8", "int16", "uint32", "float", "double", "int64", "block", "big", "little", "LITTLE", "???",
  "(1,0,0) (0,1,0) (0,0,1)", "(NaN,0,0) (0,1,0) (0,0,1)", "(1,0) (0,1)", "none", "../../../../../../etc/passwd",
  "LIST", "%d 0 2 1", "x%03d.raw 0 1000000000 1", "/dev/zero", "-1 -1 -1", "2 3 2 3 2 3", "a".repeat(70000)
]

const JSON_VALUES: ReadonlyArray<unknown> = [
  0, -1, 1, 2 ** 31 - 1, 2 ** 32, 2 ** 53, 1e12, 1e308, -1e308, 0.5, null, true, "NaN", "Infinity", "", [], {},
  [1e12, 1e12, 1e12], [1, 1, 1e12], [0, 0, 0], [-1, 1, 1], [1, 1], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [1.5, 2, 2],
  [2 ** 31, 2 ** 31, 2 ** 31], ["a", "b", "c"], "<u8", "|b1", "<f2", ">i4", "|u1", "<c8", "S10", "V8", "int64", "uint8", "float16",
  "zstd", "F", "C", "/", ".", { id: "gzip", level: 99 }, { id: "blosc", cname: "nope", clevel: 5, shuffle: 1 },
  { id: "zstd", level: 3 }, { id: "lz4" }, { id: "bz2" }, [{ name: "bytes" }], [{ name: "bytes", configuration: { endian: "big" } }],
  [{ name: "transpose", configuration: { order: [2, 1, 0] } }, { name: "bytes" }],
  [{ name: "sharding_indexed", configuration: { chunk_shape: [1e6, 1e6, 1e6], codecs: [{ name: "bytes" }], index_codecs: [] } }],
  { name: "regular", configuration: { chunk_shape: [0, 0, 0] } }, { name: "regular", configuration: { chunk_shape: [1, 1, 1e9] } },
  "x".repeat(70000)
]

const fieldValues = (f: Field) => [...(f.values ?? []), ...(f.width === "f32" || f.width === "f64" ? EXTREME_FLOATS : EXTREME_INTS)]

const index = fc.nat({ max: 2 ** 31 - 1 })

/** The mutations for seeds with these capabilities (fields, text lines, JSON). */
export const mutationArb = (caps: { fields: boolean; text: boolean; json: boolean }): fc.Arbitrary<Mutation> => {
  const arbs: Array<{ arbitrary: fc.Arbitrary<Mutation>; weight: number }> = [
    { weight: 3, arbitrary: fc.record({ op: fc.constant("flip" as const), file: index, at: index, mask: fc.integer({ min: 1, max: 255 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("truncate" as const), file: index, at: index }) },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant("insert" as const), file: index, at: index, byte: fc.integer({ min: 0, max: 255 }), count: fc.integer({ min: 1, max: 4096 }) })
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("delete" as const), file: index, at: index, count: fc.integer({ min: 1, max: 64 }) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant("int" as const),
        file: index,
        at: index,
        width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
        little: fc.boolean(),
        value: fc.constantFrom(...EXTREME_INTS)
      })
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("remove" as const), file: index }) }
  ]
  if (caps.fields)
    arbs.push({ weight: 8, arbitrary: fc.record({ op: fc.constant("field" as const), field: index, value: index, own: fc.boolean() }) })
  if (caps.text) {
    arbs.push({ weight: 8, arbitrary: fc.record({ op: fc.constant("line" as const), line: index, value: fc.oneof(fc.constantFrom(...NASTY_TEXT), fc.string({ maxLength: 12 })) }) })
    arbs.push({ weight: 1, arbitrary: fc.record({ op: fc.constant("dupline" as const), line: index, times: fc.integer({ min: 1, max: 3000 }) }) })
  }
  if (caps.json)
    arbs.push({ weight: 8, arbitrary: fc.record({ op: fc.constant("json" as const), file: index, node: index, value: fc.oneof(fc.constantFrom(...JSON_VALUES), fc.integer(), fc.constant(undefined)) }) })
  return fc.oneof(...arbs)
}

/** Cases over `seeds`: a seed and 1–6 mutations. */
export const caseArb = (seeds: ReadonlyArray<Seed>): fc.Arbitrary<Case> => {
  const caps = {
    fields: seeds.some((s) => s.fields.length > 0),
    text: seeds.some((s) => (s.textFiles ?? []).length > 0),
    json: seeds.some((s) => (s.jsonFiles ?? []).length > 0)
  }
  return fc.record({ seed: fc.nat({ max: seeds.length - 1 }), mutations: fc.array(mutationArb(caps), { minLength: 1, maxLength: 6 }) })
}

const writeInt = (b: Uint8Array, at: number, width: Field["width"], little: boolean, value: number) => {
  const n = typeof width === "number" ? width : width === "f32" ? 4 : 8
  if (at < 0 || at + n > b.length) return
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength)
  if (width === "f32") return v.setFloat32(at, value, little)
  if (width === "f64") return v.setFloat64(at, value, little)
  const big = BigInt.asUintN(64, BigInt(Math.trunc(Number.isFinite(value) ? value : 0)))
  for (let i = 0; i < n; i++) b[at + (little ? i : n - 1 - i)] = Number((big >> BigInt(8 * i)) & 0xffn)
}

/** The lines of a `key: value` text header (up to its blank line), with their byte ranges. */
const headerLines = (b: Uint8Array): Array<{ start: number; end: number }> => {
  const lines: Array<{ start: number; end: number }> = []
  let start = 0
  for (let i = 0; i < b.length && lines.length < 200; i++) {
    if (b[i] !== 10) continue
    if (i === start) break
    lines.push({ start, end: i })
    start = i + 1
  }
  return lines
}

const textEncoder = new TextEncoder()

/** The paths of every node of a JSON value, in a fixed order. */
const jsonPaths = (v: unknown, path: Array<string | number> = [], out: Array<Array<string | number>> = []) => {
  out.push(path)
  if (Array.isArray(v)) v.forEach((x, i) => jsonPaths(x, [...path, i], out))
  else if (v !== null && typeof v === "object") for (const k of Object.keys(v)) jsonPaths((v as Record<string, unknown>)[k], [...path, k], out)
  return out
}

const replaceJson = (root: unknown, path: ReadonlyArray<string | number>, value: unknown): unknown => {
  if (path.length === 0) return value
  const parent = path.slice(0, -1).reduce((o: any, k) => o[k], root) as Record<string | number, unknown>
  const key = path[path.length - 1]!
  if (value === undefined && !Array.isArray(parent)) delete parent[key]
  else parent[key] = value
  return root
}

/** The files of one case: the seed's files with the mutations applied in order. */
export const applyCase = (seed: Seed, c: Case): Job => {
  const files: Record<string, Uint8Array> = {}
  for (const [k, v] of Object.entries(seed.files)) files[k] = Uint8Array.from(v)
  const names = () => Object.keys(files).sort()
  for (const m of c.mutations) {
    const keys = names()
    if (keys.length === 0) break
    const pick = (i: number) => keys[i % keys.length]!
    switch (m.op) {
      case "flip": {
        const b = files[pick(m.file)]!
        if (b.length > 0) b[m.at % b.length] ^= m.mask
        break
      }
      case "truncate": {
        const k = pick(m.file)
        files[k] = files[k]!.slice(0, m.at % (files[k]!.length + 1))
        break
      }
      case "insert": {
        const k = pick(m.file)
        const b = files[k]!
        const at = m.at % (b.length + 1)
        const out = new Uint8Array(b.length + m.count)
        out.set(b.subarray(0, at))
        out.fill(m.byte, at, at + m.count)
        out.set(b.subarray(at), at + m.count)
        files[k] = out
        break
      }
      case "delete": {
        const k = pick(m.file)
        const b = files[k]!
        const at = m.at % (b.length + 1)
        files[k] = Uint8Array.from([...b.subarray(0, at), ...b.subarray(Math.min(b.length, at + m.count))])
        break
      }
      case "int": {
        const b = files[pick(m.file)]!
        if (b.length > 0) writeInt(b, m.at % b.length, m.width, m.little, m.value)
        break
      }
      case "field": {
        if (seed.fields.length === 0) break
        const f = seed.fields[m.field % seed.fields.length]!
        const values = fieldValues(f)
        const b = files[f.file]
        if (b !== undefined) writeInt(b, f.offset, f.width, f.little, values[m.value % values.length]!)
        break
      }
      case "line":
      case "dupline": {
        const textFiles = (seed.textFiles ?? []).filter((k) => files[k] !== undefined)
        if (textFiles.length === 0) break
        const k = textFiles[m.line % textFiles.length]!
        const b = files[k]!
        const lines = headerLines(b)
        if (lines.length === 0) break
        const { start, end } = lines[Math.floor(m.line / textFiles.length) % lines.length]!
        const line = new TextDecoder().decode(b.subarray(start, end))
        const colon = line.indexOf(":")
        const replaced =
          m.op === "line"
            ? textEncoder.encode(colon < 0 ? m.value : `${line.slice(0, colon + (line[colon + 1] === "=" ? 2 : 1))} ${m.value}`)
            : textEncoder.encode(Array.from({ length: m.times + 1 }, () => line).join("\n"))
        files[k] = Uint8Array.from([...b.subarray(0, start), ...replaced, ...b.subarray(end)])
        break
      }
      case "json": {
        const jsonFiles = (seed.jsonFiles ?? []).filter((k) => files[k] !== undefined)
        if (jsonFiles.length === 0) break
        const k = jsonFiles[m.file % jsonFiles.length]!
        let root: unknown
        try {
          root = JSON.parse(new TextDecoder().decode(files[k]!))
        } catch {
          break
        }
        const paths = jsonPaths(root)
        files[k] = textEncoder.encode(JSON.stringify(replaceJson(root, paths[m.node % paths.length]!, structuredClone(m.value))) ?? "")
        break
      }
      case "remove": {
        if (keys.length > 1) delete files[pick(m.file)]
        break
      }
    }
  }
  const finished = seed.finish ? seed.finish(files) : files
  return { files: Object.entries(finished), entry: seed.entry }
}
