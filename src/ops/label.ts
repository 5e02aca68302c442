/**
 * Connected-component labelling, as scipy.ndimage.label(volume != 0, structure) with
 * generate_binary_structure(3, 1 | 2 | 3) for connectivity 6 | 18 | 26: uint32 labels 1…N of
 * the nonzero voxels, numbered in raster order (z, then y, then x) of each component's first
 * voxel; background 0. The same numbers as scipy, voxel for voxel.
 *
 * Two passes over the input, with memory independent of the depth apart from the equivalence
 * table:
 *
 * 1. A reduction (`labelTable`) runs the provisional labelling slice by slice, keeping only the
 *    previous slice's provisional labels and a union-find over provisional labels, and returns the
 *    table provisional label → final label.
 * 2. A forward sweep (`provisionalLabels`) recomputes the same provisional labels (the same code,
 *    without the union-find), and a pointwise lookup in the table gives the final labels.
 *
 * Provisional labels are assigned in raster order: a foreground voxel takes the smallest
 * provisional label among its already-visited neighbours (those before it in raster order within
 * the structuring element), or a new one if it has none; in pass 1 the other labels it sees are
 * united with that one. Each set's smallest provisional label is the one of its first voxel, so
 * numbering the sets by it (`final = rank of the set's smallest label`) is scipy's raster order.
 *
 * Memory: two padded slices of uint32 labels per pass (8·(Y + 2)·(X + 2) bytes, in the plan as the
 * sweep's scratch), plus the union-find in pass 1: 4 bytes per provisional label, up to twice that
 * while it doubles; the table is made in place over it and is what pass 2 keeps. A new provisional
 * label is made only by a foreground voxel with no labelled neighbour before it, so there are
 * usually far fewer than voxels (a 512³ phantom thresholded to 7 balls: 549; with a quarter of
 * the background as noise, 746,001 for 22,576 components: 3 MB).
 *
 * Limits: at most 2³² − 2 provisional labels (they are stored as uint32: the sweep's output, the
 * union-find and the table), so N ≤ 2³² − 2, as scipy's uint32 output would allow; the labeller
 * throws a RangeError beyond. That many would take 16 GiB of union-find.
 *
 * @example
 * ```ts
 * const labels = label(alg, otsu(alg, alg.source(scan)), { connectivity: 26 })
 * const { labels, count } = labelWithCount(alg, mask, { connectivity: 6 })   // count: Scalar of N
 * ```
 */
import type { Algebra, Repr, Scalar, Volume } from "../algebra/algebra.js"
import type { ArrayOf, DType, VoxelArray } from "../algebra/dtype.js"
import { haloZ, type CheckpointableState, type Reducer, type SliceWindow, type WindowKernel } from "../algebra/kernel.js"
import type { VolumeInfo } from "../algebra/volume.js"

/** Face (6), face and edge (18), or full (26) neighbourhood: generate_binary_structure(3, 1 | 2 | 3). */
export type Connectivity = 6 | 18 | 26

export interface LabelOptions {
  /** Which neighbours connect (default 6, scipy's default structure). */
  readonly connectivity?: Connectivity
}

/** The most provisional labels (and so labels) a volume may have: 2³² − 2. */
export const MAX_LABELS = 0xfffffffe

/** A union-find over provisional labels: parent pointers in a typed array that doubles. */
interface UnionFind {
  parent: Uint32Array
}

/** The root of label a, halving the path on the way (every parent is ≤ its child). */
const findRoot = (parent: Uint32Array, a: number): number => {
  while (parent[a] !== a) {
    const g = parent[parent[a]!]!
    parent[a] = g
    a = g
  }
  return a
}

/** Unites the sets of a and b; the smaller root becomes the root (so a root is its set's minimum). */
const unite = (uf: UnionFind, a: number, b: number): void => {
  const p = uf.parent
  const ra = findRoot(p, a)
  const rb = findRoot(p, b)
  if (ra < rb) p[rb] = ra
  else if (rb < ra) p[ra] = rb
}

/**
 * Labels as signed 32-bit keys in the same order, with 0 (no label) above every label: the
 * smallest label among neighbours is then a branch-free Math.min over int32 keys (background and
 * foreground alternate unpredictably in noisy data, where branches on them mispredict).
 */
const key = (l: number): number => (l - 1) ^ 0x80000000
/** The key of "no label", key(0). */
const NONE = 0x7fffffff
/** The label of a key other than NONE. */
const labelOfKey = (k: number): number => ((k ^ 0x80000000) >>> 0) + 1

/**
 * In pass 1: unites neighbour label l with m, the smallest of the neighbours' labels, unless l is
 * m or 0. One comparison, since those are the labels ≤ m; in most data it is rarely true, so the
 * branch predicts well.
 */
