/**
 * How the pages of a multi-page TIFF stack up into axes beyond z, as tifffile reads them: ImageJ
 * hyperstacks (channels fastest, then slices, then frames unless `order=` says otherwise),
 * OME-TIFF (DimensionOrder, with TiffData mapping planes to IFDs) and tifffile's "shaped" JSON
 * description; any other file is one page per z. slicewise streams one channel at one time point:
 * `selectPlanes` picks its pages, or refuses a file with several channels or time points when the
 * caller chose none.
 *
 * @example
 * ```ts
 * const axes = imagejAxes(path, facts, 32)       // 16 slices × 2 channels
 * axesText(axes)                                  // "TZCYX 1×16×2×64×64"
 * planeIndex(axes, 0, 1, 3)                      // 7: page of t 0, channel 1, z 3
 * ```
 */
import * as Effect from "effect/Effect"
import { FormatError, type IoError, UnsupportedError } from "../../algebra/io-errors.js"
import type { ImageJFacts } from "./description.js"
import type { OmeImage } from "./ome.js"

/** Where each (t, c, z) plane of a file is. Plain data, so that inspections compare equal. */
export interface PageAxes {
  /** "imagej", "ome", "shaped" or "plain", for details and messages. */
  readonly kind: string
  /** Axis letters as tifffile names them, slowest first, with the page's "YX". */
  readonly letters: string
  readonly sizes: ReadonlyArray<number>
  readonly z: number
  readonly c: number
  readonly t: number
  /** Steps between planes along t, c and z in the plane order of the file. */
  readonly stride: readonly [t: number, c: number, z: number]
  /** OME: the page of each plane (−1: none); absent when plane p is page p. */
  readonly planeToPage?: Int32Array
  /** Axes read only at index 0 because the file does not say what they are (describe only). */
  readonly note?: string
}

/**
 * The index of plane (t, c, z) in the file's page list, or −1 when the file holds none.
 *
 * @example
 * ```ts
 * planeIndex(axes, 0, 1, 3)   // 7 in a 2-channel ImageJ hyperstack: channels fastest
 * ```
 */
export const planeIndex = (a: PageAxes, t: number, c: number, z: number): number => {
  const p = t * a.stride[0] + c * a.stride[1] + z * a.stride[2]
  return a.planeToPage === undefined ? p : (a.planeToPage[p] ?? -1)
}

/**
 * The axes with their sizes, as `slicewise info` shows them.
 *
 * @example
 * ```ts
 * axesText(axes)   // "TZCYX 1×16×2×64×64"
 * ```
 */
export const axesText = (a: PageAxes): string => `${a.letters} ${a.sizes.join("×")}`

/**
 * Axes whose planes are stored in `letters` order (slowest first, "YX" last), as ImageJ and tifffile
 * store them: the index of a plane is its coordinates' row-major linear index.
 */
const rowMajor = (kind: string, letters: string, sizes: ReadonlyArray<number>, height: number, width: number): PageAxes => {
  const planeLetters = letters.slice(0, -2)
  const stride = { T: 0, C: 0, Z: 0 } as Record<string, number>
  let s = 1
  for (let i = planeLetters.length - 1; i >= 0; i--) {
    const l = planeLetters[i]!
    if (l in stride && sizes[i]! > 1) stride[l] = s
    s *= sizes[i]!
  }
  const size = (l: string) => planeLetters.split("").reduce((n, x, i) => (x === l ? n * sizes[i]! : n), 1)
  return {
    kind,
    letters,
    sizes: [...sizes.slice(0, -2), height, width],
    z: size("Z"),
    c: size("C"),
    t: size("T"),
    stride: [stride.T!, stride.C!, stride.Z!]
  }
}

/** Pages as z, one after another: files without a description of their axes. */
export const plainAxes = (pages: number, height: number, width: number): PageAxes => rowMajor("plain", "ZYX", [pages, height, width], height, width)

/** ImageJ's `order=` values and the axes they store, slowest first (czt: channels fastest). */
const IMAGEJ_ORDERS: Readonly<Record<string, string>> = { czt: "TZC", default: "TZC", ctz: "ZTC", zct: "TCZ", ztc: "CTZ", tcz: "ZCT", tzc: "CZT" }

/**
 * The axes of an ImageJ hyperstack of `pages` pages of `height`×`width`. A plain ImageJ stack (one
 * channel, one frame, no `slices=`) has a page per z, as ImageJ reads it.
 *
 * @example
 * ```ts
 * axesText(imagejAxes("a.tif", { channels: 2, slices: 16, frames: 1, order: "czt", … }, 32, 64, 64))   // "TZCYX 1×16×2×64×64"
 * ```
 */
