/**
 * The store of measured peaks (src/jobs/exec/tool-model-store.ts) and the predictions that learn
 * from it (src/jobs/exec/learned-memory.ts): round trip, concurrent appends from several
 * processes, register and warp set-ups predicting from a stored model, finished runs recorded,
 * and a store that cannot be written failing no job.
 */
import { spawn } from "node:child_process"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { writeBlobVolume } from "../../src/jobs/exec/blob-volume.js"
import { paramFiles, predictBytes, REGISTER_MODEL, registerModelRef, registerSetUp, transformChain, WARP_MODEL, warpModelRef } from "../../src/jobs/exec/elastix.js"
import { recordPeak } from "../../src/jobs/exec/learned-memory.js"
import { appendSamples, MAX_JOB_SAMPLES, modelKey, readModels } from "../../src/jobs/exec/tool-model-store.js"
import { fitModel, predictPeak } from "../../src/jobs/exec/tool-model.js"

const root = path.resolve(__dirname, "../..")
const MiB = 2 ** 20
let dir: string
const at = (p: string) => path.join(dir, p)
const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e)

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-tool-models-"))
  await run(writeBlobVolume(at("fixed.nii.gz"), 16))
  await run(writeBlobVolume(at("moving.nii.gz"), 16, [1, 1, -1]))
})
afterAll(() => dir !== undefined && fs.rmSync(dir, { recursive: true, force: true }))

const entry = { key: "elastix/0123456789abcdef", tool: "elastix", params: "affine.txt" }

describe("the model store", () => {
  it("keys a model by the parameter files' contents, not their names", () => {
    expect(modelKey("elastix", ["(Transform \"AffineTransform\")"])).toBe(modelKey("elastix", ["(Transform \"AffineTransform\")"]))
    expect(modelKey("elastix", ["a"])).not.toBe(modelKey("elastix", ["b"]))
    expect(modelKey("elastix", ["ab", "c"])).not.toBe(modelKey("elastix", ["a", "bc"]))
    expect(modelKey("elastix", ["a"])).not.toBe(modelKey("transformix", ["a"]))
    expect(modelKey("elastix", ["a"])).toMatch(/^elastix\/[0-9a-f]{16}$/)
  })

  it("writes what it reads back, with the fit for people, and leaves no temporary or lock", async () => {
    const store = at("round/models.json")
    expect(await run(readModels(store))).toBeUndefined()
    const samples = [
      { voxels: 65536, threads: 1, peakBytes: 54 * MiB, source: "calibrate" as const },
      { voxels: 524288, threads: 1, peakBytes: 75 * MiB, source: "calibrate" as const }
    ]
    await run(appendSamples(store, entry, samples))
    await run(appendSamples(store, { ...entry, key: "transformix/0000000000000000", tool: "transformix" }, [{ ...samples[0]!, source: "job" }]))
    const file = (await run(readModels(store)))!
    expect(Object.keys(file.models).sort()).toEqual(["elastix/0123456789abcdef", "transformix/0000000000000000"])
    const m = file.models[entry.key]!
    expect(m.samples.map((s) => [s.voxels, s.peakBytes, s.source])).toEqual(samples.map((s) => [s.voxels, s.peakBytes, s.source]))
    expect(m.samples.every((s) => !Number.isNaN(Date.parse(s.at)))).toBe(true)
    expect(m.fit!.bytesPerVoxel).toBeCloseTo(fitModel(samples)!.bytesPerVoxel, 9)
    expect(fs.readdirSync(path.dirname(store))).toEqual(["models.json"])
  })

  it("keeps every calibration sample and the newest job samples", async () => {
    const store = at("trim.json")
    await run(appendSamples(store, entry, [{ voxels: 1, threads: 1, peakBytes: 1, source: "calibrate" }]))
    const jobs = Array.from({ length: MAX_JOB_SAMPLES + 10 }, (_, i) => ({ voxels: 100 + i, threads: 1, peakBytes: 1, source: "job" as const }))
    await run(appendSamples(store, entry, jobs))
    const kept = (await run(readModels(store)))!.models[entry.key]!.samples
    expect(kept.length).toBe(MAX_JOB_SAMPLES + 1)
    expect(kept[0]!.source).toBe("calibrate")
    expect(kept[1]!.voxels).toBe(110)
  })

  it("loses no sample when four processes append at once", async () => {
    const store = at("concurrent/models.json")
    const [processes, each] = [4, 15]
    const exits = await Promise.all(
      Array.from({ length: processes }, (_, id) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "test/jobs/append-samples-child.ts"), store, entry.key, String(id), String(each)], {
            cwd: root,
            stdio: ["ignore", "ignore", "inherit"]
          })
          child.on("exit", resolve)
        })
      )
    )
    expect(exits).toEqual(Array(processes).fill(0))
    const voxels = (await run(readModels(store)))!.models[entry.key]!.samples.map((s) => s.voxels).sort((a, b) => a - b)
    expect(voxels).toEqual(Array.from({ length: processes }, (_, id) => Array.from({ length: each }, (_, i) => id * 1000 + i)).flat())
    expect(fs.readdirSync(path.dirname(store))).toEqual(["models.json"])
  }, 60_000)

  it("breaks a lock left by a process that died, and refuses to overwrite a file that is not a store", async () => {
    const store = at("stale/models.json")
    fs.mkdirSync(path.dirname(store), { recursive: true })
    fs.writeFileSync(`${store}.lock`, "99999 elsewhere\n")
    const old = new Date(Date.now() - 60_000)
    fs.utimesSync(`${store}.lock`, old, old)
    await run(appendSamples(store, entry, [{ voxels: 1, threads: 1, peakBytes: 1, source: "job" }]))
    expect((await run(readModels(store)))!.models[entry.key]!.samples.length).toBe(1)

    const foreign = at("foreign.json")
    fs.writeFileSync(foreign, '{"mine": true}\n')
    const e = await run(Effect.flip(appendSamples(foreign, entry, [{ voxels: 1, threads: 1, peakBytes: 1, source: "job" }])))
    expect(e.message).toMatch(/^tool models .*foreign\.json: /)
    expect(fs.readFileSync(foreign, "utf8")).toBe('{"mine": true}\n')
    expect((await run(Effect.flip(readModels(foreign)))).message).toMatch(/not a tool-models file/)
  })
})