const join = (uf: UnionFind, l: number, m: number): void => {
  if (l > m) unite(uf, l, m)
}

/** The labelling state: the previous and current slice's provisional labels, and the counter. */
interface Labeller {
  readonly connectivity: Connectivity
  readonly width: number
  readonly height: number
  /** Slices with a one-voxel border of zeros: (height + 2) × (width + 2). */
  prev: Uint32Array
  cur: Uint32Array
  /** The next new provisional label. */
  next: number
  /** The z the next slice must have (slices must come in ascending z). */
  z: number
  /** Pass 1 only. */
  readonly uf: UnionFind | undefined
}

const newLabeller = (info: VolumeInfo, connectivity: Connectivity, withUnionFind: boolean): Labeller => {
  if (connectivity !== 6 && connectivity !== 18 && connectivity !== 26) {
    throw new RangeError(`label: connectivity must be 6, 18 or 26, got ${String(connectivity)}`)
  }
  const [, height, width] = info.shape
  const padded = (height + 2) * (width + 2)
  return {
    connectivity,
    width,
    height,
    prev: new Uint32Array(padded),
    cur: new Uint32Array(padded),
    next: 1,
    z: 0,
    uf: withUnionFind ? { parent: new Uint32Array(1024) } : undefined
  }
}

/**
 * A labeller's checkpoint state (`CheckpointableState`): the last slice's labels, the counter, the
 * next z, and in pass 1 the union-find's parents of the labels given so far.
 */
const labellerState = (s: Labeller): CheckpointableState => ({
  snapshot: () => ({ prev: s.prev, next: s.next, z: s.z, ...(s.uf && { parent: s.uf.parent.subarray(0, s.next) }) }),
  restore: (state) => {
    const saved = state as { prev: Uint32Array; next: number; z: number; parent?: Uint32Array }
    s.prev.set(saved.prev)
    s.next = saved.next
    s.z = saved.z
    if (s.uf !== undefined && saved.parent !== undefined) {
      const parent = new Uint32Array(Math.max(1024, saved.parent.length))
      parent.set(saved.parent)
      s.uf.parent = parent
    }
  }
})

/** Bytes of a labeller's slice buffers (the union-find comes on top, in pass 1). */
const labellerBytes = (info: VolumeInfo): number => 2 * 4 * (info.shape[1] + 2) * (info.shape[2] + 2)

/** A new provisional label (registered in the union-find in pass 1). */
const newLabel = (s: Labeller): number => {
  const l = s.next
  if (l > MAX_LABELS) throw new RangeError(`label: more than ${MAX_LABELS} provisional labels (the uint32 limit)`)
  s.next = l + 1
  const uf = s.uf
  if (uf !== undefined) {
    if (l >= uf.parent.length) {
      const grown = new Uint32Array(Math.min(2 * uf.parent.length, MAX_LABELS + 1))
      grown.set(uf.parent)
      uf.parent = grown
    }
    uf.parent[l] = l
  }
  return l
}

/**
 * Labels slice z (which must be the next in ascending order) from the previous slice's labels in
 * `s.prev`; afterwards (the buffers swap) `s.prev` holds slice z's provisional labels, with their
 * zero border. The one implementation both passes run: with a union-find (pass 1) it also records
 * the equivalences.
 *
 * Where the voxel to the left is foreground, only the neighbours it does not share are read:
 * every shared neighbour was visited before the left voxel, so its label is ≥ the left voxel's and
 * already united with it, and the minimum over all neighbours is the minimum over the left voxel
 * and the new ones.
 */
