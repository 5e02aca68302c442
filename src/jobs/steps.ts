/**
 * The steps of a pipeline, as `slicewise run` and a run job write them: `name` or
 * `name:key=value,key=value`, parsed into typed steps and applied to a volume with the op library.
 * Each step is described once, in SPECS: its help, its keys and the op it applies. Unknown names and keys, values that are not numbers, negative
 * radii and sizes below 1 are refused with a StepError that names the step, the bad key or value
 * and what is valid.
 *
 * Per-axis values are written z/y/x: `gaussian:sigma=0.5/2/2`, `uniform:size=1/5/5`.
 *
 * @example
 * ```ts
 * const steps = [parseStep("median:radius=1"), parseStep("threshold:min=100")]
 * const program: Program = (alg) => {
 *   let v = alg.source(src)
 *   for (const s of steps) v = applyStep(alg, v, s)
 *   return { out: alg.write(v, sink) }
 * }
 * ```
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { Algebra, Repr, Volume } from "../algebra/algebra.js"
import { BOUNDARY_MODES, isBoundaryMode, type BoundaryMode } from "../algebra/boundary.js"
import { DTYPES, isDType, type DType } from "../algebra/dtype.js"
import { dilate, erode, FOOTPRINTS, type Footprint } from "../ops/binary.js"
import { gaussian, type PerAxis } from "../ops/gaussian.js"
import { erase } from "../ops/internal/volume.js"
import { edt } from "../ops/edt.js"
import { label, type Connectivity } from "../ops/label.js"
import { median } from "../ops/median.js"
import { otsu } from "../ops/otsu.js"
import { greyDilate, greyErode } from "../ops/morphology.js"
import { cast, threshold } from "../ops/pointwise.js"
import { uniform } from "../ops/uniform.js"

/** A step that cannot be used, with what would fix it. */
export class StepError extends Data.TaggedError("StepError")<{
  /** The step as written. */
  readonly step: string
  /** What is wrong. */
  readonly detail: string
  /** What is valid there (keys, names or values), when there is a list. */
  readonly valid?: ReadonlyArray<string>
}> {
  override get message(): string {
    const valid = this.valid !== undefined && this.valid.length > 0 ? ` (valid: ${this.valid.join(", ")})` : ""
    return `step "${this.step}": ${this.detail}${valid}`
  }
}

/** How a key's value is read and checked, and the type it becomes. */
interface KindValue {
  readonly number: number
  readonly nonNegative: number
  readonly radius: number
  readonly size: PerAxis
  readonly sigma: PerAxis
  readonly dtype: DType
  readonly mode: BoundaryMode
  readonly footprint: Footprint
  readonly spacing: PerAxis | "volume"
  readonly floatDtype: "float32" | "float64"
  readonly connectivity: Connectivity
}
type Kind = keyof KindValue

interface KeySpec<K extends Kind = Kind> {
  readonly kind: K
  /** How --help writes the value. */
  readonly placeholder: string
  /** undefined: required. */
  readonly default?: string
  readonly optional?: true
  readonly doc: string
}

type Keys = Readonly<Record<string, KeySpec>>

/** The typed values of a step's keys: optional keys may be absent, the others are always there. */
type ValuesOf<K extends Keys> = {
  readonly [k in keyof K as K[k] extends { readonly optional: true } ? never : k]: KindValue[K[k]["kind"]]
} & {
  readonly [k in keyof K as K[k] extends { readonly optional: true } ? k : never]?: KindValue[K[k]["kind"]]
}

/** Everything about one step: its help text, its keys, and the op it applies. */
interface StepSpec<K extends Keys> {
  readonly doc: string
  readonly keys: K
  readonly apply: <F extends Repr>(alg: Algebra<F>, volume: Volume<F, DType>, values: ValuesOf<K>) => Volume<F, DType>
}

const step = <const K extends Keys>(spec: StepSpec<K>): StepSpec<K> => spec

const MODE = { kind: "mode", placeholder: "M", default: "reflect", doc: "boundary" } as const
const CVAL = { kind: "number", placeholder: "C", default: "0", doc: "value outside for mode=constant" } as const
const RADIUS = { kind: "radius", placeholder: "R", doc: "radius" } as const
const FOOTPRINT = { kind: "footprint", placeholder: "ball|cube", default: "ball", doc: "structuring element" } as const

