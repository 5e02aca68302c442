/**
 * The CLI step registry: parsing (and its errors), canonical text, and applyStep, checked against
 * the same scipy fixtures as the ops themselves.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { describe, expect, it } from "vitest"
import type { DType } from "../../src/algebra/dtype.js"
import {
  applyStep,
  describeSteps,
  parseStep,
  parseStepEither,
  parseSteps,
  STEP_NAMES,
  StepError,
  stepText,
  type Step
} from "../../src/jobs/steps.js"
import { casesOf, compare, expectedOf, runOp, type FixtureCase } from "../ops/fixtures.js"

const errorOf = (text: string): StepError => {
  const r = parseStepEither(text)
  if (Either.isRight(r)) throw new Error(`${text} parsed as ${JSON.stringify(r.right)}`)
  return r.left
}

describe("parseStep", () => {
  it("reads every step with its defaults", () => {
    expect(parseStep("copy")).toEqual({ _tag: "copy" })
    expect(parseStep("cast:dtype=uint16")).toEqual({ _tag: "cast", dtype: "uint16" })
    expect(parseStep("threshold:min=128")).toEqual({ _tag: "threshold", min: 128 })
    expect(parseStep("threshold:min=-1.5,max=2e3")).toEqual({ _tag: "threshold", min: -1.5, max: 2000 })
    expect(parseStep("uniform:size=3")).toEqual({ _tag: "uniform", size: 3, mode: "reflect", cval: 0 })
    expect(parseStep("uniform:size=1/5/5,mode=constant,cval=7")).toEqual({ _tag: "uniform", size: [1, 5, 5], mode: "constant", cval: 7 })
    expect(parseStep("gaussian:sigma=1.5")).toEqual({ _tag: "gaussian", sigma: 1.5, truncate: 4, mode: "reflect", cval: 0 })
    expect(parseStep("gaussian:sigma=0.5/2/2,truncate=3,mode=nearest")).toEqual({
      _tag: "gaussian",
      sigma: [0.5, 2, 2],
      truncate: 3,
      mode: "nearest",
      cval: 0
    })
    expect(parseStep("median:radius=1")).toEqual({ _tag: "median", radius: 1, mode: "reflect", cval: 0 })
    expect(parseStep("dilate:radius=2")).toEqual({ _tag: "dilate", radius: 2, footprint: "ball" })
    expect(parseStep(" erode : radius = 1 , footprint = cube ")).toEqual({ _tag: "erode", radius: 1, footprint: "cube" })
    expect(parseStep("grey-dilate:radius=1,mode=mirror")).toEqual({ _tag: "grey-dilate", radius: 1, mode: "mirror", cval: 0 })
    expect(parseStep("grey-erode:radius=0")).toEqual({ _tag: "grey-erode", radius: 0, mode: "reflect", cval: 0 })
  })

  it("refuses bad steps with a message naming the step, the problem and what is valid", () => {
    const unknown = errorOf("blur:sigma=1")
    expect(unknown).toBeInstanceOf(StepError)
    expect(unknown._tag).toBe("StepError")
    expect(unknown.message).toContain('step "blur:sigma=1": unknown step "blur"')
    expect(unknown.message).toContain("gaussian")

    const key = errorOf("median:radius=1,size=3")
    expect(key.message).toContain('unknown key "size" for median')
    expect(key.message).toContain("valid: radius, mode, cval")

    const cases: ReadonlyArray<readonly [string, string]> = [
      ["median:radius=-1", "radius=-1 must be an integer from 0 to 1024"],
      ["median:radius=1.5", "radius=1.5 must be an integer from 0 to 1024"],
      ["median:radius=abc", "radius=abc must be an integer from 0 to 1024"],
      ["dilate:radius=100000", "radius=100000 must be an integer from 0 to 1024"],
      ["median", "missing radius="],
      ["median:", 'expected key=value after "median:"'],
      ["median:radius", 'expected key=value, got "radius"'],
      ["median:radius=1,radius=2", 'key "radius" given twice'],
      ["uniform:size=0", "size=0 must be an integer from 1 to 2049"],
      ["uniform:size=3/3", "size=3/3 must be an integer from 1 to 2049, or three as kz/ky/kx"],
      ["gaussian:sigma=-1", "sigma=-1 must be a number from 0 to 1024"],
      ["gaussian:sigma=1,truncate=-2", "truncate=-2 must be a number ≥ 0"],
      ["gaussian:sigma=1,mode=edge", "mode=edge must be one of reflect, mirror, nearest, wrap, constant"],
      ["gaussian:sigma=1,cval=", "cval= must be a number"],
      ["gaussian:sigma=Infinity", "sigma=Infinity must be a number from 0 to 1024"],
      ["gaussian:sigma=1/-1/1", "sigma=1/-1/1 must be a number from 0 to 1024"],
      ["threshold:min=0x10", "min=0x10 must be a number"],
      ["threshold:min=5,max=1", "max=1 is below min=5"],
      ["cast:dtype=uint64", "dtype=uint64 must be one of uint8"],
      ["dilate:radius=1,footprint=disk", "footprint=disk must be one of ball, cube"],
      ["copy:x=1", 'copy takes no keys, got "x"'],
      ["", "no step name"]
    ]
    for (const [text, detail] of cases) {
      const e = errorOf(text)
      expect(e.message, text).toContain(`step "${text}"`)
      expect(e.message, text).toContain(detail)
    }
    expect(() => parseStep("median:radius=-1")).toThrow(StepError)
  })

  it("parseSteps fails with the first bad step", async () => {
    const ok = await Effect.runPromise(parseSteps(["median:radius=1", "threshold:min=100"]))
    expect(ok.map((s) => s._tag)).toEqual(["median", "threshold"])
    const bad = await Effect.runPromise(Effect.flip(parseSteps(["median:radius=1", "median:radius=x", "nope"])))
    expect(bad.step).toBe("median:radius=x")
  })

  it("stepText is canonical: it parses back to the same step", () => {
    for (const text of [
      "copy",
      "cast:dtype=float32",
      "threshold:min=1,max=2",
      "uniform:size=2/3/4,mode=wrap",
      "gaussian:sigma=0/1/2,truncate=2.5,mode=constant,cval=-3",
      "median:radius=2",
      "dilate:radius=1,footprint=cube",
      "erode:radius=3",
      "grey-dilate:radius=1",
      "grey-erode:radius=2,mode=nearest"
    ]) {
      const step = parseStep(text)
      expect(parseStep(stepText(step)), text).toEqual(step)
    }
  })

  it("describeSteps has one line per step, naming its keys", () => {
    const lines = describeSteps().split("\n")
    for (const name of STEP_NAMES) {
      const line = lines.find((l) => [":", "[", " "].some((next) => l.trimStart().startsWith(`${name}${next}`)))
      expect(line, name).toBeDefined()
    }
    expect(describeSteps()).toContain("gaussian:sigma=S[,truncate=4,mode=M,cval=C]")
    expect(describeSteps()).toContain("dilate:radius=R[,footprint=ball|cube]")
    expect(describeSteps()).toContain("threshold:min=T[,max=U]")
  })
})

/** The step text for a fixture case, so that applyStep runs through the parser too. */
const textOf = (c: FixtureCase): string => {
  const p = c.params
  const axis = (v: unknown) => (Array.isArray(v) ? v.join("/") : String(v))
  switch (c.op) {
    case "uniform":
      return `uniform:size=${axis(p.size)},mode=${p.mode},cval=${p.cval}`
    case "gaussian":
      return `gaussian:sigma=${axis(p.sigma)},truncate=${p.truncate},mode=${p.mode},cval=${p.cval}`
    case "dilate":
    case "erode":
      return `${c.op}:radius=${p.radius},footprint=${p.footprint}`
    case "threshold":
      return p.max === undefined ? `threshold:min=${p.min}` : `threshold:min=${p.min},max=${p.max}`
    case "cast":
      return `cast:dtype=${p.dtype}`
    default:
      return `${c.op}:radius=${p.radius},mode=${p.mode},cval=${p.cval}`
  }
}

