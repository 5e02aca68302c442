/**
 * The stage graph: the plan interpreter's representation of a program. Each algebra call makes one
 * node; using a value twice uses the same node (a tee), so shared work is computed once.
 *
 * @example
 * ```ts
 * const graph = buildGraph(program)      // nodes in creation (topological) order, and the roots
 * graph.nodes.filter((n) => n.kind === "window").length
 * ```
 */
import type { Algebra, Outputs, Program, Repr } from "../../algebra/algebra.js"
import type { DType } from "../../algebra/dtype.js"
import * as E from "../../algebra/expr.js"
import type { Direction, Reducer, WindowKernel } from "../../algebra/kernel.js"
import { sameShape, shapeText, withDType, type VolumeInfo } from "../../algebra/volume.js"
import { arraySink, type ArraySink } from "../../io/memory.js"
import type { SliceSink, SliceSource } from "../../algebra/slices.js"
import { PlanError } from "./errors.js"

interface NodeBase {
  /** Creation order; inputs always have smaller ids. */
  readonly id: number
  readonly label: string
}

export interface SourceNode extends NodeBase {
  readonly kind: "source"
  readonly info: VolumeInfo
  readonly source: SliceSource
  /** For a spill: the write (in an earlier pass) that fills the file this source reads. */
  readonly spilledBy?: WriteNode
}

export interface PointwiseNode extends NodeBase {
  readonly kind: "pointwise"
  /** The stage's output (with a fused tail: the tail's last output). */
  readonly info: VolumeInfo
  readonly inputs: ReadonlyArray<VolumeNode>
  readonly expr: E.Expr
  /** The scalar nodes the stage depends on (at least its expression's ScalarRef and Lookup leaves). */
  readonly scalars: ReadonlyArray<ScalarNode>
  readonly fused?: FusedTail
}

/** Slice-local stages run by the stage after its own work, on scratch slices (rewrite fuse-chain). */
export interface FusedTail {
  /** The dtype of the stage's own result, before the tail. */
  readonly headOutput: DType
  /** Single-input pointwise stages and in-plane windows (no z reach), in order. */
  readonly tail: ReadonlyArray<PointwiseNode | WindowNode>
}

export interface WindowNode extends NodeBase {
  readonly kind: "window"
  readonly info: VolumeInfo
  readonly input: VolumeNode
  readonly kernel: WindowKernel<DType, DType>
  /** Set for sweeps: the kernel keeps state and must see slices in this order. */
  readonly direction: Direction | undefined
  readonly fused?: FusedTail
}

export interface ReduceNode extends NodeBase {
  readonly kind: "reduce"
  readonly input: VolumeNode
  readonly reducer: Reducer<DType, unknown>
}

export interface DeriveNode extends NodeBase {
  readonly kind: "derive"
  readonly input: ScalarNode
  readonly f: (a: unknown) => unknown
}

export interface WriteNode extends NodeBase {
  readonly kind: "write"
  readonly input: VolumeNode
  readonly sink: SliceSink
}

export type VolumeNode = SourceNode | PointwiseNode | WindowNode
export type ScalarNode = ReduceNode | DeriveNode
export type Node = VolumeNode | ScalarNode | WriteNode

/** A volume node whose dtype is D (the representation the plan interpreter gives `Volume<F, D>`). */
export type PlanVolume<D extends DType> = VolumeNode & { readonly info: VolumeInfo<D> }

/** A scalar node whose value has type A. */
export type PlanScalar<A> = ScalarNode & { readonly __value?: A }

export interface PlanRepr extends Repr {
  readonly volume: PlanVolume<this["D"]>
  readonly scalar: PlanScalar<this["A"]>
  readonly written: WriteNode
}

export interface Graph {
  /** Every node, in creation order (a topological order). */
  readonly nodes: ReadonlyArray<Node>
  /** The program's outputs by name. */
  readonly outputs: Readonly<Record<string, Node>>
  /**
   * Outputs that are volumes the program did not write: each gets a write to an in-memory sink,
   * so that a run can return it (for tests and small data).
   */
  readonly collected: ReadonlyMap<string, { readonly node: WriteNode; readonly sink: ArraySink }>
}

export const isVolumeNode = (n: Node): n is VolumeNode =>
  n.kind === "source" || n.kind === "pointwise" || n.kind === "window"

/** The inputs a node reads (volumes and scalars). */
export const nodeInputs = (n: Node): ReadonlyArray<Node> => {
  switch (n.kind) {
    case "source":
      return n.spilledBy === undefined ? [] : [n.spilledBy]
    case "pointwise":
      return [...n.inputs, ...n.scalars]
    case "window":
    case "reduce":
    case "write":
    case "derive":
      return [n.input]
  }
}

