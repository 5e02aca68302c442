/**
 * Where a Zarr store's bytes come from: a local directory (node:fs) or an HTTP(S) URL
 * (@zarrita/storage's FetchStore). Keys are zarrita's absolute keys ("/0/.zarray", "/c/0/1/2").
 *
 * Besides `get`, a backend gives an object's stored size without reading it (`size`: stat, or an
 * HTTP HEAD), which is how a Zarr source knows, before reading any voxel, exactly how many bytes
 * each chunk-row costs; a missing object has no size (undefined), as a missing chunk is fill value.
 *
 * @example
 * ```ts
 * const store = await backendFor("/data/vol.zarr")
 * const meta = await store.get("/.zarray")           // Uint8Array | undefined
 * const bytes = await store.size("/0.0.0")            // stored size of one chunk, or undefined
 * ```
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"

export interface Backend {
  /** The store as the user named it (a directory or a URL), for messages. */
  readonly root: string
  readonly remote: boolean
  /** The object's bytes, or undefined if absent. Other failures reject. */
  get(key: string): Promise<Uint8Array | undefined>
  /** The object's size in bytes, or undefined if absent. */
  size(key: string): Promise<number | undefined>
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

/** An HTTP(S) store, read with @zarrita/storage's FetchStore; sizes by HEAD requests. */
export const httpBackend = async (url: string): Promise<Backend> => {
  const { default: FetchStore } = await import("@zarrita/storage/fetch")
  const base = url.replace(/\/+$/, "")
  const store = new FetchStore(base)
  const locate = (key: string) => base + key
  return {
    root: base,
    remote: true,
    locate,
    get: (key) => store.get(key as `/${string}`),
    size: async (key) => {
      const res = await fetch(locate(key), { method: "HEAD" })
      if (res.status === 404) return undefined
      if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText} for HEAD ${locate(key)}`)
      const length = res.headers.get("content-length")
      if (length === null) throw new Error(`HEAD ${locate(key)} gives no Content-Length: chunk sizes cannot be known before reading`)
      return Number(length)
    }
  }
}

export const isUrl = (path: string) => /^https?:\/\//i.test(path)

export const backendFor = (path: string): Promise<Backend> => (isUrl(path) ? httpBackend(path) : Promise.resolve(fileBackend(path)))

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