const SPECS = {
  copy: step({ doc: "the input unchanged", keys: {}, apply: (_alg, v) => v }),
  cast: step({
    doc: "store as another dtype (truncate toward zero, saturate)",
    keys: { dtype: { kind: "dtype", placeholder: "DTYPE", doc: "output dtype" } },
    apply: (alg, v, s) => erase(cast(alg, v, s.dtype))
  }),
  threshold: step({
    doc: "uint8 mask: 1 where T ≤ v (≤ U), bounds inclusive",
    keys: {
      min: { kind: "number", placeholder: "T", doc: "lowest value kept" },
      max: { kind: "number", placeholder: "U", optional: true, doc: "highest value kept" }
    },
    apply: (alg, v, s) => erase(threshold(alg, v, s))
  }),
  uniform: step({
    doc: "box mean (scipy uniform_filter)",
    keys: { size: { kind: "size", placeholder: "K", doc: "box size K or kz/ky/kx" }, mode: MODE, cval: CVAL },
    apply: (alg, v, s) => erase(uniform(alg, v, s))
  }),
  gaussian: step({
    doc: "Gaussian smoothing (scipy gaussian_filter)",
    keys: {
      sigma: { kind: "sigma", placeholder: "S", doc: "σ in voxels, or σz/σy/σx" },
      truncate: { kind: "nonNegative", placeholder: "4", default: "4", doc: "radius in σ" },
      mode: MODE,
      cval: CVAL
    },
    apply: (alg, v, s) => erase(gaussian(alg, v, s))
  }),
  median: step({
    doc: "median of a (2R+1)³ cube (scipy median_filter)",
    keys: { radius: RADIUS, mode: MODE, cval: CVAL },
    apply: (alg, v, s) => erase(median(alg, v, s))
  }),
  dilate: step({
    doc: "binary dilation → uint8 0/1 (non-zero is foreground)",
    keys: { radius: RADIUS, footprint: FOOTPRINT },
    apply: (alg, v, s) => erase(dilate(alg, v, s))
  }),
  erode: step({
    doc: "binary erosion → uint8 0/1 (outside is background)",
    keys: { radius: RADIUS, footprint: FOOTPRINT },
    apply: (alg, v, s) => erase(erode(alg, v, s))
  }),
  "grey-dilate": step({
    doc: "maximum of a (2R+1)³ cube (scipy grey_dilation)",
    keys: { radius: RADIUS, mode: MODE, cval: CVAL },
    apply: (alg, v, s) => erase(greyDilate(alg, v, s))
  }),
  "grey-erode": step({
    doc: "minimum of a (2R+1)³ cube (scipy grey_erosion)",
    keys: { radius: RADIUS, mode: MODE, cval: CVAL },
    apply: (alg, v, s) => erase(greyErode(alg, v, s))
  }),
  edt: step({
    doc: "distance of non-zero voxels to the nearest zero (scipy distance_transform_edt)",
    keys: {
      spacing: { kind: "spacing", placeholder: "S", default: "1", doc: "voxel size S, sz/sy/sx, or volume" },
      dtype: { kind: "floatDtype", placeholder: "float32|float64", default: "float32", doc: "output dtype" }
    },
    apply: (alg, v, s) => erase(edt(alg, v, s))
  }),
  label: step({
    doc: "connected components of non-zero voxels → uint32 (scipy label)",
    keys: { connectivity: { kind: "connectivity", placeholder: "6|18|26", default: "6", doc: "neighbours that connect" } },
    apply: (alg, v, s) => erase(label(alg, v, s))
  }),
  otsu: step({ doc: "uint8 mask: 1 where v > Otsu's threshold (skimage threshold_otsu)", keys: {}, apply: (alg, v) => erase(otsu(alg, v)) })
}

type Specs = typeof SPECS

/** A parsed step: its name as `_tag` and every key's typed value (defaults filled in). */
export type Step = { readonly [N in keyof Specs]: { readonly _tag: N } & ValuesOf<Specs[N]["keys"]> }[keyof Specs]

export type StepName = Step["_tag"]

export const STEP_NAMES = Object.keys(SPECS) as ReadonlyArray<StepName>

const isStepName = (s: string): s is StepName => Object.prototype.hasOwnProperty.call(SPECS, s)

/** A step's spec with its keys untyped, for the code that walks any step's keys. */
const specOf = (name: StepName): StepSpec<Keys> => SPECS[name] as unknown as StepSpec<Keys>

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

/**
 * Upper bounds that keep a typo from asking for terabytes of scratch (a median's window of
 * (2R+1)³ values, a Gaussian of 8σ + 1 taps); far beyond what slice streaming is for.
 */
const MAX_RADIUS = 1024
const MAX_SIZE = 2 * MAX_RADIUS + 1
const MAX_SIGMA = 1024