export const imagejAxes = (path: string, f: ImageJFacts, pages: number, height: number, width: number, describe = false): PageAxes => {
  const stored = IMAGEJ_ORDERS[f.order]
  if (stored === undefined) {
    throw new UnsupportedError({ path, detail: `ImageJ description order=${f.order}`, hint: `ImageJ's orders are ${Object.keys(IMAGEJ_ORDERS).join(", ")}` })
  }
  if (f.channels === 1 && f.frames === 1 && f.slices === 1) return rowMajor("imagej", "TZCYX", [1, pages, 1, height, width], height, width)
  const size: Record<string, number> = { T: f.frames, Z: f.slices, C: f.channels }
  const needed = f.frames * f.slices * f.channels
  if (pages < needed) {
    throw new FormatError({
      path,
      position: "IFD 0 tag 270 (ImageDescription)",
      detail: `ImageJ's channels=${f.channels}, slices=${f.slices}, frames=${f.frames} need ${needed} pages, the file holds ${pages}`,
      hint: "the file is truncated"
    })
  }
  const letters = `${stored}YX`
  const sizes = [...stored].map((l) => size[l]!).concat([height, width])
  if (pages > needed && pages % needed === 0 && f.images === pages) {
    // tifffile calls the rest an unidentified dimension ("I"); which of it is z is not known.
    if (describe) {
      return { ...rowMajor("imagej", `I${letters}`, [pages / needed, ...sizes], height, width), note: "I: not named by the description, read at 0" }
    }
    throw new UnsupportedError({
      path,
      detail: `ImageJ's images=${pages} is ${pages / needed} × channels=${f.channels} × slices=${f.slices} × frames=${f.frames}: an axis the description does not name`
    })
  }
  return rowMajor("imagej", letters, sizes, height, width)
}

/** tifffile's "shaped" description: the array's shape, and its axes when the writer gave them. */
export interface ShapedFacts {
  readonly shape: ReadonlyArray<number>
  readonly axes: string | undefined
  /** tifffile's `truncated`: only the first page's IFD is stored, the data of all after it. */
  readonly truncated: boolean
}

/**
 * Where the page's (Y, X) sit in a shaped description's shape: the leading dimensions stack the
 * pages, trailing ones must be 1 (tifffile's [28, 16, 1] is one 28×16 page). Undefined when the
 * shape does not fit the pages, which tifffile then ignores.
 */
const leadingDimensions = (shape: ReadonlyArray<number>, height: number, width: number): number | undefined => {
  for (let end = shape.length; end >= 2; end--) {
    if (shape[end - 2] === height && shape[end - 1] === width && shape.slice(end).every((n) => n === 1)) return end - 2
  }
  return undefined
}

/**
 * The axes of a tifffile "shaped" file. Leading dimensions named Z, C or T (tifffile writes the
 * names given as `metadata={"axes": …}`) are those axes; without names, one leading dimension of
 * more than one is z (tifffile's "Q"), and several are refused: which of them is z is unknown
 * (`describe`: the last is taken for z, the others are read at 0).
 * Undefined when the shape does not match the pages (tifffile then reads the pages as a plain
 * sequence, and so does slicewise).
 *
 * @example
 * ```ts
 * shapedAxes("a.tif", { shape: [16, 64, 64], axes: undefined, truncated: false }, 64, 64)?.z   // 16
 * ```
 */
export const shapedAxes = (path: string, f: ShapedFacts, height: number, width: number, describe = false): PageAxes | undefined => {
  const lead = leadingDimensions(f.shape, height, width)
  if (lead === undefined) return undefined
  const named = f.axes !== undefined && f.axes.length === f.shape.length ? f.axes.toUpperCase() : undefined
  const letters = (named ?? "Q".repeat(lead) + "YX" + "Q".repeat(f.shape.length - lead - 2)).split("")
  const leading = letters.slice(0, lead)
  const sizes = f.shape.slice(0, lead)
  const big = leading.map((l, i) => [l, sizes[i]!] as const).filter(([, n]) => n > 1)
  const unknown = big.filter(([l]) => !"ZCT".includes(l))
  const text = `${letters.join("")} ${f.shape.join("×")}`
  const ambiguous = unknown.length > 0 && (unknown.length > 1 || big.some(([l]) => l === "Z"))
  if (ambiguous && !describe) {
    throw new UnsupportedError({
      path,
      detail: `tifffile's shaped description says ${text}: ${unknown.map(([l, n]) => `${n} along ${l}`).join(" and ")}, and which of them is z is not stated`,
      hint: "write it with tifffile's metadata={'axes': 'CZYX'} or the like, or as ImageJ or OME-TIFF"
    })
  }
  // The one unnamed leading dimension of more than one is z (describing an ambiguous file: the
  // last, unless one is named Z; the others are read at 0); an axis named twice is refused.
  let zAt = -1
  if (!big.some(([l]) => l === "Z")) leading.forEach((l, i) => (zAt = sizes[i]! > 1 && !"ZCT".includes(l) ? i : zAt))
  const asZ = leading.map((l, i) => ("ZCT".includes(l) ? l : i === zAt ? "Z" : "Q"))
  const named2 = asZ.filter((l, i) => l !== "Q" && sizes[i]! > 1)
  if (new Set(named2).size !== named2.length) {
    throw new UnsupportedError({ path, detail: `tifffile's shaped description says ${text}: an axis appears twice` })
  }
  const axes = { ...rowMajor("shaped", asZ.join("") + "YX", [...sizes, height, width], height, width), letters: letters.join(""), sizes: f.shape }
  return ambiguous ? { ...axes, note: `${zAt >= 0 ? `dimension ${zAt} read as z, ` : ""}the other unnamed dimensions read at 0` } : axes
}

