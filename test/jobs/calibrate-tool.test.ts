/**
 * `slicewise calibrate-tool` with the real elastix and transformix at tiny sizes: every run's peak
 * is stored as a calibration sample under its tool and parameter files, the printed table holds
 * every run, and register and warp jobs then predict from the stored model. Fails (does not skip)
 * without elastix: see ./elastix-required.ts.
 */
import { spawnSync } from "node:child_process"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { writeBlobVolume } from "../../src/jobs/exec/blob-volume.js"
import { calibrateTool } from "../../src/jobs/exec/calibrate-tool.js"
import { paramFiles, predictBytes, REGISTER_MODEL, registerModelRef, registerSetUp, WARP_MODEL, warpModelRef, warpSetUp } from "../../src/jobs/exec/elastix.js"
import { readModels } from "../../src/jobs/exec/tool-model-store.js"
import { predictPeak } from "../../src/jobs/exec/tool-model.js"
import { requireElastix } from "./elastix-required.js"

const root = path.resolve(__dirname, "../..")
let dir: string
const at = (p: string) => path.join(dir, p)
const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e)

beforeAll(() => {
  requireElastix()
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slicewise-calibrate-tool-test-"))
})
afterAll(() => dir !== undefined && fs.rmSync(dir, { recursive: true, force: true }))

describe("calibrate-tool", () => {
  it("measures elastix at two sizes, stores the peaks and register jobs predict from them", async () => {
    const store = at("models.json")
    const c = await run(calibrateTool({ tool: "elastix", params: ["affine"], sizes: [16, 24], threads: [1], modelsPath: store }))
    expect(c.rows.map((r) => [r.size, r.voxels, r.threads])).toEqual([[16, 2 * 16 ** 3, 1], [24, 2 * 24 ** 3, 1]])
    for (const r of c.rows) expect(r.peakBytes).toBeGreaterThan(20 * 2 ** 20)
    expect(c.ref.entry).toEqual((await run(registerModelRef(paramFiles("affine"), { modelsPath: store }))).entry)
    const stored = (await run(readModels(store)))!.models[c.ref.entry.key]!
    expect(stored.params).toBe("affine.txt")
    expect(stored.samples.map((s) => [s.voxels, s.peakBytes, s.source])).toEqual(c.rows.map((r) => [r.voxels, r.peakBytes, "calibrate"]))
    expect(c.model!.samples).toBe(2)

    // A register job on a 24³ pair now predicts from the calibration, not the built-in model.
    await run(writeBlobVolume(at("f.nii.gz"), 24))
    await run(writeBlobVolume(at("m.nii.gz"), 24, [1, 1, 0]))
    const s = await run(registerSetUp({ kind: "register", fixed: at("f.nii.gz"), moving: at("m.nii.gz"), params: "affine", output: at("reg") }, "reg", { modelsPath: store }))
    expect(s.predictedBytes).toBe(predictPeak(c.model!, 2 * 24 ** 3, 1))
    expect(s.predictedBytes).not.toBe(predictBytes(REGISTER_MODEL, 2 * 24 ** 3))
    expect(s.predictedBytes).toBeGreaterThanOrEqual(c.rows[1]!.peakBytes)

    // Running it refines the model: its peak is a job sample, and the next prediction refits.
    const r = await run(s.run)
    const after = (await run(readModels(store)))!.models[c.ref.entry.key]!.samples
    expect(after.map((x) => [x.voxels, x.peakBytes, x.source]).at(-1)).toEqual([2 * 24 ** 3, r.peakRssBytes, "job"])
    expect(fs.readdirSync(dir).filter((f) => f.startsWith("slicewise-calibrate-tool-"))).toEqual([])
  }, 120_000)

  it("runs from the command line for transformix, prints every run and the fit, and warp jobs predict from it", async () => {
    const store = at("cli-models.json")
    const out = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "src/cli/main.ts"), "calibrate-tool", "transformix", "--sizes", "16,24", "--threads", "1,2", "--models", store], {
      cwd: root,
      encoding: "utf8"
    })
    expect(out.stderr).toMatch(/calibrate-tool: transformix 24³, 2 thread\(s\): [\d.]+ MiB/)
    expect(out.status).toBe(0)
    const lines = out.stdout.split("\n")
    expect(lines[0]).toMatch(/^transformix AffineTransform \(model transformix\/[0-9a-f]{16} in .*cli-models\.json\)$/)
    expect(lines.filter((l) => /^\| (16|24)³ \| \d+ \| [12] \| [\d.]+ MiB \| [\d.]+ MiB \| [\d.]+ MiB \| [\d.]+ s \|$/.test(l)).length).toBe(4)
    expect(out.stdout).toMatch(/fit over 4 samples: [\d.]+ MiB \+ [\d.]+ B · voxels/)

    const file = (await run(readModels(store)))!
    const ref = warpModelRef("AffineTransform", { modelsPath: store })
    expect(file.models[ref.entry.key]!.samples.length).toBe(4)
    // The registrations transformix needed were measured too, for elastix's model.
    expect(Object.values(file.models).map((m) => m.tool).sort()).toEqual(["elastix", "transformix"])

    await run(writeBlobVolume(at("w-in.nii.gz"), 24))
    fs.mkdirSync(at("tp"), { recursive: true })
    fs.writeFileSync(at("tp/TransformParameters.0.txt"), '(Transform "AffineTransform")\n(InitialTransformParametersFileName "NoInitialTransform")\n(Size 24 24 24)\n')
    const w = await run(warpSetUp({ kind: "warp", transform: at("tp"), input: at("w-in.nii.gz"), output: at("w.nii.gz"), interpolation: "nearest" }, "w", { modelsPath: store }))
    expect(w.predictedBytes).not.toBe(predictBytes(WARP_MODEL, 2 * 24 ** 3))
    expect(w.predictedBytes).toBeLessThan(predictBytes(WARP_MODEL, 2 * 24 ** 3) * 1.5)
  }, 120_000)

  it("refuses sizes that are not positive integers", () => {
    const out = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "src/cli/main.ts"), "calibrate-tool", "elastix", "--sizes", "16,x", "--models", at("x.json")], { cwd: root, encoding: "utf8" })
    expect(out.status).toBe(1)
    expect(out.stderr).toBe("slicewise: --sizes 16,x: give positive integers separated by commas, e.g. 32,48,64\n")
  })
})
