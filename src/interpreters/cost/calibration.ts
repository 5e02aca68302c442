/**
 * Throughput constants for the dry run's time estimate, measured on the user's machine by
 * `slicewise calibrate` and kept in a JSON file; the defaults stand in when there is none.
 *
 * The file lives at $SLICEWISE_CALIBRATION, else $XDG_CONFIG_HOME/slicewise/calibration.json, else
 * ~/.config/slicewise/calibration.json.
 *
 * @example
 * ```ts
 * const { throughput, from } = yield* loadThroughput()   // from: the file's path, or "defaults"
 * const cost = costOf(plan, throughput, from)
 * ```
 *
 * A module of its own (loaded by the commands that need it) because Schema is heavy to import.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { FormatError, fileError, type IoError } from "../../algebra/io-errors.js"

import { DEFAULT_THROUGHPUT, type Throughput } from "./index.js"

const Positive = Schema.Number.pipe(Schema.finite(), Schema.positive())

/** The calibration file: the throughputs, when and where they were measured. */
export const Calibration = Schema.Struct({
  version: Schema.Literal(1),
  measuredAt: Schema.String,
  machine: Schema.String,
  readBytesPerSecond: Positive,
  writeBytesPerSecond: Positive,
  voxelOpsPerSecond: Positive
})
export type Calibration = typeof Calibration.Type

/** Where the calibration file is (it may not exist). */
export const calibrationPath = (): string =>
  process.env.SLICEWISE_CALIBRATION ||
  nodePath.join(process.env.XDG_CONFIG_HOME || nodePath.join(os.homedir(), ".config"), "slicewise", "calibration.json")

/**
 * The throughputs of the calibration file, or the defaults when there is none. A file that exists
 * but is not a calibration is an error (naming it), not silently ignored.
 */
export const loadThroughput = (
  path: string = calibrationPath()
): Effect.Effect<{ readonly throughput: Throughput; readonly from: string }, IoError> =>
  Effect.gen(function* () {
    if (!fs.existsSync(path)) return { throughput: DEFAULT_THROUGHPUT, from: "defaults" }
    const text = yield* Effect.try({ try: () => fs.readFileSync(path, "utf8"), catch: (e) => fileError(path, "read", e) })
    const parsed = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => new FormatError({ path, position: "JSON", detail: e instanceof Error ? e.message : String(e), hint: "run slicewise calibrate again" })
    })
    const c = yield* Schema.decodeUnknown(Calibration)(parsed).pipe(
      Effect.mapError((e) => new FormatError({ path, position: "calibration", detail: e.message, hint: "run slicewise calibrate again" }))
    )
    return {
      throughput: { readBytesPerSecond: c.readBytesPerSecond, writeBytesPerSecond: c.writeBytesPerSecond, voxelOpsPerSecond: c.voxelOpsPerSecond },
      from: path
    }
  })

/** Writes `calibration` to `path` (creating its folder), atomically. */
export const saveCalibration = (calibration: Calibration, path: string = calibrationPath()): Effect.Effect<void, IoError> =>
  Effect.try({
    try: () => {
      fs.mkdirSync(nodePath.dirname(path), { recursive: true })
      const temporary = `${path}.partial-${process.pid}`
      fs.writeFileSync(temporary, `${JSON.stringify(Schema.encodeSync(Calibration)(calibration), null, 2)}\n`)
      fs.renameSync(temporary, path)
    },
    catch: (e) => fileError(path, "write", e)
  })
