/**
 * An HTTP Zarr store that misbehaves on purpose (src/io/zarr/http.ts): a real node:http server
 * serves Zarr v2 and v3 volumes written by slicewise's own writer, and under a path prefix per
 * fault drops connections mid-body, stalls, answers 503 a few times, 500 forever or 403.
 * Transient faults give the same voxels (and byte counts) as the local read; persistent ones fail
 * with one FileError naming the object's URL and the attempts; 403 is not retried; 404 is fill
 * value. Requests are counted on the server, so no assertion depends on timing beyond bounds that
 * cannot flake.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { FileError, UnsupportedError } from "../../src/algebra/io-errors.js"
import { volumeInfo } from "../../src/algebra/volume.js"
import { openSource } from "../../src/io/index.js"
import { openZarr, zarrSink } from "../../src/io/zarr.js"
import { DEFAULT_HTTP_RETRIES, httpPolicy, type HttpOptions } from "../../src/io/zarr/http.js"
import { predicted, readAll, volumeBytesOf, writeAll } from "../io/zarr-helpers.js"
import { leftovers, runCli, sleep, startCli, tempDir } from "./cli.js"

/**
 * What the server does to a request for a chunk (metadata is always served):
 * - ok: serves it;
 * - drop: the first request of each chunk is cut: HEAD by closing the socket, GET after half the body;
 * - stall-once: the first GET of each chunk is never answered;
 * - 503x2: the first two requests of each chunk (HEAD and GET each) are answered 503;
 * - 500 / 403: every GET of a chunk is answered so; 503: every request of a chunk;
 * - stall: no GET of a chunk is ever answered.
 */
type Fault = "ok" | "drop" | "stall-once" | "503x2" | "500" | "503" | "403" | "stall"

let dir = ""
let server: http.Server
let base = ""
/** Requests seen, by "METHOD /path". */
const seen = new Map<string, number>()
/** Connections of requests the server never answers: closed once the client gives up. */
const closedStalls: Array<string> = []

const isMetadata = (key: string) => /(^|\/)(\.zarray|\.zattrs|\.zgroup|zarr\.json)$/.test(key)

const serveWhole = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => {
  res.writeHead(200, { "content-length": body.length, "content-type": "application/octet-stream" })
  res.end(req.method === "HEAD" ? undefined : body)
}

const misbehave = (fault: Fault, nth: number, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void => {
  const get = req.method === "GET"
  const stall = () => {
    req.socket.once("close", () => closedStalls.push(req.url!))
  }
  switch (fault) {
    case "drop":
      if (nth > 1) return serveWhole(req, res, body)
      if (!get) return void req.socket.destroy()
      res.writeHead(200, { "content-length": body.length, "content-type": "application/octet-stream" })
      return void res.write(body.subarray(0, body.length >> 1), () => req.socket.destroy())
    case "stall-once":
      return get && nth === 1 ? stall() : serveWhole(req, res, body)
    case "stall":
      return get ? stall() : serveWhole(req, res, body)
    case "503x2":
      return nth <= 2 ? void res.writeHead(503).end() : serveWhole(req, res, body)
    case "503":
      return void res.writeHead(503).end()
    case "500":
    case "403":
      return get ? void res.writeHead(Number(fault)).end() : serveWhole(req, res, body)
    case "ok":
      return serveWhole(req, res, body)
  }
}

/** Writes a uint16 volume of 3 chunk-rows × 3 × 3 chunks with slicewise's writer; returns its voxels. */
const writeVolume = async (name: string, version: 2 | 3): Promise<void> => {
  const info = volumeInfo("uint16", [6, 20, 24])
  const sink = zarrSink(path.join(dir, name), { version, chunks: [2, 8, 8], codec: { codec: "zstd" } })
  await Effect.runPromise(writeAll(sink, info, volumeBytesOf(info, version)))
}

beforeAll(async () => {
  dir = tempDir("zarr-http")
  await writeVolume("v2.zarr", 2)
  await writeVolume("v3.zarr", 3)
  fs.cpSync(path.join(dir, "v2.zarr"), path.join(dir, "v2-sparse.zarr"), { recursive: true })
  fs.rmSync(path.join(dir, "v2-sparse.zarr", "1.1.1"))
  server = http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)
    const request = `${req.method} ${url}`
    const nth = (seen.get(request) ?? 0) + 1
    seen.set(request, nth)
    const [, fault, ...rest] = url.split("/")
    const file = path.join(dir, path.normalize(rest.join("/")))
    if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return void res.writeHead(404).end()
    const body = fs.readFileSync(file)
    if (isMetadata(file)) serveWhole(req, res, body)
    else misbehave(fault as Fault, nth, req, res, body)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  fs.rmSync(dir, { recursive: true, force: true })
})

