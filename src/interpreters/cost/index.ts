/**
 * The cost interpreter: a dry run. From the optimised plan and the sources' metadata only — no
 * voxel is read — it predicts what a run will read, write and hold: bytes read per source and
 * bytes written per sink and spill, pass by pass; I/O amplification; buffer bytes by stage;
 * voxel-operations by stage; and a rough time from throughput constants.
 *
 * The byte figures are exact (the run's measured figures equal them; a property test checks it on
 * every generated program): a source states what reading slice z costs (`sliceReadBytes`), a sink
 * what the whole output takes (`outputBytes`), and every pass reads each of its sources once.
 *
 * @example
 * ```ts
 * const cost = yield* Cost.estimate(program)
 * if (cost.peakBufferBytes > budget) … // decide before reading anything
 * console.log(Cost.costText(cost))
 * ```
 */
import * as Effect from "effect/Effect"
import type { Program } from "../../algebra/algebra.js"
import { voxelCount } from "../../algebra/volume.js"
import { formatBytes, formatMs } from "../../util/units.js"
import type { BudgetError, PlanError } from "../plan/errors.js"
import type { VolumeNode } from "../plan/graph.js"
import { make as makePlan, type PlanOptions } from "../plan/index.js"
import type { PassPlan, Plan } from "../plan/passes.js"
import { passReadBytes, wholeReadBytes } from "../plan/bands.js"
import { stageSteps, type Threads } from "../plan/threads.js"

/**
 * Throughputs for the time estimate. The defaults are rough figures of this project's development
 * machine (docs/BENCHMARKS.md), not a calibration of yours: `slicewise calibrate` measures yours
 * and `loadThroughput` (./calibration.ts) reads them back. The voxel rate is what `slicewise
 * calibrate` measures there, 0.9 G voxel-ops/s (docs/BENCHMARKS.md, "1024³: the buffers of every
 * op, and the largest measured"): estimates scale with its inverse, so it has to follow the
 * kernels' speed, or every estimate is off by the same factor.
 */
export interface Throughput {
  readonly readBytesPerSecond: number
  readonly writeBytesPerSecond: number
  readonly voxelOpsPerSecond: number
}

export const DEFAULT_THROUGHPUT: Throughput = {
  readBytesPerSecond: 1.0e9,
  writeBytesPerSecond: 0.5e9,
  voxelOpsPerSecond: 0.9e9
}

export interface IoCost {
  readonly format: string
  readonly path: string
  readonly bytes: number
  /** False for a compressed output, whose `bytes` is an estimate (its uncompressed size). */
  readonly exact: boolean
}

export interface StageCost {
  readonly id: number
  readonly label: string
  /** Ring plus scratch bytes the stage holds in this pass (banded: in its largest band). */
  readonly bufferBytes: number
  /** Of those: its output ring (delay lines included: they are ring slices). */
  readonly ringBytes: number
  readonly ringSlices: number
  /** Of those: kernel scratch and state, fused-chain slices, reader buffers (chunk slabs). */
  readonly scratchBytes: number
  /** Operations per voxel times voxels, for this pass. */
  readonly voxelOps: number
}

export interface PassCost {
  readonly index: number
  readonly direction: PassPlan["direction"]
  /** Bands of rows the pass runs in (1: whole slices), and the halo rows each reads above and below. */
  readonly bands: number
  readonly bandHalo: readonly [number, number]
  readonly reads: ReadonlyArray<IoCost>
  readonly writes: ReadonlyArray<IoCost>
  readonly bufferBytes: number
  readonly voxelOps: number
  readonly stages: ReadonlyArray<StageCost>
}

export interface Cost {
  readonly plan: Plan
  readonly passes: ReadonlyArray<PassCost>
  /** Bytes read from sources and spills, in total. */
  readonly bytesRead: number
  /** Bytes written to sinks and spills, in total. */
  readonly bytesWritten: number
  /** False when a compressed output makes `bytesWritten` an estimate. */
  readonly bytesWrittenExact: boolean
  /** Of those, the spills' (written once, read back once). */
  readonly spillBytesWritten: number
  /**
   * Bytes read divided by what reading every input (not spills) once takes: 1.00 for a single pass
   * over each input; more when a later pass re-reads one.
   */
  readonly amplification: number
  readonly peakBufferBytes: number
  readonly voxelOps: number
  /**
   * From `throughput`: reads, writes and compute added up (no overlap assumed), the compute of
   * steps split among row threads divided by their number.
   */
  readonly estimatedSeconds: number
  readonly throughput: Throughput
  /** Where the throughputs came from: a calibration file's path, or "defaults". */
  readonly throughputFrom: string
}