const KIND_TEXT: Record<Kind, string> = {
  number: "a number",
  nonNegative: "a number ≥ 0",
  radius: `an integer from 0 to ${MAX_RADIUS}`,
  size: `an integer from 1 to ${MAX_SIZE}, or three as kz/ky/kx`,
  sigma: `a number from 0 to ${MAX_SIGMA}, or three as σz/σy/σx`,
  dtype: `one of ${DTYPES.join(", ")}`,
  mode: `one of ${BOUNDARY_MODES.join(", ")}`,
  footprint: `one of ${FOOTPRINTS.join(", ")}`,
  spacing: "a number > 0, three as sz/sy/sx, or volume",
  floatDtype: "float32 or float64",
  connectivity: "6, 18 or 26"
}

/** The value of one key, checked; a string describing the problem when it is not valid. */
const readValue = (kind: Kind, text: string): number | PerAxis | string | { readonly bad: string } => {
  const num = (t: string): number | undefined => (DECIMAL.test(t) ? Number(t) : undefined)
  const bad = { bad: `must be ${KIND_TEXT[kind]}` }
  switch (kind) {
    case "number": {
      const v = num(text)
      return v === undefined || !Number.isFinite(v) ? bad : v
    }
    case "nonNegative": {
      const v = num(text)
      return v === undefined || !Number.isFinite(v) || v < 0 ? bad : v
    }
    case "radius": {
      const v = num(text)
      return v === undefined || !Number.isSafeInteger(v) || v < 0 || v > MAX_RADIUS ? bad : v
    }
    case "size":
    case "sigma": {
      const parts = text.split("/")
      if (parts.length !== 1 && parts.length !== 3) return bad
      const values: Array<number> = []
      for (const p of parts) {
        const v = num(p)
        const ok =
          v !== undefined &&
          Number.isFinite(v) &&
          (kind === "size" ? Number.isSafeInteger(v) && v >= 1 && v <= MAX_SIZE : v >= 0 && v <= MAX_SIGMA)
        if (!ok) return bad
        values.push(v)
      }
      return values.length === 1 ? values[0]! : [values[0]!, values[1]!, values[2]!]
    }
    case "dtype":
      return isDType(text) ? text : bad
    case "mode":
      return isBoundaryMode(text) ? text : bad
    case "footprint":
      return (FOOTPRINTS as ReadonlyArray<string>).includes(text) ? text : bad
    case "spacing": {
      if (text === "volume") return text
      const parts = text.split("/").map(num)
      if ((parts.length !== 1 && parts.length !== 3) || parts.some((v) => v === undefined || !Number.isFinite(v) || v <= 0)) return bad
      const v = parts as Array<number>
      return v.length === 1 ? v[0]! : [v[0]!, v[1]!, v[2]!]
    }
    case "floatDtype":
      return text === "float32" || text === "float64" ? text : bad
    case "connectivity":
      return text === "6" || text === "18" || text === "26" ? Number(text) : bad
  }
}

/**
 * Parses one step, or says exactly what is wrong with it.
 *
 * @example
 * ```ts
 * parseStepEither("gaussian:sigma=1.5")   // Right({ _tag: "gaussian", sigma: 1.5, truncate: 4, … })
 * parseStepEither("median:radius=-1")     // Left(StepError: step "median:radius=-1": radius=-1 must be an integer ≥ 0)
 * ```
 */
export const parseStepEither = (text: string): Either.Either<Step, StepError> => {
  const fail = (detail: string, valid?: ReadonlyArray<string>) =>
    Either.left(new StepError({ step: text, detail, ...(valid === undefined ? {} : { valid }) }))
  const trimmed = text.trim()
  const colon = trimmed.indexOf(":")
  const name = (colon < 0 ? trimmed : trimmed.slice(0, colon)).trim()
  if (name === "") return fail("no step name", STEP_NAMES)
  if (name.startsWith("-")) return fail(`"${name.split("=")[0]}" is an option, not a step: an unknown or misspelt one (slicewise run --help lists both)`)
  if (!isStepName(name)) return fail(`unknown step "${name}"`, STEP_NAMES)
  const spec = specOf(name)
  const keyNames = Object.keys(spec.keys)
  const given = new Map<string, string>()
  if (colon >= 0) {
    const rest = trimmed.slice(colon + 1)
    if (rest.trim() === "") return fail(`expected key=value after "${name}:"`, keyNames)
    for (const item of rest.split(",")) {
      const eq = item.indexOf("=")
      const key = (eq < 0 ? item : item.slice(0, eq)).trim()
      if (eq < 0) return fail(`expected key=value, got "${item.trim()}"`, keyNames)
      if (!Object.prototype.hasOwnProperty.call(spec.keys, key)) {
        return fail(keyNames.length === 0 ? `${name} takes no keys, got "${key}"` : `unknown key "${key}" for ${name}`, keyNames)
      }
      if (given.has(key)) return fail(`key "${key}" given twice`, keyNames)
      given.set(key, item.slice(eq + 1).trim())
    }
  }
  const values: Record<string, unknown> = {}
  for (const key of keyNames) {
    const ks = spec.keys[key]!
    const raw = given.get(key) ?? ks.default
    if (raw === undefined) {
      if (ks.optional === true) continue
      return fail(`missing ${key}=… (${ks.doc}, ${KIND_TEXT[ks.kind]})`, keyNames)
    }
    const v = readValue(ks.kind, raw)
    if (typeof v === "object" && "bad" in v) return fail(`${key}=${raw} ${v.bad}`)
    values[key] = v
  }
  if (name === "threshold" && values.max !== undefined && (values.max as number) < (values.min as number)) {
    return fail(`max=${String(values.max)} is below min=${String(values.min)}`)
  }
  return Either.right({ _tag: name, ...values } as Step)
}