describe("applyStep = the ops", () => {
  // One case per op and input dtype (the op tests cover the rest); gaussian's float results may
  // differ from scipy in the last bits of exp (see smoothing.test.ts), so only integer ones here.
  const picked = new Map<string, FixtureCase>()
  for (const op of ["cast", "threshold", "uniform", "gaussian", "median", "dilate", "erode", "grey-dilate", "grey-erode"]) {
    for (const c of casesOf(op)) {
      if (c.params.dtype !== undefined && op !== "cast") continue
      if ((op === "gaussian" || op === "uniform") && (c.output.dtype === "float32" || c.output.dtype === "float64")) continue
      const key = `${op}/${c.output.dtype}/${c.input.split("_")[0]}`
      if (!picked.has(key)) picked.set(key, c)
    }
  }
  it.each([...picked.values()].map((c) => [textOf(c), c] as const))("%s", async (text, c) => {
    const step: Step = parseStep(text)
    const out = await runOp(c, (alg, v) => applyStep(alg, v, step))
    expect(out.dtype).toBe(c.output.dtype as DType)
    const r = compare(out.dtype, out.data, expectedOf(c))
    expect(r.differing, r.first).toBe(0)
  })

  it("copy returns the input", async () => {
    const c = casesOf("median")[0]!
    const out = await runOp(c, (alg, v) => applyStep(alg, v, parseStep("copy")))
    const { inputOf } = await import("../ops/fixtures.js")
    expect(Array.from(out.data)).toEqual(Array.from(inputOf(c).data))
  })
})