describe("register and warp set-ups with a stored model", () => {
  const job = (fields: object = {}) => ({ kind: "register" as const, fixed: at("fixed.nii.gz"), moving: at("moving.nii.gz"), params: "affine" as const, output: at("reg"), ...fields })
  const voxels = 2 * 16 ** 3

  it("predict from the built-in model without one, and from the stored model of their parameter files with one", async () => {
    const store = at("setup/models.json")
    const builtin = await run(registerSetUp(job({ threads: 2 }), "r", { modelsPath: store }))
    expect(builtin.predictedBytes).toBe(predictBytes(REGISTER_MODEL, voxels))
    const ref = await run(registerModelRef(paramFiles("affine"), { modelsPath: store }))
    const samples = [
      { voxels: 8192, threads: 1, peakBytes: 30 * MiB, source: "calibrate" as const },
      { voxels: 65536, threads: 1, peakBytes: 40 * MiB, source: "calibrate" as const }
    ]
    await run(appendSamples(store, ref.entry, samples))
    const stored = await run(registerSetUp(job({ threads: 2 }), "r", { modelsPath: store }))
    expect(stored.predictedBytes).toBe(predictPeak(fitModel(samples)!, voxels, 2))
    // Another parameter set (bspline: two files) has no model yet.
    expect((await run(registerSetUp(job({ params: "bspline" }), "r", { modelsPath: store }))).predictedBytes).toBe(predictBytes(REGISTER_MODEL, voxels))
    // A job's own memory still wins.
    expect((await run(registerSetUp(job({ memory: "1GiB" }), "r", { modelsPath: store }))).predictedBytes).toBe(2 ** 30)
  })

  it("key a warp by the kinds of transform it applies, following the chain", () => {
    fs.mkdirSync(at("chain"), { recursive: true })
    fs.writeFileSync(at("chain/TransformParameters.0.txt"), '(Transform "AffineTransform")\n(InitialTransformParametersFileName "NoInitialTransform")\n')
    const last = `(Transform "BSplineTransform")\n(InitialTransformParametersFileName "${at("chain/TransformParameters.0.txt")}")\n`
    expect(transformChain(at("chain/TransformParameters.1.txt"), last)).toBe("AffineTransform>BSplineTransform")
    expect(warpModelRef("AffineTransform").entry.key).not.toBe(warpModelRef("AffineTransform>BSplineTransform").entry.key)
    expect(warpModelRef("AffineTransform").builtin).toBe(WARP_MODEL)
  })

  it("record a finished run's peak, and a store that cannot be written fails no run", async () => {
    const store = at("record/models.json")
    const ref = await run(registerModelRef(paramFiles("affine"), { modelsPath: store }))
    const result = { attempts: 1, peakRssBytes: 42 * MiB, cpuMs: 1, logFile: "x.log" }
    await run(recordPeak(ref, 1000, 2, "job", Effect.succeed(result)))
    await run(recordPeak(ref, 1000, 2, "job", Effect.succeed({ ...result, peakRssBytes: 0 })))
    expect((await run(readModels(store)))!.models[ref.entry.key]!.samples.map((s) => [s.voxels, s.threads, s.peakBytes, s.source])).toEqual([[1000, 2, 42 * MiB, "job"]])

    // A directory where the store's directory should be: neither reading nor writing can work.
    fs.writeFileSync(at("not-a-dir"), "")
    const broken = { ...ref, path: at("not-a-dir/models.json") }
    expect(await run(recordPeak(broken, 1000, 1, "job", Effect.succeed(result)))).toEqual(result)
    const s = await run(registerSetUp(job(), "r", { modelsPath: broken.path }))
    expect(s.predictedBytes).toBe(predictBytes(REGISTER_MODEL, voxels))
  })
})
