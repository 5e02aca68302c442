/**
 * A row worker: runs its share of the rows of split steps (pool.ts) until the caller stops it.
 * It rebuilds kernels from their recipes and pointwise loops from their source, and reads and
 * writes the caller's rings and scratch in shared memory. Between jobs it waits on its control
 * block, so it costs no CPU while idle.
 *
 * It knows no kernel of its own: before it reports ready it imports the modules the run's recipes
 * name (the built-in ones' ops/kernels.ts, or a user's module), and a recipe is then a call of one
 * of their exports. That import is the one asynchronous thing it does; the job loop is synchronous.
 */
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads"
import { bytesPerVoxel, DTYPES, viewOf, type DType, type VoxelArray } from "../../../algebra/dtype.js"
import type { KernelRecipe, PreparedKernel, SliceWindow, WindowKernel } from "../../../algebra/kernel.js"
import type { VolumeInfo } from "../../../algebra/volume.js"
import { collectGarbage } from "../../../util/gc.js"
import { pointwiseFromSource, type PointwiseLoop } from "../compile.js"
import {
  ARRAY_INTS,
  CONTROL,
  JOB,
  type JobFailure,
  type SetupMessage,
  type StartMessage,
  type StepMode,
  type WorkerData
} from "./protocol.js"

type Step =
  | {
      readonly kind: "kernel"
      readonly kernel: WindowKernel<DType, DType>
      readonly info: VolumeInfo<DType>
      readonly mode: StepMode
      /** Prepared for the whole slice ("rows"), or for bands of each height met ("band"). */
      readonly prepared: Map<number, PreparedKernel<DType, DType>>
    }
  | { readonly kind: "pointwise"; readonly loop: PointwiseLoop; readonly scalars: ReadonlyArray<unknown>; readonly width: number }

type Factory = (...args: ReadonlyArray<unknown>) => WindowKernel<DType, DType>

const { control, job, port, modules } = workerData as WorkerData
const ctrl = new Int32Array(control)
const jobs = new Int32Array(job)
const buffers = new Map<number, SharedArrayBuffer>()
const steps = new Map<number, Step>()
let messagesRead = 0
/** The kernel factories of the run's recipes, by module URL and export name. */
const factories = new Map<string, Map<string, Factory>>()

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Imports every kernel module of the run; the first that fails (or lacks an export) is reported. */
const loadModules = async (): Promise<StartMessage> => {
  for (const { module, factories: names } of modules) {
    let exports: Record<string, unknown>
    try {
      exports = (await import(module)) as Record<string, unknown>
    } catch (e) {
      return { type: "failed", module, message: `cannot import ${module}: ${messageOf(e)}` }
    }
    const byName = new Map<string, Factory>()
    for (const name of names) {
      const f = exports[name]
      if (typeof f !== "function") return { type: "failed", module, factory: name, message: `${module} exports no function "${name}"` }
      byName.set(name, f as Factory)
    }
    factories.set(module, byName)
  }
  return { type: "ready" }
}

const kernelOf = (recipe: KernelRecipe): WindowKernel<DType, DType> => {
  const factory = factories.get(recipe.module)?.get(recipe.factory)
  if (factory === undefined) throw new Error(`internal: row worker did not load "${recipe.factory}" of ${recipe.module}`)
  return factory(...recipe.args)
}

const setUp = (m: SetupMessage): void => {
  switch (m.type) {
    case "buffer":
      buffers.set(m.id, m.buffer)
      return
    case "kernel":
      steps.set(m.step, { kind: "kernel", kernel: kernelOf(m.recipe), info: m.info, mode: m.mode, prepared: new Map() })
      return
    case "pointwise":
      steps.set(m.step, { kind: "pointwise", loop: pointwiseFromSource(m.source), scalars: m.scalars, width: m.width })
      return
    case "reset":
      buffers.clear()
      steps.clear()
      // This isolate allocates little, so it seldom collects on its own, and the shared buffers of
      // the passes and bands it has seen would stay resident through its handles: 20–25 MiB over
      // the budget in test/cli/memory.test.ts's two-thread run under load without this.
      collectGarbage()
  }
}

/** Array k of the job (a whole slice), or its rows [start, end) of `width` voxels when given. */
const arrayOf = (k: number, rows?: readonly [number, number, number]): VoxelArray => {
  const p = JOB.arrays + ARRAY_INTS * k
  const buffer = buffers.get(jobs[p]!)
  if (buffer === undefined) throw new Error(`internal: row worker has no buffer ${jobs[p]}`)
  const dtype = DTYPES[jobs[p + 3]!]!
  if (rows === undefined) return viewOf(dtype, buffer, jobs[p + 1]!, jobs[p + 2]!)
  const [start, end, width] = rows
  return viewOf(dtype, buffer, jobs[p + 1]! + start * width * bytesPerVoxel(dtype), (end - start) * width)
}

const runJob = (): void => {
  const step = steps.get(jobs[JOB.step]!)
  if (step === undefined) throw new Error(`internal: row worker has no step ${jobs[JOB.step]}`)
  const z = jobs[JOB.z]!
  const start = jobs[JOB.start]!
  const end = jobs[JOB.end]!
  const count = jobs[JOB.count]!
  if (step.kind === "pointwise") {
    const rows = [start, end, step.width] as const
    const inputs: Array<VoxelArray> = []
    for (let k = 1; k < count; k++) inputs.push(arrayOf(k, rows))
    step.loop(arrayOf(0, rows), inputs, (end - start) * step.width, step.scalars)
    return
  }
  const { kernel, info, mode, prepared } = step
  const before = kernel.halo.z.before
  const rows = mode === "band" ? ([start, end, info.shape[2]] as const) : undefined
  const lines: Array<VoxelArray> = []
  for (let k = 1; k < count; k++) lines.push(arrayOf(k, rows))
  const window: SliceWindow<DType> = { z, at: (dz) => lines[dz + before]! }
  if (mode === "rows") {
    let p = prepared.get(0)
    if (p === undefined) prepared.set(0, (p = kernel.prepare(info)))
    p.computeRows!(window, arrayOf(0), start, end)
    return
  }
  const height = end - start
  let p = prepared.get(height)
  if (p === undefined) prepared.set(height, (p = kernel.prepare({ ...info, shape: [info.shape[0], height, info.shape[2]] })))
  p.compute(window, arrayOf(0, rows))
}

/** Takes jobs until the caller stops the worker (control.posted < 0). */
const serve = (): void => {
  let seen = 0
  for (;;) {
    Atomics.wait(ctrl, CONTROL.posted, seen)
    const posted = Atomics.load(ctrl, CONTROL.posted)
    if (posted < 0) break
    seen = posted
    try {
      const expected = Atomics.load(ctrl, CONTROL.messages)
      while (messagesRead < expected) {
        const m = receiveMessageOnPort(port)
        if (m === undefined) continue // posted before the job, still on its way
        messagesRead++
        setUp(m.message as SetupMessage)
      }
      runJob()
      Atomics.store(ctrl, CONTROL.failed, 0)
    } catch (e) {
      const failure: JobFailure = { message: messageOf(e), stack: e instanceof Error ? e.stack : undefined }
      port.postMessage(failure)
      Atomics.store(ctrl, CONTROL.failed, 1)
    }
    Atomics.store(ctrl, CONTROL.done, seen)
    Atomics.notify(ctrl, CONTROL.done)
  }
  port.close()
}

void loadModules().then((started) => {
  parentPort!.postMessage(started)
  if (started.type === "ready") serve()
})
