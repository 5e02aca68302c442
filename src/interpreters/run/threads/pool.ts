/**
 * Row threads: worker threads that take a share of the rows of every step a run can split, so a
 * slice is computed by all cores at once. The calling thread hands each worker its rows through
 * shared memory, computes the first share itself, and waits for the others: a step costs a few
 * microseconds more than on one thread, and each result row is written by exactly one thread.
 *
 * What crosses to a worker: the SharedArrayBuffers of the rings and scratch (once each), how to
 * rebuild each step (a kernel's recipe, or a pointwise loop's source) and, per job, a few integers.
 * A worker imports the modules its kernels' recipes name before it starts (`ThreadKernel`); one it
 * cannot import, or that lacks the named export, fails the acquisition with a KernelError. A job
 * that throws in a worker fails the step with a RowWorkerError carrying the worker's message.
 *
 * @example
 * ```ts
 * const threads = yield* acquireRowThreads(2, [{ recipe: kernel.recipe!, stage: "#1 zmean", kernel: "zmean" }])
 * const step = threads.defineKernel(kernel.recipe!, info, "rows")
 * threads.run(step, z, height, [out, ...window], (start, end) => prepared.computeRows!(w, out, start, end))
 * ```
 */
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"
import type { MessagePort, Worker } from "node:worker_threads"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { DTYPES, dtypeOf, type DType, type VoxelArray } from "../../../algebra/dtype.js"
import { KernelError } from "../../../algebra/kernel-error.js"
import type { KernelRecipe } from "../../../algebra/kernel.js"
import type { VolumeInfo } from "../../../algebra/volume.js"
import { MAX_SPLIT_ARRAYS, partRows } from "../../plan/threads.js"
import type { PointwiseSource } from "../compile.js"
import {
  ARRAY_INTS,
  CONTROL,
  CONTROL_INTS,
  JOB,
  type JobFailure,
  type KernelModule,
  type SetupMessage,
  type StartMessage,
  type StepMode,
  type WorkerData
} from "./protocol.js"

/** Int32 slots of a job buffer: room for MAX_SPLIT_ARRAYS arrays (the output and a window's or a zip's inputs). */
const JOB_INTS = JOB.arrays + ARRAY_INTS * MAX_SPLIT_ARRAYS

/** Set by scripts/bundle.mjs: the worker's bundle file, beside the CLI's. */
declare const SLICEWISE_WORKER_BUNDLE: string | undefined

/**
 * node:worker_threads, loaded by the first run that starts workers: importing it adds 1.8 MiB to a
 * bare Node process's resident memory (bench/runtime-floor.sh), and a run with nothing to split (a copy) never needs it.
 */
type WorkerThreads = typeof import("node:worker_threads")

/** A kernel the run splits across threads: its recipe, and where it is in the plan (for errors). */
export interface ThreadKernel {
  readonly recipe: KernelRecipe
  /** The stage as plans show it, "#id label". */
  readonly stage: string
  /** The kernel's name. */
  readonly kernel: string
}

/**
 * A job of a split step failed in a worker: `detail` is what the worker's code threw, and the
 * stack is the worker's. (The caller maps it to a KernelError where the step is a kernel's.)
 */
export class RowWorkerError extends Error {
  constructor(readonly detail: string, workerStack?: string) {
    super(`a row worker failed: ${detail}`)
    this.name = "RowWorkerError"
    if (workerStack !== undefined) this.stack = workerStack
  }
}

interface RowWorker {
  readonly worker: Worker
  readonly control: Int32Array
  readonly job: Int32Array
  readonly port: MessagePort
  seq: number
}