/**
 * Small values so that a test takes about a second. The timeout is long beside a healthy local
 * request, even on a loaded machine, so that request counts are exact; the stall tests, which wait
 * for it, pass shorter ones.
 */
const QUICK: HttpOptions = { retries: 3, backoff: "10 millis", timeout: "5 seconds" }
const STALL_ONCE: HttpOptions = { ...QUICK, timeout: "1 second" }

const local = (name: string) => Effect.runPromise(Effect.flatMap(openZarr(path.join(dir, name)), (src) => readAll(src)))
const remote = (fault: Fault, name: string, options: HttpOptions = QUICK) =>
  Effect.runPromise(Effect.flatMap(openZarr(`${base}/${fault}/${name}`, { http: options }), (src) => Effect.map(readAll(src, undefined, true), (r) => ({ ...r, predicted: predicted(src) }))))
const failure = (fault: Fault, name: string, options: HttpOptions = QUICK) =>
  Effect.runPromise(Effect.flip(Effect.flatMap(openZarr(`${base}/${fault}/${name}`, { http: options }), (src) => readAll(src))))

/** Counts of the requests seen for the chunks of `fault`/`name` by `method`, by path. */
const chunkRequests = (fault: Fault, name: string, method: "GET" | "HEAD"): Array<number> =>
  [...seen].filter(([r]) => r.startsWith(`${method} /${fault}/${name}/`) && !isMetadata(r)).map(([, n]) => n)

/** The first chunk's key (lowest index of the first chunk-row, the one an error names). */
const firstChunk = { "v2.zarr": "0.0.0", "v3.zarr": "c/0/0/0" } as const

