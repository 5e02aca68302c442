/** Zarr over HTTP: a real node:http server serving the fixtures; same voxels and bytes as local. */
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as nodePath from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Effect from "effect/Effect"
import { openSource, sinkFor } from "../../src/io/index.js"
import { openZarr } from "../../src/io/zarr.js"
import { chunkFileBytes, predicted, readAll, up } from "./zarr-helpers.js"

const DIR = nodePath.join(__dirname, "..", "fixtures", "zarr")
let server: http.Server
let base = ""
const requests: Array<string> = []

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)
    requests.push(`${req.method} ${url}`)
    const file = nodePath.join(DIR, nodePath.normalize(url))
    if (!file.startsWith(DIR) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end()
      return
    }
    const body = fs.readFileSync(file)
    res.writeHead(200, { "content-length": body.length, "content-type": "application/octet-stream" })
    res.end(req.method === "HEAD" ? undefined : body)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe("zarr over http", () => {
  for (const name of ["v2-uint16-zstd.zarr", "v2-missing.zarr", "v3-sharded.zarr", "v2-slash.zarr"]) {
    it(`${name}: voxels and bytes as on disk, each chunk fetched once`, async () => {
      requests.length = 0
      const src = await Effect.runPromise(openSource(`${base}/${name}`))
      expect(src.details.store).toBe("http")
      const expected = fs.readFileSync(nodePath.join(DIR, `${name}.expected.bin`))
      const fwd = await Effect.runPromise(readAll(src, undefined, true))
      expect(Buffer.from(fwd.bytes).equals(expected)).toBe(true)
      expect(fwd.bytesRead).toBe(chunkFileBytes(nodePath.join(DIR, name)))
      expect(predicted(src)).toBe(fwd.bytesRead)
      const gets = requests.filter((r) => r.startsWith("GET") && !/(zarray|zattrs|zgroup|zarr\.json)$/.test(r))
      expect(new Set(gets).size).toBe(gets.length)
      const back = await Effect.runPromise(readAll(src, up(src.info.shape[0]).reverse()))
      expect(Buffer.from(back.bytes).equals(expected)).toBe(true)
    })
  }

  it("an OME-Zarr level over http", async () => {
    const src = await Effect.runPromise(openZarr(`${base}/ome-04.zarr`, { level: 1 }))
    const { bytes } = await Effect.runPromise(readAll(src))
    expect(Buffer.from(bytes).equals(fs.readFileSync(nodePath.join(DIR, "ome-04.zarr.level1.expected.bin")))).toBe(true)
  })

  it("a corrupt chunk over http names its URL and chunk; a missing store is a FormatError; writing is refused", async () => {
    const src = await Effect.runPromise(openZarr(`${base}/bad-corrupt-chunk.zarr`))
    const e = await Effect.runPromise(Effect.flip(readAll(src)))
    expect(e._tag).toBe("FormatError")
    expect((e as { path: string }).path).toBe(`${base}/bad-corrupt-chunk.zarr/1.1.0`)
    const none = await Effect.runPromise(Effect.flip(openZarr(`${base}/nothing-here.zarr`)))
    expect(none._tag).toBe("FormatError")
    const w = await Effect.runPromise(Effect.flip(sinkFor(`${base}/out.zarr`)))
    expect(w._tag).toBe("UnsupportedError")
  })
})
