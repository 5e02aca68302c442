/**
 * What the calling thread and its row workers share (pool.ts, worker.ts). Set-up travels as
 * messages, which the worker takes synchronously before each job; a job itself is a few integers
 * in shared memory, handed over and waited for with Atomics, so a split step costs microseconds.
 */
import type { MessagePort } from "node:worker_threads"
import type { DType } from "../../../algebra/dtype.js"
import type { KernelRecipe } from "../../../algebra/kernel.js"
import type { VolumeInfo } from "../../../algebra/volume.js"
import type { PointwiseSource } from "../compile.js"

/** Int32 slots of a worker's control block. */
export const CONTROL = {
  /** The number of the job last handed over (the worker waits on it). */
  posted: 0,
  /** The number of the job last finished (the caller waits on it). */
  done: 1,
  /** 1 when the last job failed (its error is on the error port). */
  failed: 2,
  /** How many set-up messages the caller has sent; a job waits until the worker has read as many. */
  messages: 3
} as const

export const CONTROL_INTS = 4

/** Int32 slots of a job: step, z, rows [start, end), then each array as 4 ints. */
export const JOB = { step: 0, z: 1, start: 2, end: 3, count: 4, arrays: 5 } as const

/** An array in a job: buffer id, byte offset, voxels, dtype (index in DTYPES). */
export const ARRAY_INTS = 4


/** How a step's rows are handed to a worker. */
export type StepMode =
  /** `computeRows` of a kernel prepared for the whole slice. */
  | "rows"
  /** A kernel with no y halo prepared for a band of rows, over views of those rows. */
  | "band"

export type SetupMessage =
  | { readonly type: "buffer"; readonly id: number; readonly buffer: SharedArrayBuffer }
  | {
      readonly type: "kernel"
      readonly step: number
      readonly recipe: KernelRecipe
      readonly info: VolumeInfo<DType>
      readonly mode: StepMode
    }
  | {
      readonly type: "pointwise"
      readonly step: number
      readonly source: PointwiseSource
      readonly scalars: ReadonlyArray<unknown>
      readonly width: number
    }
  /** Forget every step and buffer (a pass ended). */
  | { readonly type: "reset" }

/** A module of kernel factories a worker imports before it starts, and the exports it must have. */
export interface KernelModule {
  readonly module: string
  readonly factories: ReadonlyArray<string>
}

export interface WorkerData {
  readonly control: SharedArrayBuffer
  readonly job: SharedArrayBuffer
  /** The worker's end of the channel: set-up messages in, job failures out. */
  readonly port: MessagePort
  /** The modules of the recipes of the run's split kernels (the worker imports them first). */
  readonly modules: ReadonlyArray<KernelModule>
}

/** The worker's first message: ready for jobs, or why it could not load a kernel module. */
export type StartMessage =
  | { readonly type: "ready" }
  | { readonly type: "failed"; readonly module: string; readonly factory?: string; readonly message: string }

/** What a failed job leaves on the error port. */
export interface JobFailure {
  readonly message: string
  readonly stack?: string
}
