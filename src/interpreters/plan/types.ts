/**
 * The plan as data: passes, the stages each runs, their bands of rows and the threads that share a
 * slice. The planning modules make or read these (passes.ts plans a pass, bands.ts plans it in
 * bands, threads.ts decides what a pass's threads split), so they live here, below all of them, and
 * those modules import each other one way only: bands.ts → passes.ts → threads.ts.
 *
 * @example
 * ```ts
 * const plan: Plan = planPasses(graph)
 * plan.passes[0]!.stages.map((s: StagePlan) => s.ringSlices)
 * ```
 */
import type { Direction } from "../../algebra/kernel.js"
import type { RowRange, SliceSource } from "../../algebra/slices.js"
import type { Graph, ReduceNode, VolumeNode, WriteNode } from "./graph.js"
import type { WindowSteps } from "./schedule.js"

/** How many threads compute a slice, and the least work per slice worth splitting (threads.ts). */
export interface Threads {
  readonly threads: number
  readonly minSplitOps: number
}

/** A stage as it runs in one pass. */
export interface StagePlan {
  readonly node: VolumeNode
  /** Tick at which step 0 comes out (a source has 0). */
  readonly latency: number
  /** Slices in this stage's output ring, and their bytes. */
  readonly ringSlices: number
  readonly ringBytes: number
  /** Scratch and state bytes of the kernel, and constant slices for `constant` borders. */
  readonly scratchBytes: number
  /** For windows: the input steps each output step reads. */
  readonly steps: WindowSteps | undefined
  /** For zips: slices each input waits for the slowest (its delay line), by input. */
  readonly delays: ReadonlyArray<number>
  /** Total z reach back to the sources (before, after), through every window on the way. */
  readonly haloZ: readonly [number, number]
}

export type PassRoot = ReduceNode | WriteNode

export interface PassPlan {
  readonly index: number
  /** Passes at the same level need the same scalars; a level needs every earlier level's scalars. */
  readonly level: number
  readonly direction: Direction
  readonly roots: ReadonlyArray<PassRoot>
  /** The volume stages this pass computes, in topological order. */
  readonly stages: ReadonlyArray<StagePlan>
  /** Latency of each root (= that of its input). */
  readonly rootLatency: ReadonlyMap<PassRoot, number>
  /** Ticks the pass takes: the deepest stage's depth plus its latency. */
  readonly ticks: number
  /** Bytes of every ring and scratch buffer of the pass (banded: of its largest band). */
  readonly bufferBytes: number
  /** Set when the pass runs in bands of rows to fit a memory budget (see bands.ts). */
  readonly bands?: BandPlan
  /**
   * Read-ahead and write-behind: sources read step t + 1 while the stages compute step t, and
   * sinks write step t while they compute t + 1 and, for a sink with two writes in flight (a TIFF
   * stack), t + 2: one more ring slice per source, one or two per written stage. Off when a memory
   * budget needs those slices.
   */
  readonly overlap: boolean
  /**
   * With overlap, the ticks after which the executor awaits a write it started, and for which a
   * written step stays in its ring: 1, or 2 where every sink of the pass can have two writes in
   * flight (`SliceSink.writesInFlight`) and the budget allows. 0 without overlap.
   */
  readonly writesBehind: number
  /** Threads that compute each slice together (their kernels' scratch is counted: plan/threads.ts). */
  readonly threads: Threads
}

export interface Plan {
  readonly graph: Graph
  readonly passes: ReadonlyArray<PassPlan>
  /** The largest `bufferBytes` of any pass (passes run one after another). */
  readonly peakBufferBytes: number
}

/** One band: the output rows it keeps and the rows it reads, and the template it runs. */
export interface Band {
  readonly rows: RowRange
  readonly read: RowRange
  readonly template: number
}

/** A pass run in bands of rows (bands.ts). */
export interface BandPlan {
  /** Output rows per band (the last may have fewer). */
  readonly rowsPerBand: number
  /** Halo rows read above and below each band. */
  readonly halo: readonly [number, number]
  readonly bands: ReadonlyArray<Band>
  /** The pass planned for bands of each distinct read height. */
  readonly templates: ReadonlyArray<PassPlan>
  /** A template's source → the source whose rows it reads. */
  readonly sourceOf: ReadonlyMap<SliceSource, SliceSource>
  /** A template's write → the program's write it fills a band of. */
  readonly writeOf: ReadonlyMap<WriteNode, WriteNode>
}