/** A stage's ring and scratch in the pass (banded: in the band where they are largest). */
const stageBuffers = (pass: PassPlan, id: number): Pick<StageCost, "bufferBytes" | "ringBytes" | "ringSlices" | "scratchBytes"> => {
  const plans = pass.bands === undefined ? [pass] : pass.bands.templates
  let best = { bufferBytes: 0, ringBytes: 0, ringSlices: 0, scratchBytes: 0 }
  for (const p of plans) {
    for (const sp of p.stages) {
      if (sp.node.id !== id || sp.ringBytes + sp.scratchBytes < best.bufferBytes) continue
      best = { bufferBytes: sp.ringBytes + sp.scratchBytes, ringBytes: sp.ringBytes, ringSlices: sp.ringSlices, scratchBytes: sp.scratchBytes }
    }
  }
  return best
}

/**
 * Operations per voxel of a stage's own work and its fused tail, and the same as the time they
 * take: the steps split among `t`'s threads count 1/threads.
 */
const opsPerVoxel = (n: VolumeNode, t: Threads): { readonly ops: number; readonly timed: number } => {
  if (n.kind === "source") return { ops: 0, timed: 0 }
  let ops = 0
  let timed = 0
  for (const step of stageSteps(n, t)) {
    ops += step.opsPerVoxel
    timed += step.split ? step.opsPerVoxel / t.threads : step.opsPerVoxel
  }
  return { ops, timed }
}

/** The cost of a plan (pure: reads no voxel and opens no file). */
export const costOf = (plan: Plan, throughput: Throughput = DEFAULT_THROUGHPUT, throughputFrom = "defaults"): Cost => {
  const inputs = new Map<string, number>()
  let bytesRead = 0
  let bytesWritten = 0
  let spillBytesWritten = 0
  let bytesWrittenExact = true
  let voxelOps = 0
  // Voxel-ops as time: those of split steps shared among the threads.
  let timedOps = 0
  const passes = plan.passes.map((pass): PassCost => {
    const reads: Array<IoCost> = []
    const stages: Array<StageCost> = []
    let ops = 0
    const passReads = passReadBytes(pass)
    // Halo rows are computed once per band that reads them.
    const computedRows = pass.bands === undefined ? 1 : pass.bands.bands.reduce((a, b) => a + b.read.end - b.read.start, 0) / pass.roots[0]!.input.info.shape[1]
    for (const sp of pass.stages) {
      const n = sp.node
      if (n.kind === "source") {
        const bytes = passReads.get(n)!
        reads.push({ format: n.source.format, path: n.source.path, bytes, exact: true })
        bytesRead += bytes
        if (n.spilledBy === undefined) inputs.set(`${n.source.format}:${n.source.path}`, wholeReadBytes(n))
      }
      const perVoxel = opsPerVoxel(n, pass.threads)
      const stageOps = Math.round(perVoxel.ops * voxelCount(n.info) * computedRows)
      ops += stageOps
      timedOps += perVoxel.timed * voxelCount(n.info) * computedRows
      stages.push({ id: n.id, label: n.label, ...stageBuffers(pass, n.id), voxelOps: stageOps })
    }
    const writes: Array<IoCost> = []
    for (const r of pass.roots) {
      if (r.kind === "reduce") {
        ops += r.reducer.opsPerVoxel * voxelCount(r.input.info)
        timedOps += r.reducer.opsPerVoxel * voxelCount(r.input.info)
        continue
      }
      const bytes = r.sink.outputBytes(r.input.info)
      const exact = r.sink.outputBytesExact !== false
      if (!exact) bytesWrittenExact = false
      writes.push({ format: r.sink.format, path: r.sink.path, bytes, exact })
      bytesWritten += bytes
      if (r.sink.format === "spill") spillBytesWritten += bytes
    }
    voxelOps += ops
    return {
      index: pass.index,
      direction: pass.direction,
      bands: pass.bands?.bands.length ?? 1,
      bandHalo: pass.bands?.halo ?? [0, 0],
      reads,
      writes,
      bufferBytes: pass.bufferBytes,
      voxelOps: ops,
      stages
    }
  })
  const inputBytes = [...inputs.values()].reduce((a, b) => a + b, 0)
  return {
    plan,
    passes,
    bytesRead,
    bytesWritten,
    bytesWrittenExact,
    spillBytesWritten,
    amplification: inputBytes === 0 ? 1 : (bytesRead - spillBytesWritten) / inputBytes,
    peakBufferBytes: plan.peakBufferBytes,
    voxelOps,
    estimatedSeconds:
      bytesRead / throughput.readBytesPerSecond + bytesWritten / throughput.writeBytesPerSecond + timedOps / throughput.voxelOpsPerSecond,
    throughput,
    throughputFrom
  }
}