/** An algebra whose values are graph nodes; `nodes` collects them in creation order. */
export const makePlanAlgebra = (nodes: Array<Node>): Algebra<PlanRepr> => {
  const add = <N extends Node>(make: (id: number) => N): N => {
    const node = make(nodes.length)
    nodes.push(node)
    return node
  }
  const pointwise = (
    inputs: ReadonlyArray<VolumeNode>,
    f: (...xs: ReadonlyArray<E.Expr>) => E.Expr,
    dtype: DType | undefined,
    name: string | undefined
  ): VolumeNode => {
    if (inputs.length === 0) throw new PlanError({ detail: "zip needs at least one input volume" })
    const first = inputs[0]!
    for (const other of inputs.slice(1)) {
      if (!sameShape(first.info.shape, other.info.shape)) {
        throw new PlanError({
          detail: `zip of volumes of different shapes: ${describe(first)} is ${shapeText(first.info.shape)}, ${describe(other)} is ${shapeText(other.info.shape)}`
        })
      }
      if (first.info.dtype !== other.info.dtype) {
        throw new PlanError({
          detail: `zip of volumes of different dtypes: ${describe(first)} is ${first.info.dtype}, ${describe(other)} is ${other.info.dtype} (cast one first)`
        })
      }
    }
    const expr = f(...inputs.map((_, i) => E.input(i)))
    if (E.arity(expr) > inputs.length) {
      throw new PlanError({ detail: `expression ${E.show(expr)} uses input ${E.arity(expr) - 1} of ${inputs.length}` })
    }
    const scalars = E.scalarRefs(expr) as Array<ScalarNode>
    return add((id): PointwiseNode => ({
      kind: "pointwise",
      id,
      label: name ?? (inputs.length === 1 ? "map" : "zip"),
      info: withDType(first.info, dtype ?? first.info.dtype),
      inputs,
      expr,
      scalars
    }))
  }
  const neighbourhood = (
    input: VolumeNode,
    kernel: WindowKernel<DType, DType>,
    direction: Direction | undefined
  ): VolumeNode => {
    return add((id): WindowNode => ({
      kind: "window",
      id,
      label: kernel.name,
      info: withDType(input.info, kernel.output),
      input,
      kernel,
      direction
    }))
  }

  // The same source used twice is one stage: read once, shared.
  const sources = new Map<SliceSource, SourceNode>()
  return {
    interpreter: "plan",
    info: (volume) => volume.info as never,
    source: (source) => {
      const key = source as unknown as SliceSource
      let node = sources.get(key)
      if (node === undefined) {
        node = add((id): SourceNode => ({ kind: "source", id, label: `${key.format}:${key.path}`, info: key.info, source: key }))
        sources.set(key, node)
      }
      return node as never
    },
    map: (input, f, options) => pointwise([input], (x) => f(x!), options?.dtype, options?.name) as never,
    zip: (inputs, f, options) => pointwise(inputs, f, options?.dtype, options?.name) as never,
    window: (input, kernel) => neighbourhood(input, kernel as never, undefined) as never,
    sweep: (input, kernel, direction) => neighbourhood(input, kernel as never, direction) as never,
    reduce: (input, reducer) =>
      add((id): ReduceNode => ({ kind: "reduce", id, label: reducer.name, input, reducer: reducer as never })) as never,
    derive: (scalar, f, name) =>
      add((id): DeriveNode => ({ kind: "derive", id, label: name, input: scalar, f: f as (a: unknown) => unknown })) as never,
    scalar: (scalar) => E.scalarRef(scalar, scalar.label),
    lookup: (table, index) => E.lookup(table, table.label, index),
    write: (input, sink) => add((id): WriteNode => ({ kind: "write", id, label: `${sink.format}:${sink.path}`, input, sink }))
  }
}

const describe = (n: VolumeNode): string => `#${n.id} ${n.label}`

/** Runs `program` with the plan algebra: the stage graph, before any optimisation. */
export const buildGraph = (program: Program): Graph => {
  const nodes: Array<Node> = []
  const outputs = program(makePlanAlgebra(nodes)) as Outputs<PlanRepr> as Readonly<Record<string, Node>>
  const collected = new Map<string, { node: WriteNode; sink: ArraySink }>()
  for (const [name, node] of Object.entries(outputs)) {
    if (!isVolumeNode(node)) continue
    const sink = arraySink(name)
    const write: WriteNode = { kind: "write", id: nodes.length, label: `memory:${name}`, input: node, sink }
    nodes.push(write)
    collected.set(name, { node: write, sink })
  }
  return { nodes, outputs, collected }
}