const labelSlice = (s: Labeller, input: VoxelArray, z: number): void => {
  if (z !== s.z) {
    throw new RangeError(`label: slices must come in ascending z from 0, got z = ${z} where ${s.z} was next (a backward pass cannot label)`)
  }
  s.z = z + 1
  const { width: w, height: h, connectivity, uf } = s
  const W = w + 2
  const prev = s.prev
  const cur = s.cur
  // Foreground is v ≠ 0 (NaN included, −0 not), as scipy's `input != 0`. The buffer still holds the
  // slice before the previous one: cleared at once, so that background voxels need no store.
  cur.fill(0)
  // A uint8 mask (a threshold's) is also read four voxels at a time, to skip background quickly.
  const words = input instanceof Uint8Array && input.byteOffset % 4 === 0 ? new Uint32Array(input.buffer, input.byteOffset, input.length >>> 2) : undefined
  let i = 0
  for (let y = 0; y < h; y++) {
    let p = (y + 1) * W + 1
    const end = p + w
    let left = 0
    for (; p < end; p++, i++) {
      if (words !== undefined && (i & 3) === 0 && p + 4 <= end && words[i >>> 2] === 0) {
        p += 3
        i += 3
        left = 0
        continue
      }
      if (input[i] === 0) {
        left = 0
        continue
      }
      // The smallest label among the visited neighbours, then (pass 1) the unions.
      let m: number
      if (connectivity === 26) {
        if (left !== 0) {
          const a = prev[p - W + 1]!, b = prev[p + 1]!, c = prev[p + W + 1]!, d = cur[p - W + 1]!
          // Inside a component whose neighbours all carry the left voxel's label (most voxels of a
          // large one): nothing to unite, the label is the left one.
          if (a === left && b === left && c === left && d === left) {
            cur[p] = left
            continue
          }
          const k = Math.min(key(left), key(a), key(b), key(c), key(d))
          m = labelOfKey(k)
          if (uf !== undefined) {
            join(uf, left, m)
            join(uf, a, m)
            join(uf, b, m)
            join(uf, c, m)
            join(uf, d, m)
          }
        } else {
          const a = prev[p - W - 1]!, b = prev[p - W]!, c = prev[p - W + 1]!, d = prev[p - 1]!, e = prev[p]!, f = prev[p + 1]!
          const g = prev[p + W - 1]!, o = prev[p + W]!, j = prev[p + W + 1]!, k1 = cur[p - W - 1]!, k2 = cur[p - W]!, k3 = cur[p - W + 1]!
          const k = Math.min(key(a), key(b), key(c), key(d), key(e), key(f), key(g), key(o), key(j), key(k1), key(k2), key(k3))
          if (k === NONE) m = newLabel(s)
          else {
            m = labelOfKey(k)
            if (uf !== undefined) {
              join(uf, a, m)
              join(uf, b, m)
              join(uf, c, m)
              join(uf, d, m)
              join(uf, e, m)
              join(uf, f, m)
              join(uf, g, m)
              join(uf, o, m)
              join(uf, j, m)
              join(uf, k1, m)
              join(uf, k2, m)
              join(uf, k3, m)
            }
          }
        }
      } else if (connectivity === 18) {
        if (left !== 0) {
          const a = prev[p - W]!, b = prev[p + 1]!, c = prev[p + W]!, d = cur[p - W + 1]!
          if (a === left && b === left && c === left && d === left) {
            cur[p] = left
            continue
          }
          const k = Math.min(key(left), key(a), key(b), key(c), key(d))
          m = labelOfKey(k)
          if (uf !== undefined) {
            join(uf, left, m)
            join(uf, a, m)
            join(uf, b, m)
            join(uf, c, m)
            join(uf, d, m)
          }
        } else {
          const a = prev[p - W]!, b = prev[p - 1]!, c = prev[p]!, d = prev[p + 1]!, e = prev[p + W]!
          const f = cur[p - W - 1]!, g = cur[p - W]!, o = cur[p - W + 1]!
          const k = Math.min(key(a), key(b), key(c), key(d), key(e), key(f), key(g), key(o))
          if (k === NONE) m = newLabel(s)
          else {
            m = labelOfKey(k)
            if (uf !== undefined) {
              join(uf, a, m)
              join(uf, b, m)
              join(uf, c, m)
              join(uf, d, m)
              join(uf, e, m)
              join(uf, f, m)
              join(uf, g, m)
              join(uf, o, m)
            }
          }
        }
      } else {
        const a = prev[p]!, b = cur[p - W]!
        const k = Math.min(key(left), key(a), key(b))
        if (k === NONE) m = newLabel(s)
        else {
          m = labelOfKey(k)
          if (uf !== undefined) {
            join(uf, left, m)
            join(uf, a, m)
            join(uf, b, m)
          }
        }
      }
      cur[p] = m
      left = m
    }
  }
  s.cur = prev
  s.prev = cur
}

/**
 * The final table of a labeller after its last slice: provisional label → final label, computed in
 * place over the union-find (every parent is smaller than its child, so one ascending scan sees each
 * parent's final label before its children).
 */
const finalTable = (s: Labeller): Uint32Array => {
  const parent = s.uf!.parent
  const n = s.next
  let count = 0
  parent[0] = 0
  for (let p = 1; p < n; p++) {
    const q = parent[p]!
    parent[p] = q === p ? ++count : parent[q]!
  }
  return parent.subarray(0, n)
}

/**
 * Pass 1 of `label`: the provisional labelling with a union-find, folded to the table from
 * provisional label (index) to final label (value); entry 0 is 0. Slices must come in ascending z:
 * the reducer declares `order: "forward"`, so the planner gives it a forward pass (and it throws if
 * fed otherwise: the table would not match the forward sweep of pass 2). The table's length
 * minus one is the number of provisional labels; its largest value is the number of components.
 *
 * @example
 * ```ts
 * const table = alg.reduce(mask, labelTable(26))
 * const n = alg.derive(table, labelCount, "components")   // N
 * ```
 */
