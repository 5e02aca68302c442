/**
 * TIFF read throughput: slicewise's direct positional reads vs geotiff, on a 256×1024×1024 uint16
 * multi-page file (512 MiB) generated in /tmp, read from the page cache; plus the effect of the
 * destination's alignment relative to the file offset (the DESIGN note on 4 KiB boundaries).
 *
 *   npx vite-node bench/tiff-read.ts [depth]      (KEEP=1 keeps the files in /tmp/slicewise-bench)
 *
 * Prints MB/s (10^6 bytes per second), best of three passes (two for geotiff). The slice buffer is
 * allocated first thing, as a CLI's would be, so glibc maps it 16 bytes into a page; the three
 * files differ only in where their pixel data starts within a page.
 */
import * as fs from "node:fs"
import * as Effect from "effect/Effect"
import { fromFile } from "geotiff"
import { allocSlice, type DType } from "../src/algebra/dtype.js"
import { sliceBytes, sliceLength, volumeInfo, type VolumeInfo } from "../src/algebra/volume.js"
import { openTiffFile, tiffFileSink, type ReadStrategy } from "../src/io/tiff/index.js"

const DIR = "/tmp/slicewise-bench"
const depth = Number(process.argv[2] ?? 256)
const info = volumeInfo("uint16", [depth, 1024, 1024])
const mb = (bytes: number, ns: bigint) => (bytes / (Number(ns) / 1e9) / 1e6).toFixed(0).padStart(6)

/** Writes the bench volume with our writer (data placed at `phase` within a 4 KiB page). */
const generate = async (path: string, phase: number, vol: VolumeInfo<DType>) => {
  const sink = tiffFileSink(path, { dataPhase: phase })
  if (fs.existsSync(path) && fs.statSync(path).size === sink.outputBytes(vol)) return
  const slice = allocSlice("uint16", sliceLength(vol))
  await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const w = yield* sink.create(vol as VolumeInfo<"uint16">)
        for (let z = 0; z < vol.shape[0]; z++) {
          for (let i = 0; i < slice.length; i++) slice[i] = (i * 7 + z * 131) & 0xffff
          yield* w.write(z, slice)
        }
        yield* w.commit
      })
    )
  )
}

/** Reads the whole file once so that every pass below reads from the page cache. */
const warm = (path: string) => {
  const fd = fs.openSync(path, "r")
  const buf = Buffer.allocUnsafe(8 << 20)
  for (let p = 0; fs.readSync(fd, buf, 0, buf.length, p) > 0; p += buf.length);
  fs.closeSync(fd)
}

const best = async (passes: number, run: () => Promise<number>): Promise<string> => {
  let out = ""
  let bestRate = 0
  for (let i = 0; i < passes; i++) {
    const t = process.hrtime.bigint()
    const bytes = await run()
    const ns = process.hrtime.bigint() - t
    const rate = bytes / Number(ns)
    if (rate > bestRate) {
      bestRate = rate
      out = mb(bytes, ns)
    }
  }
  return out
}

const slicewise = (path: string, strategy: ReadStrategy, slice: Uint16Array, slices = depth) => async () => {
  const src = await Effect.runPromise(openTiffFile(path, { strategy }))
  return Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const r = yield* src.open
        for (let z = 0; z < slices; z++) yield* r.read(z, slice as never)
        return r.bytesRead()
      })
    )
  )
}

const geotiff = (path: string, pages: number) => async () => {
  const tiff = await fromFile(path)
  let bytes = 0
  for (let z = 0; z < pages; z++) {
    const image = await tiff.getImage(z)
    const raster = await image.readRasters({ interleave: true })
    bytes += (raster as unknown as Uint16Array).byteLength
  }
  await tiff.close()
  return bytes
}

/**
 * Destination sweep: slices read into a view at byte d of the early buffer (d = 0…60, then far
 * away), so the destination's offset within a page moves against the file data's (16).
 */
const phaseSweep = async (path: string, early: ArrayBuffer, slices: number) => {
  const n = sliceLength(info)
  const ds = [...Array.from({ length: 16 }, (_, i) => i * 4), 256, 2048]
  console.log(`\ndestination sweep: ${slices} slices of ${path.slice(DIR.length + 1)} into a view at byte d of the early buffer, MB/s`)
  console.log(`  d        ${ds.map((d) => String(d).padStart(6)).join("")}`)
  for (const strategy of ["direct", "staged", "auto"] as const) {
    const row: string[] = []
    for (const d of ds) row.push(await best(3, slicewise(path, strategy, new Uint16Array(early, d, n), slices)))
    console.log(`  ${strategy.padEnd(8)} ${row.join("")}`)
  }
}

const main = async () => {
  // Allocated before anything is freed, as a CLI's slice buffers are: glibc maps it, 16 bytes into
  // a page. Every pass below reads into this same memory.
  const early = new ArrayBuffer(sliceBytes(info) + 8192)
  const slice = new Uint16Array(early, 0, sliceLength(info))
  fs.mkdirSync(DIR, { recursive: true })
  const files = [
    { path: `${DIR}/vol-phase16.tif`, phase: 16, note: "default layout: data 16 bytes into a page" },
    { path: `${DIR}/vol-phase8.tif`, phase: 8, note: "data 8 bytes into a page" },
    { path: `${DIR}/vol-phase0.tif`, phase: 0, note: "data page-aligned" }
  ]
  for (const f of files) await generate(f.path, f.phase, info)
  const total = sliceBytes(info) * depth
  console.log(`volume ${depth}×1024×1024 uint16, ${(total / 2 ** 20).toFixed(0)} MiB per file, from the page cache`)
  console.log(`node ${process.version}, ${(await import("node:os")).cpus().length} cores\n`)
  console.log("reader                                   file                 MB/s")
  for (const f of files) {
    warm(f.path)
    for (const strategy of ["direct", "staged", "auto"] as const) {
      const rate = await best(3, slicewise(f.path, strategy, slice))
      console.log(`slicewise openTiffFile, ${strategy.padEnd(7)}          ${f.path.slice(DIR.length + 1).padEnd(18)} ${rate}   (${f.note})`)
    }
  }
  const pages = Math.min(depth, 16)
  warm(files[0]!.path)
  const geo = await best(2, geotiff(files[0]!.path, pages))
  console.log(`geotiff fromFile + readRasters (${pages} pages) ${files[0]!.path.slice(DIR.length + 1).padEnd(18)} ${geo}`)
  await phaseSweep(files[0]!.path, early, Math.min(depth, 64))
  if (!process.env.KEEP) for (const f of files) fs.rmSync(f.path, { force: true })
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
