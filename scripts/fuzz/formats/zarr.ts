/**
 * Zarr seeds for the fuzzers: v2 stores (raw, gzip, zlib, zstd, blosc lz4/zstd, F order, `/`
 * separator, big-endian, missing chunks), v3 sharded stores (gzip inner chunks with a crc32c
 * index; raw) and an OME-Zarr 0.4 image, from test/fixtures/zarr. Their metadata files
 * (.zarray, .zattrs, .zgroup, zarr.json) are mutated as JSON trees and as bytes; chunks as bytes.
 */
import { fixtureTree } from "../seeds.js"
import type { Seed } from "../types.js"

const STORES = [
  "v2-uint8-raw", "v2-uint16-gzip", "v2-uint16-zlib", "v2-float32-zstd", "v2-int16-blosc-lz4", "v2-uint16-blosc-zstd-bit",
  "v2-order-f", "v2-big-endian", "v2-missing", "v2-slash", "v3-sharded", "v3-sharded-raw", "ome-04"
]

const METADATA = new Set([".zarray", ".zattrs", ".zgroup", "zarr.json"])

export const zarrSeeds = (): Array<Seed> =>
  STORES.map((s) => {
    const files = fixtureTree(`zarr/${s}.zarr`, `${s}.zarr`)
    return { name: s, files, entry: `${s}.zarr`, fields: [], jsonFiles: Object.keys(files).filter((k) => METADATA.has(k.split("/").pop()!)) }
  })