export const labelTable = <D extends DType = DType>(connectivity: Connectivity = 6): Reducer<D, Uint32Array> => ({
  name: "label-equivalences",
  params: { connectivity },
  opsPerVoxel: connectivity === 6 ? 4 : 8,
  // Provisional labels are given in raster order: the planner puts this fold in a forward pass.
  order: "forward",
  // The last slice's labels and, growing with the labels, a union-find: 4 bytes per label, about
  // one label per 64 voxels assumed.
  stateBytes: (info) => labellerBytes(info) / 2 + Math.ceil(info.shape.reduce((a, b) => a * b, 1) / 16),
  start: (info: VolumeInfo<D>) => {
    const s = newLabeller(info, connectivity, true)
    let table: Uint32Array | undefined
    return {
      ...labellerState(s),
      add: (slice: ArrayOf<D>, z: number) => labelSlice(s, slice, z),
      result: () => (table ??= finalTable(s))
    }
  }
})

/**
 * Pass 2 of `label`: a forward sweep that recomputes pass 1's provisional labels (uint32), slice
 * by slice, with the same code. State: the previous slice's labels.
 *
 * @example
 * ```ts
 * const provisional = alg.sweep(mask, provisionalLabels(26), "forward")
 * ```
 */
export const provisionalLabels = <D extends DType>(connectivity: Connectivity = 6): WindowKernel<D, "uint32"> => ({
  name: "label-provisional",
  params: { connectivity },
  halo: haloZ(0),
  inPlane: "global",
  mode: "nearest",
  cval: 0,
  output: "uint32",
  opsPerVoxel: connectivity === 6 ? 4 : 8,
  scratchBytes: (info) => labellerBytes(info),
  stateBytes: (info) => labellerBytes(info) / 2,
  prepare: (info) => {
    const s = newLabeller(info, connectivity, false)
    const { width: w, height: h } = s
    const W = w + 2
    return {
      ...labellerState(s),
      compute: (win: SliceWindow<D>, out: Uint32Array) => {
        labelSlice(s, win.at(0), win.z)
        // After labelSlice, `prev` is the slice just labelled.
        const labels = s.prev
        for (let y = 0; y < h; y++) {
          const p0 = (y + 1) * W + 1
          out.set(labels.subarray(p0, p0 + w), y * w)
        }
      }
    }
  }
})

/**
 * Labels and their number, as `scipy.ndimage.label(volume, structure)` returns them: `count` is
 * N, a scalar known after the first pass.
 *
 * @example
 * ```ts
 * const { labels, count } = labelWithCount(alg, mask, { connectivity: 26 })
 * return { labels: alg.write(labels, sink), count }
 * ```
 */
export const labelWithCount = <F extends Repr, D extends DType>(
  alg: Algebra<F>,
  volume: Volume<F, D>,
  options: LabelOptions = {}
): { readonly labels: Volume<F, "uint32">; readonly count: Scalar<F, number> } => {
  const { labels, table } = labelling(alg, volume, options)
  return { labels, count: alg.derive(table, labelCount, "label-count") }
}

const labelling = <F extends Repr, D extends DType>(alg: Algebra<F>, volume: Volume<F, D>, options: LabelOptions) => {
  const connectivity = options.connectivity ?? 6
  const table = alg.reduce(volume, labelTable<D>(connectivity))
  const provisional = alg.sweep(volume, provisionalLabels<D>(connectivity), "forward")
  const labels = alg.map<"uint32", "uint32">(provisional, (x) => alg.lookup(table, x), { dtype: "uint32", name: "label-final" })
  return { labels, table }
}

/** N, the number of components, from a label table (its largest entry). */
export const labelCount = (table: ArrayLike<number>): number => {
  let n = 0
  for (let i = 0; i < table.length; i++) if (table[i]! > n) n = table[i]!
  return n
}

/**
 * Connected components of the nonzero voxels: uint32 labels 1…N in raster order (z, y, x) of each
 * component's first voxel, background 0, as scipy.ndimage.label with
 * generate_binary_structure(3, 1) (connectivity 6, the default), (3, 2) (18) or (3, 3) (26).
 * Two passes over the input; see the module comment for the algorithm and the limits.
 *
 * @example
 * ```ts
 * const labels = label(alg, alg.map(image, (x) => E.ge(x, 100), { dtype: "uint8" }), { connectivity: 26 })
 * ```
 */
export const label = <F extends Repr, D extends DType>(alg: Algebra<F>, volume: Volume<F, D>, options: LabelOptions = {}): Volume<F, "uint32"> =>
  labelling(alg, volume, options).labels
