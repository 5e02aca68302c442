/**
 * The store of measured peaks of external tools: one JSON file of models, each the samples of one
 * tool with one parameter set (./tool-model.ts fits them when a prediction is asked for).
 *
 * - Where: `--models FILE` on calibrate-tool, else $SLICEWISE_MODELS, else
 *   $XDG_CACHE_HOME/slicewise/tool-models.json (~/.cache/…). A cache, not configuration: deleting
 *   it brings back the built-in models.
 * - Key: the tool and a hash of its parameter files' contents (`modelKey`), so an edited
 *   parameter file is a new model while a renamed one is not.
 * - Updates are read-modify-write under a lock file (`FILE.lock`, created exclusively), and the
 *   new document is written to a temporary beside it and renamed over it. Readers take no lock:
 *   a rename is atomic, so they see the old file or the new one, never half of one. Chosen over an
 *   append-only log of samples because the store stays one small document with a Schema that a
 *   prediction reads in one go, a log would grow without bound and need a lock to be compacted
 *   anyway, and O_APPEND writes are not atomic on NFS, where runners' home directories often are.
 *   A writer holds the lock for milliseconds; a lock older than 10 s is from a process that died
 *   and is broken (by an atomic rename, so that one breaker wins).
 * - Calibration samples are kept; of the samples of finished jobs the newest 256 per model.
 *
 * @example
 * ```ts
 * const key = modelKey("elastix", [fs.readFileSync("affine.txt", "utf8")])
 * yield* appendSamples(modelsPath(), { key, tool: "elastix", params: "affine.txt" }, [{ voxels, threads: 1, peakBytes, source: "job" }])
 * const stored = yield* readModels(modelsPath())   // stored?.models[key]?.samples
 * ```
 */
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { temporaryName } from "../../io/atomic.js"
import { fitModel, type FittedModel } from "./tool-model.js"

const NonNegative = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())

export const StoredSample = Schema.Struct({
  voxels: NonNegative,
  threads: Schema.Int.pipe(Schema.positive()),
  peakBytes: NonNegative,
  /** calibrate-tool's runs, or a finished job's. */
  source: Schema.Literal("calibrate", "job"),
  /** ISO time of the measurement. */
  at: Schema.String
})
export type StoredSample = typeof StoredSample.Type

export const StoredModel = Schema.Struct({
  tool: Schema.String,
  /** What the parameters were, for people (the key has only their hash). */
  params: Schema.String,
  samples: Schema.Array(StoredSample),
  /** The fit of the samples when last written, for people; predictions refit the samples. */
  fit: Schema.optional(Schema.Struct({ baseBytes: Schema.Number, bytesPerVoxel: Schema.Number, bytesPerThread: Schema.Number }))
})
export type StoredModel = typeof StoredModel.Type

export const ModelsFile = Schema.Struct({
  format: Schema.Literal("slicewise-tool-models"),
  version: Schema.Literal(1),
  models: Schema.Record({ key: Schema.String, value: StoredModel })
})
export type ModelsFile = typeof ModelsFile.Type

/** The store could not be read or written: which file, what went wrong. */
export class ModelStoreError extends Data.TaggedError("ModelStoreError")<{ readonly path: string; readonly detail: string }> {
  override get message(): string {
    return `tool models ${this.path}: ${this.detail}`
  }
}

/** Job samples kept per model (calibration samples are all kept). */
export const MAX_JOB_SAMPLES = 256
const LOCK_STALE_MS = 10_000
const LOCK_WAIT_MS = 5_000
const LOCK_POLL_MS = 20

/** The store's default path (see the module comment). */
export const modelsPath = (): string =>
  process.env.SLICEWISE_MODELS || nodePath.join(process.env.XDG_CACHE_HOME || nodePath.join(os.homedir(), ".cache"), "slicewise", "tool-models.json")

/** `tool/HASH`: HASH the first 16 hex digits of SHA-256 over the parameter files' contents, in order. */
export const modelKey = (tool: string, contents: ReadonlyArray<string>): string => {
  const h = crypto.createHash("sha256")
  for (const c of contents) h.update(`${Buffer.byteLength(c)}:`).update(c)
  return `${tool}/${h.digest("hex").slice(0, 16)}`
}

const errorOf = (path: string) => (e: unknown) => new ModelStoreError({ path, detail: e instanceof Error ? e.message : String(e) })

/** The store's document, or undefined if there is no file. */
export const readModels = (path: string): Effect.Effect<ModelsFile | undefined, ModelStoreError> =>
  Effect.gen(function* () {
    const text = yield* Effect.try({
      try: () => (fs.existsSync(path) ? fs.readFileSync(path, "utf8") : undefined),
      catch: errorOf(path)
    })
    if (text === undefined) return undefined
    const json = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: errorOf(path) })
    return yield* Effect.mapError(Schema.decodeUnknown(ModelsFile)(json), (e) => new ModelStoreError({ path, detail: `not a tool-models file: ${e.message}` }))
  })

