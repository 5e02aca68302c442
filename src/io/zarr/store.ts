/**
 * Where a Zarr store's bytes come from: a local directory (node:fs) or an HTTP(S) URL (fetch,
 * with retries, backoff and a timeout per attempt: ./http.ts). Keys are zarrita's absolute keys
 * ("/0/.zarray", "/c/0/1/2").
 *
 * Besides `get`, a backend gives an object's stored size without reading it (`size`: stat, or an
 * HTTP HEAD), which is how a Zarr source knows, before reading any voxel, exactly how many bytes
 * each chunk-row costs; a missing object has no size (undefined), as a missing chunk is fill value.
 *
 * @example
 * ```ts
 * const store = backendFor("/data/vol.zarr")          // or backendFor("https://…/vol.zarr", { retries: 3 })
 * const meta = await store.get("/.zarray")           // Uint8Array | undefined
 * const bytes = await store.size("/0.0.0")            // stored size of one chunk, or undefined
 * ```
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { getObject, headObject, httpPolicy, runRequest, type HttpOptions } from "./http.js"

export interface Backend {
  /** The store as the user named it (a directory or a URL), for messages. */
  readonly root: string
  readonly remote: boolean
  /**
   * The object's bytes, or undefined if absent. Other failures reject. `signal` aborts a remote
   * request (the reader passes one that aborts when its Effect is interrupted).
   */
  get(key: string, signal?: AbortSignal): Promise<Uint8Array | undefined>
  /** The object's size in bytes, or undefined if absent. */
  size(key: string, signal?: AbortSignal): Promise<number | undefined>
  /** Where an object lives, for messages (a file path or a URL). */
  locate(key: string): string
  /** The names in directory `key` (local stores), or undefined if there is no such directory. */
  list?(key: string): Promise<ReadonlySet<string> | undefined>
}

const isAbsent = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code
  return code === "ENOENT" || code === "ENOTDIR"
}

/** A local directory. */
export const fileBackend = (root: string): Backend => {
  const locate = (key: string) => nodePath.join(root, ...key.split("/").filter((p) => p !== ""))
  return {
    root,
    remote: false,
    locate,
    get: async (key) => {
      try {
        const b = await fs.promises.readFile(locate(key))
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
      } catch (e) {
        if (isAbsent(e)) return undefined
        throw e
      }
    },
    size: async (key) => {
      try {
        const st = await fs.promises.stat(locate(key))
        return st.isFile() ? st.size : undefined
      } catch (e) {
        if (isAbsent(e)) return undefined
        throw e
      }
    },
    list: async (key) => {
      try {
        return new Set(await fs.promises.readdir(locate(key)))
      } catch (e) {
        if (isAbsent(e)) return undefined
        throw e
      }
    }
  }
}

/**
 * An HTTP(S) store: GET for objects, HEAD for sizes, each retried on transient faults as `options`
 * (then the environment, then the defaults) say; a 404 is an absent object. Throws an
 * UnsupportedError for options or environment values that are not valid.
 */
export const httpBackend = (url: string, options: HttpOptions = {}): Backend => {
  const base = url.replace(/\/+$/, "")
  const policy = httpPolicy(base, options)
  const locate = (key: string) => base + key
  return {
    root: base,
    remote: true,
    locate,
    get: (key, signal) => runRequest(getObject(locate(key), policy), signal),
    size: (key, signal) => runRequest(headObject(locate(key), policy), signal)
  }
}

export const isUrl = (path: string) => /^https?:\/\//i.test(path)

/** The backend for a directory or an http(s) URL; `http` applies to URLs only. */
export const backendFor = (path: string, http?: HttpOptions): Backend => (isUrl(path) ? httpBackend(path, http) : fileBackend(path))

/**
 * The same backend with every request tied to `signal`: for code that takes a backend and has no
 * signal of its own (metadata parsing, zarrita's store).
 *
 * @example
 * ```ts
 * const located = await locateArray(withSignal(backend, signal), level)   // aborted with `signal`
 * ```
 */
export const withSignal = (backend: Backend, signal: AbortSignal): Backend => ({
  ...backend,
  get: (key) => backend.get(key, signal),
  size: (key) => backend.size(key, signal)
})

/**
 * Runs `f` over `items` in order with at most `limit` in flight. After a failure no new item
 * starts; the ones running finish, and the failure of the lowest-indexed item is the one reported
 * (so an error names the same chunk whatever the timing).
 */
export const pool = async <A>(items: ReadonlyArray<A>, limit: number, f: (a: A, i: number) => Promise<void>): Promise<void> => {
  let next = 0
  const failed: { index: number; error: unknown } = { index: -1, error: undefined }
  const worker = async () => {
    while (failed.index < 0 && next < items.length) {
      const i = next++
      try {
        await f(items[i]!, i)
      } catch (error) {
        if (failed.index < 0 || i < failed.index) {
          failed.index = i
          failed.error = error
        }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (failed.index >= 0) throw failed.error
}