/** The dry run of a program: its plan and what running it will cost. Reads no voxel. */
export const estimate = (
  program: Program,
  options: PlanOptions & { readonly throughput?: Throughput; readonly throughputFrom?: string } = {}
): Effect.Effect<Cost, PlanError | BudgetError> =>
  Effect.map(makePlan(program, options), (plan) => costOf(plan, options.throughput, options.throughputFrom))

/** The cost as text: per pass its reads, writes and buffers, then the totals. */
export const costText = (cost: Cost): string => {
  const lines: Array<string> = []
  for (const p of cost.passes) {
    const bands = p.bands > 1 ? `  ${p.bands} bands (halo ${p.bandHalo[0]}+${p.bandHalo[1]} rows)` : ""
    lines.push(
      `pass ${p.index + 1}/${cost.passes.length}  ${p.direction}${bands}  buffers ${formatBytes(p.bufferBytes)}  ${(p.voxelOps / 1e6).toFixed(0)} M voxel-ops`
    )
    for (const r of p.reads) lines.push(`  read   ${formatBytes(r.bytes).padStart(10)}  ${r.format} ${r.path}`)
    for (const st of p.stages) {
      const scratch = st.scratchBytes > 0 ? ` + scratch ${formatBytes(st.scratchBytes)}` : ""
      lines.push(
        `  stage  ${formatBytes(st.bufferBytes).padStart(10)}  #${st.id} ${st.label}: ring ${st.ringSlices} slice${st.ringSlices === 1 ? "" : "s"} ${formatBytes(st.ringBytes)}${scratch}, ${(st.voxelOps / 1e6).toFixed(0)} M voxel-ops`
      )
    }
    for (const w of p.writes) {
      lines.push(`  write ${w.exact ? " " : "≈"}${formatBytes(w.bytes).padStart(10)}  ${w.format} ${w.path}${w.exact ? "" : " (compressed: estimated as its uncompressed size)"}`)
    }
  }
  lines.push(
    `total: read ${formatBytes(cost.bytesRead)}, write ${cost.bytesWrittenExact ? "" : "≈"}${formatBytes(cost.bytesWritten)}` +
      (cost.spillBytesWritten > 0 ? ` (spills ${formatBytes(cost.spillBytesWritten)})` : "") +
      `, amplification ${cost.amplification.toFixed(2)}, peak buffers ${formatBytes(cost.peakBufferBytes)}, ` +
      `${(cost.voxelOps / 1e6).toFixed(0)} M voxel-ops, about ${formatMs(cost.estimatedSeconds * 1000)} ` +
      (cost.throughputFrom === "defaults" ? "(default throughputs: run slicewise calibrate)" : `(throughputs from ${cost.throughputFrom})`)
  )
  return lines.join("\n")
}

/** The cost as JSON-ready data (without the plan). */
export const costJson = (cost: Cost) => ({
  passes: cost.passes,
  bytesRead: cost.bytesRead,
  bytesWritten: cost.bytesWritten,
  bytesWrittenExact: cost.bytesWrittenExact,
  spillBytesWritten: cost.spillBytesWritten,
  amplification: cost.amplification,
  peakBufferBytes: cost.peakBufferBytes,
  voxelOps: cost.voxelOps,
  estimatedSeconds: cost.estimatedSeconds,
  throughput: cost.throughput,
  throughputFrom: cost.throughputFrom
})