/**
 * Parses one step; throws a StepError when it is not valid.
 *
 * @example
 * ```ts
 * parseStep("dilate:radius=2,footprint=cube")   // { _tag: "dilate", radius: 2, footprint: "cube" }
 * ```
 */
export const parseStep = (text: string): Step => {
  const r = parseStepEither(text)
  if (Either.isLeft(r)) throw r.left
  return r.right
}

/**
 * Parses steps in order; fails with the first StepError.
 *
 * @example
 * ```ts
 * const steps = yield* parseSteps(["median:radius=1", "threshold:min=100"])
 * ```
 */
export const parseSteps = (texts: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<Step>, StepError> =>
  Effect.forEach(texts, (t) => parseStepEither(t))

const axisText = (v: PerAxis): string => (typeof v === "number" ? String(v) : v.join("/"))

/**
 * The canonical text of a step, every key spelled out (parseStep(stepText(s)) equals s).
 *
 * @example
 * ```ts
 * stepText(parseStep("median:radius=1"))   // "median:radius=1,mode=reflect,cval=0"
 * ```
 */
export const stepText = (step: Step): string => {
  const values = step as unknown as Readonly<Record<string, KindValue[Kind] | undefined>>
  const parts: Array<string> = []
  for (const key of Object.keys(specOf(step._tag).keys)) {
    const v = values[key]
    if (v !== undefined) parts.push(`${key}=${typeof v === "object" ? axisText(v) : String(v)}`)
  }
  return parts.length === 0 ? step._tag : `${step._tag}:${parts.join(",")}`
}

/**
 * Applies a step to a volume of any dtype; the result's dtype depends on the step (threshold,
 * dilate and erode give uint8, cast its dtype, the others keep the input's).
 *
 * @example
 * ```ts
 * let v = alg.source(src)
 * for (const s of steps) v = applyStep(alg, v, s)
 * ```
 */
export const applyStep = <F extends Repr>(alg: Algebra<F>, volume: Volume<F, DType>, step: Step): Volume<F, DType> =>
  specOf(step._tag).apply(alg, volume, step as unknown as ValuesOf<Keys>)

/**
 * One line per step with its keys (optional ones in brackets), then what the placeholders mean,
 * for --help.
 *
 * @example
 * ```ts
 * describeSteps().split("\n")[5]   // "  median:radius=R[,mode=M,cval=C]           median of a (2R+1)³ cube …"
 * ```
 */
export const describeSteps = (): string => {
  const lines = STEP_NAMES.map((name) => {
    const spec = specOf(name)
    const entries = Object.entries(spec.keys)
    const required = entries.filter(([, ks]) => ks.default === undefined && ks.optional !== true)
    const optional = entries.filter(([, ks]) => !(ks.default === undefined && ks.optional !== true))
    const show = (list: typeof entries) => list.map(([k, ks]) => `${k}=${ks.placeholder}`).join(",")
    let usage = name
    if (required.length > 0) usage += `:${show(required)}`
    if (optional.length > 0) usage += required.length > 0 ? `[,${show(optional)}]` : `[:${show(optional)}]`
    return `  ${usage.padEnd(44)} ${spec.doc}`
  })
  lines.push(
    `  M: ${BOUNDARY_MODES.map((m) => (m === "reflect" ? "reflect (default)" : m)).join(", ")}; C: the value outside for constant (default 0).`,
    "  K, S: one value, or z/y/x as in sigma=0.5/2/2. Footprint default: ball.",
    `  DTYPE: ${DTYPES.join(", ")}.`
  )
  return lines.join("\n")
}