/**
 * The axes of an OME-TIFF Image whose plane p is in the file's page list at `planeToPage[p]`
 * (−1: none; absent: page p): DimensionOrder read backwards, as tifffile names them ("XYZCT" →
 * "TCZYX"), planes counted with the first letter after XY fastest.
 *
 * @example
 * ```ts
 * omeAxes(image, planeToPage).letters   // "TCZYX"
 * ```
 */
export const omeAxes = (image: OmeImage, planeToPage?: Int32Array): PageAxes => {
  const letters = image.order.split("").reverse().join("")
  const { X, Y, Z, C, T } = image.size
  const size: Record<string, number> = { X, Y, Z, C, T }
  const axes = rowMajor("ome", letters, letters.split("").map((l) => size[l]!), Y, X)
  return planeToPage === undefined ? axes : { ...axes, planeToPage }
}

/** How messages name the kinds of axes. */
export const KIND_NAMES: Readonly<Record<string, string>> = { imagej: "ImageJ hyperstack", ome: "OME-TIFF", shaped: "tifffile shaped", plain: "one page per z" }

/** Which channel and time point to stream, and whether a file may be opened without a choice. */
export interface PlaneChoice {
  readonly c?: number
  readonly t?: number
  readonly describe?: boolean
}

/** The chosen index along an axis of `n`, or the error that says why there is none. */
const choose = (path: string, axes: PageAxes, what: "channel" | "time point", flag: string, n: number, chosen: number | undefined, describe: boolean) => {
  const range = n > 1 ? `0…${n - 1}` : "0"
  if (chosen === undefined) return n === 1 || describe ? 0 : undefined
  if (Number.isInteger(chosen) && chosen >= 0 && chosen < n) return chosen
  return new UnsupportedError({
    path,
    detail: `${what} ${chosen} does not exist: ${axesText(axes)} has ${n === 1 ? `one ${what}` : `${n} ${what}s`} (${range})`,
    hint: `use ${flag} ${range}`
  })
}

/**
 * The planes (t, c, z) for z = 0…depth−1 of the chosen channel and time point, as indexes into the
 * file's plane list. A file with several channels or time points and no choice is refused, naming
 * its axes and the flags that choose (`--channel N`, `--time N`), unless `describe` is set: then
 * channel 0 and time 0 are opened.
 *
 * @example
 * ```ts
 * yield* selectPlanes("a.tif", axes, { c: 1 })   // { c: 1, t: 0, planes: [1, 3, 5, …] }
 * ```
 */
export const selectPlanes = (
  path: string,
  axes: PageAxes,
  choice: PlaneChoice
): Effect.Effect<{ readonly c: number; readonly t: number; readonly planes: ReadonlyArray<number> }, IoError> => {
  const describe = choice.describe === true
  const c = choose(path, axes, "channel", "--channel", axes.c, choice.c, describe)
  const t = choose(path, axes, "time point", "--time", axes.t, choice.t, describe)
  if (c instanceof UnsupportedError) return Effect.fail(c)
  if (t instanceof UnsupportedError) return Effect.fail(t)
  if (c === undefined || t === undefined) {
    const missing = [
      ...(c === undefined ? [`${axes.c} channels`] : []),
      ...(t === undefined ? [`${axes.t} time points`] : [])
    ]
    const flags = [...(c === undefined ? [`--channel N (0…${axes.c - 1})`] : []), ...(t === undefined ? [`--time N (0…${axes.t - 1})`] : [])]
    const options = [...(c === undefined ? ["c"] : []), ...(t === undefined ? ["t"] : [])]
    return Effect.fail(
      new UnsupportedError({
        path,
        detail: `${axesText(axes)} (${KIND_NAMES[axes.kind] ?? axes.kind}) has ${missing.join(" and ")}, and slicewise streams one 3D volume: choose with ${flags.join(" and ")}`,
        hint: `the reader option${options.length > 1 ? "s" : ""} ${options.join(" and ")} in the library`
      })
    )
  }
  const planes = Array.from({ length: axes.z }, (_, z) => planeIndex(axes, t, c, z))
  return Effect.succeed({ c, t, planes })
}
