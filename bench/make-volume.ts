/**
 * Writes a deterministic test volume for benchmarks: the phantom (balls on noise) or a ramp.
 *
 *   npx tsx bench/make-volume.ts <output> [--shape 512,512,512] [--dtype uint8] [--kind phantom|ramp] [--seed 1]
 *
 * The output format follows the path as for `slicewise run` (a directory is a TIFF stack).
 */
import * as Effect from "effect/Effect"
import { allocSlice, castValue, isDType, type DType } from "../src/algebra/dtype.js"
import { volumeInfo, type Shape } from "../src/algebra/volume.js"
import * as Run from "../src/interpreters/run/index.js"
import { sinkFor } from "../src/io/index.js"
import { phantomSource } from "../src/io/phantom.js"
import type { SliceSource } from "../src/io/slices.js"

const args = process.argv.slice(2)
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1]! : fallback
}
const output = args.find((a, i) => !a.startsWith("--") && (i === 0 || !args[i - 1]!.startsWith("--")))
if (output === undefined) {
  console.error("usage: make-volume.ts <output> [--shape z,y,x] [--dtype uint8] [--kind phantom|ramp] [--seed 1]")
  process.exit(2)
}
const shape = option("shape", "512,512,512").split(",").map(Number) as unknown as Shape
const dtype = option("dtype", "uint8")
if (!isDType(dtype)) throw new Error(`unknown dtype ${dtype}`)
const kind = option("kind", "phantom")
const seed = Number(option("seed", "1"))

/** Values 0..255 rising along x, then y, then z: every slice differs, every row too. */
const rampSource = (d: DType): SliceSource => {
  const info = volumeInfo(d, shape)
  return {
    format: "ramp",
    path: "ramp",
    info,
    details: {},
    sliceReadBytes: () => 0,
    open: Effect.succeed({
      read: (z, into) =>
        Effect.sync(() => {
          const [, h, w] = shape
          for (let y = 0, i = 0; y < h; y++) for (let x = 0; x < w; x++, i++) into[i] = castValue(d, (x + y + z) % 256)
        }),
      bytesRead: () => 0
    })
  }
}

const source = kind === "ramp" ? rampSource(dtype) : phantomSource({ shape, dtype, seed })
void allocSlice
Effect.runPromise(
  Effect.gen(function* () {
    const sink = yield* sinkFor(output)
    const r = yield* Run.run((alg) => ({ out: alg.write(alg.source(source), sink) }))
    console.log(`wrote ${output}: ${kind} ${dtype} ${shape.join("×")}, ${r.bytesWritten} bytes in ${(r.wallMs / 1000).toFixed(2)} s`)
  })
).catch((e) => {
  console.error(String(e))
  process.exit(1)
})