/** The fitted model of `key`, or undefined if the store has none (see fitModel for `priorBytesPerVoxel`). */
export const lookupModel = (path: string, key: string, priorBytesPerVoxel: number): Effect.Effect<FittedModel | undefined, ModelStoreError> =>
  Effect.map(readModels(path), (file) => {
    const samples = file?.models[key]?.samples
    return samples === undefined ? undefined : fitModel(samples, priorBytesPerVoxel)
  })

/** Takes the lock file if it is free (or stale); false if another process holds it. */
const tryLock = (lock: string): boolean => {
  try {
    fs.writeFileSync(lock, `${process.pid} ${os.hostname()} ${new Date().toISOString()}\n`, { flag: "wx" })
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
  }
  try {
    if (Date.now() - fs.statSync(lock).mtimeMs > LOCK_STALE_MS) {
      // Renamed first, so that of two processes breaking it only one succeeds.
      const aside = `${lock}.stale-${process.pid}-${Math.random().toString(16).slice(2)}`
      fs.renameSync(lock, aside)
      fs.rmSync(aside, { force: true })
    }
  } catch {
    // Gone already, or broken by another process: try again.
  }
  return false
}

/** Runs `f` holding `PATH.lock`, waiting up to 5 s for it. */
const withLock = <A>(path: string, f: () => A): Effect.Effect<A, ModelStoreError> => {
  const lock = `${path}.lock`
  const acquire = Effect.gen(function* () {
    yield* Effect.try({ try: () => fs.mkdirSync(nodePath.dirname(path), { recursive: true }), catch: errorOf(path) })
    const deadline = Date.now() + LOCK_WAIT_MS
    for (;;) {
      if (yield* Effect.try({ try: () => tryLock(lock), catch: errorOf(lock) })) return
      if (Date.now() > deadline) {
        const holder = yield* Effect.sync(() => (fs.existsSync(lock) ? fs.readFileSync(lock, "utf8").trim() : "?"))
        return yield* new ModelStoreError({ path, detail: `locked by ${lock} (${holder}) for more than ${LOCK_WAIT_MS / 1000} s` })
      }
      // Interruptible while waiting (acquisition is not): the lock is not ours yet.
      yield* Effect.interruptible(Effect.sleep(LOCK_POLL_MS))
    }
  })
  return Effect.acquireUseRelease(
    acquire,
    () => Effect.try({ try: f, catch: errorOf(path) }),
    () => Effect.sync(() => fs.rmSync(lock, { force: true }))
  )
}

/** Writes the document to a temporary beside `path` and renames it over `path`. */
const writeAtomically = (path: string, file: ModelsFile): void => {
  const temporary = temporaryName(path)
  try {
    fs.writeFileSync(temporary, `${JSON.stringify(file, null, 1)}\n`, { flag: "wx" })
    fs.renameSync(temporary, path)
  } finally {
    fs.rmSync(temporary, { force: true })
  }
}

/** The samples to keep: every calibration sample and the newest job samples. */
const trimmed = (samples: ReadonlyArray<StoredSample>): Array<StoredSample> => {
  const jobs = samples.filter((s) => s.source === "job")
  const dropped = new Set(jobs.slice(0, Math.max(0, jobs.length - MAX_JOB_SAMPLES)))
  return samples.filter((s) => !dropped.has(s))
}

/** The model of `entry.key` with `samples` added, refitted for people to read. */
const withSamples = (old: StoredModel | undefined, entry: ModelEntry, samples: ReadonlyArray<StoredSample>): StoredModel => {
  const all = trimmed([...(old?.samples ?? []), ...samples])
  const fit = fitModel(all)
  return {
    tool: entry.tool,
    params: entry.params,
    samples: all,
    ...(fit === undefined ? {} : { fit: { baseBytes: Math.round(fit.baseBytes), bytesPerVoxel: fit.bytesPerVoxel, bytesPerThread: Math.round(fit.bytesPerThread) } })
  }
}

/** Which model samples belong to. */
export interface ModelEntry {
  readonly key: string
  readonly tool: string
  readonly params: string
}

/** A sample to store; `at` defaults to now. */
export type NewSample = Omit<StoredSample, "at"> & { readonly at?: string }

/** Adds samples to a model of the store (created if absent), under the lock, atomically. */
export const appendSamples = (path: string, entry: ModelEntry, samples: ReadonlyArray<NewSample>): Effect.Effect<void, ModelStoreError> =>
  withLock(path, () => {
    const text = fs.existsSync(path) ? fs.readFileSync(path, "utf8") : undefined
    // A file that is not ours is refused, not overwritten: it may be someone's data under our name.
    const file = text === undefined ? undefined : Schema.decodeUnknownSync(ModelsFile)(JSON.parse(text))
    const at = new Date().toISOString()
    const stamped = samples.map((s) => ({ ...s, at: s.at ?? at }))
    const models = { ...(file?.models ?? {}), [entry.key]: withSamples(file?.models[entry.key], entry, stamped) }
    writeAtomically(path, { format: "slicewise-tool-models", version: 1, models })
  })
