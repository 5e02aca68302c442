/**
 * What a run returns and takes, shared by the fused and the unfused executor.
 */
import type { ResumeOptions, ResumeReport } from "./resume.js"
import type { VoxelArray } from "../../algebra/dtype.js"
import type { VolumeInfo } from "../../algebra/volume.js"
import type { IoError } from "../../algebra/io-errors.js"
import type { KernelError } from "../../algebra/kernel-error.js"
import type { BudgetError, PlanError } from "../plan/errors.js"
import type { Node } from "../plan/graph.js"
import type { PlanOptions } from "../plan/index.js"
import type { PassPlan, Plan } from "../plan/passes.js"

/** Measured figures of one stage in one pass. */
export interface StageMetrics {
  readonly pass: number
  readonly id: number
  readonly kind: Node["kind"]
  readonly label: string
  /**
   * CPU time of this stage's own work (compute, or issuing reads and writes), ms. For a read or
   * write: the process's CPU time while it was in flight, less what the stages computed meanwhile.
   */
  readonly cpuMs: number
  /**
   * Wall time spent in this stage, ms. A read or write in flight while the stages compute (read-ahead,
   * write-behind) is seen to end only after that compute, which is not counted here.
   */
  readonly wallMs: number
  readonly slices: number
  readonly bytesRead: number
  readonly bytesWritten: number
  /** Bytes of ring buffers and scratch this stage allocated. */
  readonly peakBufferBytes: number
}

export interface PassMetrics {
  readonly index: number
  readonly direction: PassPlan["direction"]
  readonly ticks: number
  readonly wallMs: number
  /** Buffer bytes of the pass, measured (allocated rings and scratch). */
  readonly peakBufferBytes: number
}

export interface RunResult {
  readonly plan: Plan
  readonly passes: ReadonlyArray<PassMetrics>
  readonly stages: ReadonlyArray<StageMetrics>
  /** Program outputs that are scalars, by name. */
  readonly scalars: Readonly<Record<string, unknown>>
  /** Program outputs that are volumes but were not written: collected in memory (small data). */
  readonly volumes: Readonly<Record<string, { readonly info: VolumeInfo; readonly data: VoxelArray }>>
  readonly bytesRead: number
  readonly bytesWritten: number
  readonly peakBufferBytes: number
  readonly wallMs: number
  /** Set when the run continued an interrupted one (`RunOptions.resume` found its journal). */
  readonly resumed?: ResumeReport
}

export interface Progress {
  readonly pass: number
  readonly passes: number
  readonly tick: number
  readonly ticks: number
}

export interface RunOptions extends PlanOptions {
  /**
   * "fused" (default): the optimised plan, one synchronous tick loop per pass with fixed rings.
   * "unfused": one Effect Stream stage per algebra node, Stream.broadcast for tees (the reference
   * for fusion; slower, fresh buffers per slice). Both give the same voxels.
   */
  readonly mode?: "fused" | "unfused"
  /** Called after every tick (cheap; the CLI draws its progress bar from it). */
  readonly onProgress?: (p: Progress) => void
  /**
   * Journal the run beside its output, and continue the interrupted run the journal describes, if
   * there is one (resume.ts, docs/RESUME.md). Fused runs of resumable sinks only.
   */
  readonly resume?: ResumeOptions
  /**
   * Without `resume`: the journal an interrupted resumable run of the same output may have left,
   * removed with its temporaries once this run holds the output's lock (it starts over).
   */
  readonly staleJournal?: string
}

/** What a run fails with; a KernelError is what a kernel threw, with its stage and slice. */
export type RunError = IoError | PlanError | BudgetError | KernelError