describe("an HTTP Zarr store that misbehaves", () => {
  for (const name of ["v2.zarr", "v3.zarr"] as const) {
    for (const [fault, gets] of [["drop", 2], ["stall-once", 2], ["503x2", 3]] as const) {
      it(`${name}, ${fault}: the same voxels and byte counts as the local read; each chunk fetched again whole`, async () => {
        const want = await local(name)
        const got = await remote(fault, name, fault === "stall-once" ? STALL_ONCE : QUICK)
        expect(Buffer.from(got.bytes).equals(Buffer.from(want.bytes))).toBe(true)
        // Only whole objects count: a partial body neither reaches the slab nor the byte count.
        expect(got.bytesRead).toBe(want.bytesRead)
        expect(got.predicted).toBe(want.bytesRead)
        const getCounts = chunkRequests(fault, name, "GET")
        expect(getCounts.length).toBe(27)
        expect(new Set(getCounts)).toEqual(new Set([gets]))
        expect(new Set(chunkRequests(fault, name, "HEAD"))).toEqual(new Set([fault === "stall-once" ? 1 : gets]))
      })
    }

    it(`${name}, 500 forever: one FileError naming the chunk's URL and the 4 attempts`, async () => {
      const e = await failure("500", name)
      const url = `${base}/500/${name}/${firstChunk[name]}`
      expect(e).toBeInstanceOf(FileError)
      expect(e.message).toMatch(new RegExp(`^cannot read ${escape(url)}: GET answered 500 Internal Server Error \\(4 attempts over ${ELAPSED}\\)$`))
      expect((e as FileError).code).toBe("HTTP_500")
      expect(seen.get(`GET /500/${name}/${firstChunk[name]}`)).toBe(4)
    })

    it(`${name}, a stall: fails after the timeout of each of the attempts, naming the URL`, async () => {
      const started = Date.now()
      const e = await failure("stall", name, { retries: 2, backoff: "10 millis", timeout: "400 millis" })
      const elapsed = Date.now() - started
      expect(e.message).toMatch(new RegExp(`^cannot read ${escape(`${base}/stall/${name}/${firstChunk[name]}`)}: GET had no answer within 0\\.4 s \\(3 attempts over ${ELAPSED}\\)$`))
      expect((e as FileError).code).toBe("ETIMEDOUT")
      expect(seen.get(`GET /stall/${name}/${firstChunk[name]}`)).toBe(3)
      // Three timeouts cannot pass sooner; the upper bound only catches a hang.
      expect(elapsed).toBeGreaterThanOrEqual(3 * 400 - 20)
      expect(elapsed).toBeLessThan(30_000)
    })

    it(`${name}, 403: fails at once, no chunk requested twice`, async () => {
      const e = await failure("403", name)
      expect(e.message).toBe(`cannot read ${base}/403/${name}/${firstChunk[name]}: GET answered 403 Forbidden (not retried)`)
      expect((e as FileError).code).toBe("HTTP_403")
      const gets = chunkRequests("403", name, "GET")
      expect(gets.length).toBeGreaterThan(0)
      expect(new Set(gets)).toEqual(new Set([1]))
    })
  }

  it("503 forever while sizes are taken: the source does not open; the HEAD's URL and attempts are named", async () => {
    const e = await failure("503", "v2.zarr")
    expect(e.message).toMatch(new RegExp(`^cannot stat ${escape(base)}/503/v2\\.zarr/\\d\\.\\d\\.\\d: HEAD answered 503 Service Unavailable \\(4 attempts over ${ELAPSED}\\)$`))
  })

  it("a 404 chunk is fill value, asked for once (HEAD) and never fetched", async () => {
    const want = await local("v2-sparse.zarr")
    const got = await remote("ok", "v2-sparse.zarr")
    expect(Buffer.from(got.bytes).equals(Buffer.from(want.bytes))).toBe(true)
    expect(got.bytesRead).toBe(want.bytesRead)
    expect(seen.get("HEAD /ok/v2-sparse.zarr/1.1.1")).toBe(1)
    expect(seen.get("GET /ok/v2-sparse.zarr/1.1.1")).toBeUndefined()
  })

  it("an interrupted read aborts its stalled requests at once (not after the timeout)", async () => {
    closedStalls.length = 0
    const src = await Effect.runPromise(openSource(`${base}/stall/v3.zarr`, { http: { timeout: "60 seconds" } }))
    const read = await Effect.runPromise(Effect.either(Effect.timeout(readAll(src), "300 millis")))
    expect(read._tag).toBe("Left")
    for (let i = 0; i < 200 && closedStalls.length < 9; i++) await sleep(25)
    // The first chunk-row's 9 requests: their connections closed long before the 60 s timeout.
    expect(closedStalls.filter((u) => u.startsWith("/stall/v3.zarr/c/0/")).length).toBe(9)
  })

  it("retries and timeout come from options, then the environment, then the defaults; bad values are refused", () => {
    expect(httpPolicy("u", {}, {}).retries).toBe(DEFAULT_HTTP_RETRIES)
    const env = { SLICEWISE_HTTP_RETRIES: "2", SLICEWISE_HTTP_TIMEOUT: "1.5", SLICEWISE_HTTP_BACKOFF: "0" }
    const p = httpPolicy("u", {}, env)
    expect([p.retries, Duration.toMillis(p.timeout), Duration.toMillis(p.backoff)]).toEqual([2, 1500, 0])
    expect(httpPolicy("u", { retries: 7 }, env).retries).toBe(7)
    expect(() => httpPolicy("http://h/v.zarr", {}, { SLICEWISE_HTTP_TIMEOUT: "soon" })).toThrow(UnsupportedError)
    expect(() => httpPolicy("http://h/v.zarr", {}, { SLICEWISE_HTTP_TIMEOUT: "0" })).toThrow(/timeout/)
    expect(() => httpPolicy("http://h/v.zarr", { retries: -1 })).toThrow(/retries -1/)
  })

  it("the CLI: exit 1, one line naming the URL and the attempts, no output and no temporary", async () => {
    const out = tempDir("zarr-http-out")
    try {
      const output = path.join(out, "out.tif")
      const env = { SLICEWISE_HTTP_RETRIES: "2", SLICEWISE_HTTP_BACKOFF: "0.01", SLICEWISE_HTTP_TIMEOUT: "5" }
      const r = await runCli(["run", `${base}/500/v2.zarr`, output, "copy"], env)
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(new RegExp(`^slicewise: cannot read ${escape(`${base}/500/v2.zarr/0.0.0`)}: GET answered 500 Internal Server Error \\(3 attempts over ${ELAPSED}\\)\\n$`))
      expect(fs.existsSync(output)).toBe(false)
      expect(leftovers(out)).toEqual([])
    } finally {
      fs.rmSync(out, { recursive: true, force: true })
    }
  })

  it("the CLI, SIGINT while every request stalls: exits 130 long before the 120 s timeout, leaving nothing", async () => {
    const out = tempDir("zarr-http-int")
    try {
      const output = path.join(out, "out.tif")
      const stalled = () => chunkRequests("stall", "v2.zarr", "GET").reduce((a, b) => a + b, 0)
      const before = stalled()
      const started = Date.now()
      const run = startCli(["run", `${base}/stall/v2.zarr`, output, "copy"], { SLICEWISE_HTTP_TIMEOUT: "120" })
      while (stalled() === before && Date.now() - started < 60_000) await sleep(25)
      run.child.kill("SIGINT")
      const r = await run.done
      expect(r.status).toBe(130)
      expect(Date.now() - started).toBeLessThan(100_000)
      expect(fs.existsSync(output)).toBe(false)
      expect(leftovers(out)).toEqual([])
    } finally {
      fs.rmSync(out, { recursive: true, force: true })
    }
  })
})

/** How the attempts' time is written: "85 ms", "3.1 s", "30 s". */
const ELAPSED = "(\\d+ ms|\\d+(\\.\\d)? s)"
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