/** How to start a worker from here: the bundle's, tsc's output, or the sources through tsx. */
const workerScript = (): { readonly script: URL | string; readonly eval: boolean } => {
  if (typeof SLICEWISE_WORKER_BUNDLE === "string") return { script: new URL(`./${SLICEWISE_WORKER_BUNDLE}`, import.meta.url), eval: false }
  const here = import.meta.url
  if (!here.endsWith(".ts")) return { script: new URL("./worker.js", here), eval: false }
  // Run from TypeScript sources (tests, tsx): the worker registers tsx's loader, then loads them.
  const tsx = pathToFileURL(createRequire(here).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href
  const worker = new URL("./worker.ts", here).href
  return { script: `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(worker)}) })`, eval: true }
}

export class RowThreads {
  private readonly ids = new Map<ArrayBufferLike, number>()
  private steps = 0

  constructor(
    private readonly workers: ReadonlyArray<RowWorker>,
    private readonly receive: WorkerThreads["receiveMessageOnPort"]
  ) {}

  /** Threads that share a step: the caller's and the workers'. */
  get count(): number {
    return this.workers.length + 1
  }

  private send(m: SetupMessage): void {
    for (const w of this.workers) {
      w.port.postMessage(m)
      Atomics.add(w.control, CONTROL.messages, 1)
    }
  }

  /** Forgets every step and buffer (at the end of a pass, so the workers free their scratch). */
  reset(): void {
    this.ids.clear()
    this.send({ type: "reset" })
  }

  /** A kernel step; returns its number for `run`. */
  defineKernel(recipe: KernelRecipe, info: VolumeInfo<DType>, mode: StepMode): number {
    const step = this.steps++
    this.send({ type: "kernel", step, recipe, info: { dtype: info.dtype, shape: info.shape, spacing: info.spacing }, mode })
    return step
  }

  /** A pointwise step over slices `width` voxels wide; returns its number for `run`. */
  definePointwise(source: PointwiseSource, scalars: ReadonlyArray<unknown>, width: number): number {
    const step = this.steps++
    this.send({ type: "pointwise", step, source, scalars, width })
    return step
  }

  private bufferId(a: VoxelArray): number {
    const buffer = a.buffer
    let id = this.ids.get(buffer)
    if (id === undefined) {
      if (!(buffer instanceof SharedArrayBuffer)) throw new Error("internal: a split step was given an array that is not in shared memory")
      id = this.ids.size
      this.ids.set(buffer, id)
      this.send({ type: "buffer", id, buffer })
    }
    return id
  }

  /**
   * Runs step `step` for slice z over rows [0, height): `arrays` are the output slice and then the
   * step's inputs (whole slices; a kernel's window from its first offset to its last). Each worker
   * gets a share of the rows; the caller computes the first with `local(start, end)` meanwhile.
   */
  run(step: number, z: number, height: number, arrays: ReadonlyArray<VoxelArray>, local: (start: number, end: number) => void): void {
    if (arrays.length > MAX_SPLIT_ARRAYS) throw new Error(`internal: a split step reads ${arrays.length} arrays, more than ${MAX_SPLIT_ARRAYS}`)
    const parts = this.count
    const posted: Array<RowWorker> = []
    for (let k = 1; k < parts; k++) {
      const [start, end] = partRows(height, parts, k)
      if (start === end) continue
      const w = this.workers[k - 1]!
      const job = w.job
      job[JOB.step] = step
      job[JOB.z] = z
      job[JOB.start] = start
      job[JOB.end] = end
      job[JOB.count] = arrays.length
      for (let i = 0; i < arrays.length; i++) {
        const a = arrays[i]!
        const p = JOB.arrays + ARRAY_INTS * i
        job[p] = this.bufferId(a)
        job[p + 1] = a.byteOffset
        job[p + 2] = a.length
        job[p + 3] = DTYPES.indexOf(dtypeOf(a))
      }
      w.seq++
      Atomics.store(w.control, CONTROL.posted, w.seq)
      Atomics.notify(w.control, CONTROL.posted)
      posted.push(w)
    }
    try {
      const [start, end] = partRows(height, parts, 0)
      if (start < end) local(start, end)
    } finally {
      // Wait for every worker even when our share failed: they are still writing shared buffers.
      let failure: RowWorkerError | undefined
      for (const w of posted) {
        for (let done = Atomics.load(w.control, CONTROL.done); done !== w.seq; done = Atomics.load(w.control, CONTROL.done)) {
          // A thread that died (out of memory, killed) never answers: its threadId turns −1.
          if (Atomics.wait(w.control, CONTROL.done, done, 1000) === "timed-out" && w.worker.threadId === -1) {
            failure ??= new RowWorkerError("the thread stopped")
            break
          }
        }
        if (Atomics.load(w.control, CONTROL.failed) === 1) {
          const m = this.receive(w.port)?.message as JobFailure | undefined
          failure ??= new RowWorkerError(m?.message ?? "unknown error", m?.stack)
        }
      }
      if (failure !== undefined) throw failure
    }
  }

  /** Stops the workers. */
  close(): Promise<void> {
    for (const w of this.workers) {
      Atomics.store(w.control, CONTROL.posted, -1)
      Atomics.notify(w.control, CONTROL.posted)
    }
    return Promise.all(this.workers.map((w) => w.worker.terminate())).then(() => {})
  }
}

/** A worker that could not load a kernel module: which, and why. */
type LoadFailure = Extract<StartMessage, { type: "failed" }>

/** Starts a worker; it imports `modules` first and is ready, or rejects with a LoadFailure (or what it threw). */
const startWorker = ({ MessageChannel, Worker }: WorkerThreads, modules: ReadonlyArray<KernelModule>): Promise<RowWorker> => {
  const { script, eval: isEval } = workerScript()
  const control = new SharedArrayBuffer(4 * CONTROL_INTS)
  const job = new SharedArrayBuffer(4 * JOB_INTS)
  const { port1, port2 } = new MessageChannel()
  const workerData: WorkerData = { control, job, port: port2, modules }
  // The worker loads only slicewise's own modules and the kernels' modules: none of the parent's
  // Node options apply to it (and some, like --input-type, would stop it from starting).
  const worker = new Worker(script, { eval: isEval, execArgv: [], workerData, transferList: [port2] })
  return new Promise((resolve, reject) => {
    worker.once("message", (m: StartMessage) => {
      worker.off("error", reject)
      if (m.type === "ready") resolve({ worker, control: new Int32Array(control), job: new Int32Array(job), port: port1, seq: 0 })
      else {
        port1.close()
        void worker.terminate()
        reject(m)
      }
    })
    worker.once("error", reject)
  })
}

/** The modules of `kernels`' recipes, each with the exports the run calls. */
const modulesOf = (kernels: ReadonlyArray<ThreadKernel>): Array<KernelModule> => {
  const byModule = new Map<string, Set<string>>()
  for (const { recipe } of kernels) {
    const names = byModule.get(recipe.module) ?? new Set()
    names.add(recipe.factory)
    byModule.set(recipe.module, names)
  }
  return [...byModule].map(([module, names]) => ({ module, factories: [...names] }))
}

const RECIPE_HINT = "a recipe's module is the URL of the module that exports its factory, usually import.meta.url there"

const isLoadFailure = (e: unknown): e is LoadFailure =>
  typeof e === "object" && e !== null && (e as LoadFailure).type === "failed" && typeof (e as LoadFailure).module === "string"

/** A worker's failure to load a kernel module, as the KernelError of the first kernel it concerns. */
const loadError = (kernels: ReadonlyArray<ThreadKernel>, failure: LoadFailure): KernelError => {
  const k =
    kernels.find((k) => k.recipe.module === failure.module && (failure.factory ?? k.recipe.factory) === k.recipe.factory) ?? kernels[0]
  return new KernelError({ stage: k?.stage ?? "?", kernel: k?.kernel ?? "?", phase: "load", detail: failure.message, hint: RECIPE_HINT })
}

/** A recipe whose module is no absolute URL (a worker would resolve it against its own file). */
const badModule = (kernels: ReadonlyArray<ThreadKernel>): KernelError | undefined => {
  const k = kernels.find((k) => typeof k.recipe.module !== "string" || !URL.canParse(k.recipe.module))
  if (k === undefined) return undefined
  return new KernelError({
    stage: k.stage,
    kernel: k.kernel,
    phase: "load",
    detail: `its recipe's module ${JSON.stringify(k.recipe.module)} is not an absolute URL`,
    hint: RECIPE_HINT
  })
}

/** Starts `count` workers that load `modules`; if any fails, stops the others and rejects as the first. */
const startWorkers = async (wt: WorkerThreads, count: number, modules: ReadonlyArray<KernelModule>): Promise<Array<RowWorker>> => {
  const started = await Promise.allSettled(Array.from({ length: count }, () => startWorker(wt, modules)))
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected")
  if (failed === undefined) return started.map((s) => (s as PromiseFulfilledResult<RowWorker>).value)
  await Promise.all(started.map((s) => (s.status === "fulfilled" ? s.value.worker.terminate() : undefined)))
  throw failed.reason
}

/**
 * `threads` row threads for the life of the scope: the caller and `threads − 1` workers, which
 * import the modules of `kernels`' recipes before they take a job; stopped when the scope closes.
 */
export const acquireRowThreads = (
  threads: number,
  kernels: ReadonlyArray<ThreadKernel> = []
): Effect.Effect<RowThreads, KernelError, Scope.Scope> => {
  const invalid = badModule(kernels)
  if (invalid !== undefined) return Effect.fail(invalid)
  const start = Effect.tryPromise({
    try: async () => {
      const wt = await import("node:worker_threads")
      const workers = await startWorkers(wt, Math.max(0, threads - 1), modulesOf(kernels))
      return new RowThreads(workers, wt.receiveMessageOnPort)
    },
    catch: (e) => e
  })
  // A kernel module that would not load is the run's error; a worker that would not start is a defect.
  return Effect.acquireRelease(
    Effect.catchAll(start, (e) => (isLoadFailure(e) ? Effect.fail(loadError(kernels, e)) : Effect.die(e))),
    (t) => Effect.promise(() => t.close())
  )
}
